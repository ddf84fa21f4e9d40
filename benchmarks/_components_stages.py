"""Group 1: what each built-in stage costs per record, and what the stages cost end to end into a file."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _components_common import (
    DRAIN_TIMEOUT,
    MESSAGE,
    PATH,
    Repeated,
    Sizes,
    Table,
    count_lines,
    make_record,
    rate,
    round_robin,
    runs_text,
)
from _format import count, us
from fapilog import Settings, get_logger
from fapilog._otel import Record
from fapilog.exporters.stdout import StdoutJsonExporter
from fapilog.processors import (
    CREDENTIALS,
    AdaptiveSampler,
    ContextVarsEnricher,
    Deduplicator,
    FieldBlocker,
    FieldMask,
    KubernetesEnricher,
    LevelFilter,
    ProbabilisticSampler,
    RateLimiter,
    RegexMask,
    RuntimeInfoEnricher,
    Stage,
    StringTruncate,
    TraceSampler,
    UrlCredentials,
)
from fapilog.processors._redaction_presets import REDACTION_PRESETS

_POD = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "POD_NAME": "api-7d9f-x2k", "POD_NAMESPACE": "shop", "NODE_NAME": "n3"}
_ALL_PRESETS = list(REDACTION_PRESETS)
_ALL_PATTERNS = len({p for preset in REDACTION_PRESETS.values() for p in preset.patterns})


@dataclass(frozen=True, slots=True)
class StageCase:
    name: str  # the stage's name in the settings
    config: str  # how it is set up, for the table
    make: Callable[[], Stage]  # a fresh stage for every run (filters keep state: buckets, windows, rates)
    bound: bool = False  # records carry a bound context (as after log.bind(request_id=...))


CASES = (
    StageCase("runtime_info", "defaults", RuntimeInfoEnricher),
    StageCase("context_vars", "defaults; no bound context", ContextVarsEnricher),
    StageCase("context_vars", "defaults; a bound `request_id`", ContextVarsEnricher, bound=True),
    StageCase("kubernetes", "pod, namespace, node from the environment", lambda: KubernetesEnricher(environ=_POD)),
    StageCase("level", "`min_level` INFO", lambda: LevelFilter("INFO")),
    StageCase("sampling", "`rate` 0.5", lambda: ProbabilisticSampler(0.5)),
    StageCase("trace_sampling", "defaults (no trace: `rate` 1.0)", TraceSampler),
    StageCase("rate_limit", "defaults: 100/s, burst 200, per logger", lambda: RateLimiter(100.0, 200)),
    StageCase("first_occurrence", "defaults: 60 s window, by message", lambda: Deduplicator(60.0)),
    StageCase("adaptive_sampling", "defaults: 1,000/s target", lambda: AdaptiveSampler(1000.0)),
    StageCase(
        "field_mask",
        f"credentials preset fields ({len(CREDENTIALS.fields)})",
        lambda: FieldMask(CREDENTIALS.fields),
    ),
    StageCase(
        "regex_mask",
        f"credentials preset patterns ({len(CREDENTIALS.patterns)})",
        lambda: RegexMask(presets=["credentials"]),
    ),
    StageCase(
        "regex_mask",
        f"all three presets' patterns ({_ALL_PATTERNS})",
        lambda: RegexMask(presets=_ALL_PRESETS),
    ),
    StageCase("url_credentials", "defaults", UrlCredentials),
    StageCase("field_blocker", '`blocked` ["body", "headers"]', lambda: FieldBlocker(["body", "headers"])),
    StageCase("string_truncate", "`max_length` 8,192 (the settings' default)", lambda: StringTruncate(8192)),
)


def _make_bound(i: int) -> Record:
    record = make_record(i)
    record.context = {"request_id": "req-1"}
    return record


def _loop(process: Callable[[Record], bool], make: Callable[[int], Record], n: int) -> tuple[float, int]:
    """µs per record of ``process(make(i))`` over ``n`` fresh records, and how many ``process`` kept."""
    kept = 0
    clock = time.perf_counter_ns
    start = clock()
    for i in range(n):
        kept += process(make(i))
    return (clock() - start) / n / 1000, kept


def _build_only(n: int) -> float:
    clock = time.perf_counter_ns
    start = clock()
    for i in range(n):
        make_record(i)
    return (clock() - start) / n / 1000


@dataclass(slots=True)
class _StageRuns:
    raw: list[float] = field(default_factory=list)  # µs per record, stage call and record building included
    kept: int = 0


def stage_costs(sizes: Sizes) -> Table:
    """µs per record of each stage's ``process``, minus the same loop with a stage that does nothing."""
    n = sizes.stage
    noop = Stage()
    base = {False: _StageRuns(), True: _StageRuns()}
    runs = [_StageRuns() for _ in CASES]
    build = Repeated()

    def baseline(bound: bool) -> Callable[[], None]:
        return lambda: base[bound].raw.append(_loop(noop.process, _make_bound if bound else make_record, n)[0])

    def measure(i: int, case: StageCase) -> Callable[[], None]:
        def step() -> None:
            micros, kept = _loop(case.make().process, _make_bound if case.bound else make_record, n)
            runs[i].raw.append(micros)
            runs[i].kept = kept

        return step

    for case in CASES:  # warm-up: every stage once, unmeasured
        _loop(case.make().process, _make_bound if case.bound else make_record, sizes.warmup)
    steps = [lambda: build.runs.append(_build_only(n)), baseline(False), baseline(True)]
    steps += [measure(i, case) for i, case in enumerate(CASES)]
    round_robin(sizes.repeats, steps)

    rows = []
    for case, result in zip(CASES, runs, strict=True):
        reference = base[case.bound].raw
        cost = Repeated([r - b for r, b in zip(result.raw, reference, strict=True)])
        rows.append(
            [f"`{case.name}`", case.config, _signed(cost.value), ", ".join(_signed(v) for v in cost.runs),
             f"{100 * result.kept / n:.1f}%"]
        )  # fmt: skip
    noop_cost = Repeated([b - r for b, r in zip(base[False].raw, build.runs, strict=True)])
    return Table(
        title=f"1. Stages, one at a time (N = {count(n)} records per run)",
        method=(
            "`stage.process(record)` on fresh records (`user_id=i`, `path`, `status=200`, `duration_ms=12.5`, the "
            "body `request handled`, INFO, no trace, the pipeline's resource set), each stage alone and newly "
            "made for every run. The cost is the loop's time per record minus the same loop calling a stage that "
            "does nothing, measured in the same round (median of the runs)."
        ),
        header=["Stage", "Configuration", "µs per record", "µs, each run", "Records kept"],
        rows=rows,
        left=2,
        notes=[
            f"Building a record (`new_record` + resource) took {us(build.value)} µs and calling a do-nothing "
            f"stage {_signed(noop_cost.value)} µs more; both are subtracted. rate_limit and first_occurrence are "
            "timed mostly on their dropping path (every record has the same logger and message, far above their "
            "limits); adaptive_sampling keeps every record of its first one-second window, before it has a rate "
            "estimate, so it is timed on its counting path."
        ],
    )


