"""Group 6: what the disk spool costs against the in-memory queue, end to end into a file."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _components_common import DRAIN_TIMEOUT, MESSAGE, PATH, Repeated, Sizes, Table, count_lines, rate, round_robin
from _components_stages import QUEUE, json_file
from _format import count, us
from fapilog import Settings, get_logger


@dataclass(frozen=True, slots=True)
class _Case:
    label: str
    core: dict[str, Any]
    spool: dict[str, Any] | None  # None: no spool, the in-memory queue alone


# The exporter's spool alone: the production preset's queue and policy (block), so nothing spills.
_BLOCK = {**QUEUE, "backpressure_policy": "block"}
_CASES = (
    _Case("in-memory queue only (no spool)", _BLOCK, None),
    _Case('spool, `fsync="never"`', _BLOCK, {"fsync": "never"}),
    _Case('spool, `fsync="interval"` (100 ms, the default)', _BLOCK, {"fsync": "interval"}),
    _Case('spool, `fsync="batch"` (the hardened preset)', _BLOCK, {"fsync": "batch"}),
    _Case(
        "spool + spill: a 1,000-record queue overflowing to disk",
        {**QUEUE, "max_queue_size": 1_000, "backpressure_policy": "spill"},
        {"fsync": "interval"},
    ),
)


@dataclass(frozen=True, slots=True)
class _Run:
    calls_seconds: float
    e2e_seconds: float
    delivered: int
    spooled: int
    spilled: int


def _run(case: _Case, n: int) -> _Run:
    """N ``logger.info`` calls into a JSON-lines file, through the spool when the case has one."""
    with tempfile.TemporaryDirectory(prefix="fapilog-components-") as tmp:
        directory = Path(tmp)
        exporter, close = json_file(directory)
        spool = {"enabled": True, "directory": str(directory / "spool"), **case.spool} if case.spool else {}
        settings = Settings(core=case.core, spool=spool) if spool else Settings(core=case.core)
        log = get_logger("bench", settings=settings, sinks=[exporter], reuse=False)
        info = log.info
        clock = time.perf_counter
        start = clock()
        for i in range(n):
            info(MESSAGE, user_id=i, path=PATH, status=200, duration_ms=12.5)
        calls_done = clock()
        result = log._pipeline.drain(DRAIN_TIMEOUT, close=True)
        closed = clock()
        close()
        delivered = count_lines([directory / "app.jsonl"])
        shutil.rmtree(directory / "spool", ignore_errors=True)
        return _Run(calls_done - start, closed - start, delivered, result.spooled, result.spilled)


_HEADER = ["Configuration", "Records/s", "Records/s, each run", "µs per record", "Cost vs in-memory",
           "Caller µs per call", "Spooled (spilled)", "Delivered (worst run)"]  # fmt: skip


def spool_costs(sizes: Sizes) -> Table:
    n = sizes.pipeline
    runs: list[list[_Run]] = [[] for _ in _CASES]
    for case in _CASES:
        _run(case, sizes.warmup)

    def step(i: int) -> Callable[[], None]:
        return lambda: runs[i].append(_run(_CASES[i], n))

    round_robin(sizes.repeats, [step(i) for i in range(len(_CASES))])
    base = Repeated([rate(r.delivered, r.e2e_seconds) for r in runs[0]]).value
    rows = []
    for case, done in zip(_CASES, runs, strict=True):
        rates = [rate(r.delivered, r.e2e_seconds) for r in done]
        median = Repeated(rates).value
        cost = "—" if case.spool is None else f"{base / median:.2f}x the time"
        spooled = f"{count(max(r.spooled for r in done))} ({count(max(r.spilled for r in done))})"
        rows.append(
            [case.label, count(median), ", ".join(f"{v:,.0f}" for v in rates), us(1e6 / median), cost,
             us(Repeated([r.calls_seconds / n * 1e6 for r in done]).value), spooled,
             f"{count(min(r.delivered for r in done))} / {count(n)}"]
        )  # fmt: skip
    return Table(
        title=f"6. The disk spool against the in-memory queue (N = {count(n)})",
        method=(
            f"{count(n)} `log.info(...)` calls through a logger with the default stages and the production "
            "preset's queue (100,000 records, `block` when full), into fapilog JSON lines on an open file "
            "(`StdoutJsonExporter`), without and with the disk spool in front of that exporter (a fresh spool "
            "directory per run); the last row has a 1,000-record queue and the `spill` policy instead, so most "
            "records also pass through the queue's overflow spool. Records/s = lines delivered ÷ seconds from "
            "the first call until the pipeline was drained and closed (every record written to the spool, "
            "handed on and acknowledged)."
        ),
        header=_HEADER,
        rows=rows,
        notes=[
            "A spool writes each batch once (one `write`, one CRC-32) and hands the same records on from memory "
            "while the exporter keeps up; records are decoded from disk only after an outage, a restart or a "
            "spill. Spooled counts every spool write (a spilled record is written twice: to the queue's "
            "overflow spool, then to the exporter's spool)."
        ],
    )
