"""Workload: fapilog from this repository (run with the project's virtual environment).

Variants: "" (production preset, JSON lines to a file), "span" (the same inside an active OpenTelemetry span
with a bound context field, so trace correlation and context capture do real work), "exporter" (an exporter
taking 3 ms per export call) and "seed_sink" (a seed-contract sink taking 3 ms per write).
The stalled scenario uses a sink that never returns and a 32 MiB byte limit, and exits without draining.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TextIO

import _common as c
from opentelemetry import trace
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExportResult
from opentelemetry.sdk.trace import TracerProvider

import fapilog
from fapilog import DrainResult, Settings, get_async_logger, get_logger
from fapilog.exporters.stdout import StdoutJsonExporter

STALLED_SETTINGS = {"max_queue_bytes": "32 MiB", "max_queue_size": 10_000_000}
STALLED_LIMIT_BYTES = 32 * 1024 * 1024
DRAIN_TIMEOUT = 600.0


class SlowExporter:
    """Takes 3 ms per export call (one call = one batch), then writes the batch as JSON lines."""

    def __init__(self, inner: StdoutJsonExporter) -> None:
        self._inner = inner

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        time.sleep(c.SLOW_WRITE_SECONDS)
        return self._inner.export(batch)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._inner.force_flush(timeout_millis)

    def shutdown(self) -> None:
        self._inner.shutdown()


class StalledExporter:
    """An exporter whose first export never returns (until shutdown, which the workload never reaches)."""

    def __init__(self) -> None:
        self._released = threading.Event()

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        self._released.wait()
        return LogRecordExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    def shutdown(self) -> None:
        self._released.set()


def _sinks(args: c.Args, stream: TextIO) -> list[Any]:
    if args.scenario == "stalled":
        return [StalledExporter()]
    if args.variant == "seed_sink":
        return [c.SlowSeedSink(args.out)]
    if args.variant == "exporter":
        return [SlowExporter(StdoutJsonExporter(stream))]
    return [StdoutJsonExporter(stream)]


def _config(args: c.Args) -> dict[str, Any]:
    if args.scenario == "stalled":
        return {"settings": Settings(core=STALLED_SETTINGS)}
    if args.variant == "defaults":  # the defaults, the queue sized to hold the whole run
        return {"settings": Settings(core={"max_queue_size": args.n, "max_queue_bytes": "1 GiB"})}
    return {"preset": "production"}


def _enter_span(stack: ExitStack) -> None:
    provider = TracerProvider()
    trace.set_tracer_provider(provider)
    stack.enter_context(provider.get_tracer("bench").start_as_current_span("request"))


def _reported(result: DrainResult) -> dict[str, Any]:
    return {
        "submitted": result.submitted,
        "processed": result.processed,
        "dropped": result.dropped,
        "timed_out": result.timed_out,
    }


def build(args: c.Args) -> c.Bench:
    stream = open(args.out, "w", encoding="utf-8")  # noqa: SIM115 - closed by close()
    stack = ExitStack()
    stack.callback(stream.close)
    log = get_logger("bench", sinks=_sinks(args, stream), **_config(args))
    if args.variant == "span":
        _enter_span(stack)
        log.bind(request_id="req-1")

    def call(i: int) -> None:
        log.info(c.MESSAGE, user_id=i, path=c.PATH, status=200, duration_ms=12.5)

    if args.scenario == "stalled":
        step = max(1, args.n // 10)
        rss_by_tenth: list[int] = []

        def sampled_call(i: int) -> None:  # RSS after each tenth of the burst: does memory level off?
            call(i)
            if i % step == step - 1:
                rss_by_tenth.append(c.current_rss_kib())

        def snapshot() -> dict[str, Any]:  # no drain: the sink is stalled
            stats = log.stats()
            return {
                "rss_kib_by_tenth": rss_by_tenth,
                "submitted": stats.submitted,
                "dropped": stats.dropped,
                "dropped_by_reason": stats.dropped_by_reason,
                "queue_depth": stats.queue_depth,
                "queue_bytes": stats.queue_bytes,
                "max_queue_bytes": STALLED_LIMIT_BYTES,
            }

        return c.Bench(sampled_call, snapshot, hard_exit=True)

    def close() -> dict[str, Any]:
        result = log.drain(DRAIN_TIMEOUT)
        stack.close()
        return _reported(result)

    return c.Bench(call, close)


async def build_async(args: c.Args) -> c.Bench:
    stream = open(args.out, "w", encoding="utf-8")  # noqa: SIM115 - closed by close()
    log = await get_async_logger("bench", sinks=_sinks(args, stream), **_config(args))

    async def call(i: int) -> None:
        await log.info(c.MESSAGE, user_id=i, path=c.PATH, status=200, duration_ms=12.5)

    async def close() -> dict[str, Any]:
        result = await log.drain(DRAIN_TIMEOUT)
        stream.close()
        return _reported(result)

    return c.Bench(call, close)


if __name__ == "__main__":
    imported_from = {"imported_from": str(Path(fapilog.__file__).parent)}
    c.main(build, {**c.versions("fapilog", "opentelemetry-sdk"), **imported_from}, build_async)