def _signed(value: float) -> str:
    """Two decimals; a difference within rounding of zero is shown as 0.00, not -0.00."""
    return "0.00" if abs(value) < 0.005 else f"{value:.2f}"


# ---- end to end: logger.info into a file --------------------------------------------------------------------

# The production preset's queue, for every configuration, so that only the stages differ.
QUEUE: dict[str, Any] = {"max_queue_size": 100_000, "drop_on_full": False, "backpressure_wait_ms": 250}
Config = Callable[[], dict[str, Any]]  # get_logger's keyword arguments, built anew for each run
Sink = Callable[[Path], tuple[Any, Callable[[], None]]]  # a directory -> the exporter, and what closes its file


@dataclass(frozen=True, slots=True)
class Setup:
    label: str
    stages: str
    config: Config


SETUPS = (
    Setup(
        "no stages",
        "none",
        lambda: {"settings": Settings(core={**QUEUE, "enrichers": [], "redactors": []})},
    ),
    Setup(
        "default settings",
        "runtime_info, context_vars, url_credentials",
        lambda: {"settings": Settings(core=QUEUE)},
    ),
    Setup(
        "production preset",
        "the default stages + field_mask, regex_mask (credentials)",
        lambda: {"preset": "production"},
    ),
)


@dataclass(slots=True)
class FileRun:
    """One run of N ``logger.info`` calls into a file: calls, end to end, delivered."""

    calls_seconds: float
    e2e_seconds: float
    delivered: int
    files: int
    waits: int  # calls that found the queue full and waited for room


def log_into(config: dict[str, Any], sink: Sink, n: int) -> FileRun:
    """N calls through a logger of its own whose one sink ``sink(directory)`` makes; counted afterwards."""
    with tempfile.TemporaryDirectory(prefix="fapilog-components-") as tmp:
        directory = Path(tmp)
        exporter, close = sink(directory)
        log = get_logger("bench", sinks=[exporter], reuse=False, **config)
        info = log.info
        clock = time.perf_counter
        start = clock()
        for i in range(n):
            info(MESSAGE, user_id=i, path=PATH, status=200, duration_ms=12.5)
        calls_done = clock()
        waits = log.stats().backpressure_waits
        log.drain(DRAIN_TIMEOUT)
        closed = clock()
        close()
        files = sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))  # no lock file
        return FileRun(calls_done - start, closed - start, count_lines(files), len(files), waits)


def json_file(directory: Path) -> tuple[Any, Callable[[], None]]:
    """``StdoutJsonExporter`` on an open file, as in run.py's workloads."""
    stream = (directory / "app.jsonl").open("w", encoding="utf-8")
    return StdoutJsonExporter(stream), stream.close


@dataclass(slots=True)
class FileResults:
    runs: list[FileRun] = field(default_factory=list)

    def rates(self) -> list[float]:
        return [rate(r.delivered, r.e2e_seconds) for r in self.runs]

    def caller_us(self, n: int) -> float:
        return Repeated([r.calls_seconds / n * 1e6 for r in self.runs]).value


def run_file_setups(setups: list[tuple[Config, Sink]], sizes: Sizes) -> list[FileResults]:
    """Each (configuration, sink) once unmeasured, then ``sizes.repeats`` measured runs, round-robin."""
    results = [FileResults() for _ in setups]
    for config, sink in setups:
        log_into(config(), sink, sizes.warmup)

    def step(i: int) -> Callable[[], None]:
        config, sink = setups[i]
        return lambda: results[i].runs.append(log_into(config(), sink, sizes.pipeline))

    round_robin(sizes.repeats, [step(i) for i in range(len(setups))])
    return results


_PIPELINE_HEADER = ["Configuration", "Stages", "Records/s", "Records/s, each run", "µs per record",
                    "µs per record vs default", "Caller µs per call", "Calls that waited for room",
                    "Delivered (worst run)"]  # fmt: skip


def pipeline_costs(sizes: Sizes) -> Table:
    n = sizes.pipeline
    results = run_file_setups([(s.config, json_file) for s in SETUPS], sizes)
    default_us = 1e6 / Repeated(results[1].rates()).value
    rows = []
    for setup, result in zip(SETUPS, results, strict=True):
        median = Repeated(result.rates()).value
        per_record = 1e6 / median
        added = "—" if setup.label == "default settings" else f"{per_record - default_us:+.2f}"
        rows.append(
            [setup.label, setup.stages, count(median), runs_text(result.rates()), us(per_record), added,
             us(result.caller_us(n)), count(Repeated([float(r.waits) for r in result.runs]).value),
             f"{count(min(r.delivered for r in result.runs))} / {count(n)}"]
        )  # fmt: skip
    return Table(
        title=f"1b. The stages end to end: `logger.info` into a file (N = {count(n)})",
        method=(
            f'{count(n)} calls of `log.info("request handled", user_id=i, path="/api/items", status=200, '
            "duration_ms=12.5)` in a plain loop, through a logger of its own writing fapilog JSON lines with "
            "`StdoutJsonExporter` on an open file. Records/s = lines delivered ÷ seconds from the first call until "
            "`drain()` returned. Every configuration has the production preset's queue (100,000 records; a full "
            "queue makes the caller wait up to 250 ms), so only the stages differ."
        ),
        header=_PIPELINE_HEADER,
        rows=rows,
        left=2,
    )
