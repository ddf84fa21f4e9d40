"""Every core setting changes what the pipeline does (settings -> pipeline wiring, shown by behaviour)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from typing import Any

import pytest

from fapilog import Settings, get_logger
from fapilog._facade import SyncLoggerFacade
from fapilog.testing import BlockingExporter, CaptureExporter


def logger_with(core: dict[str, Any], *sinks: Any) -> SyncLoggerFacade:
    return get_logger("wired", settings=Settings(core=core), sinks=list(sinks), reuse=False)


def app_messages(exporter: CaptureExporter) -> list[Any]:
    """Messages of the application's records (without fapilog's drop summaries)."""
    return [e["log"]["message"] for e in exporter.envelopes() if e["log"].get("event") != "fapilog.drop_summary"]


def stalled(core: dict[str, Any]) -> tuple[SyncLoggerFacade, BlockingExporter]:
    """A logger whose only exporter is stuck on a first record, so the queue fills behind it."""
    exporter = BlockingExporter()
    logger = logger_with({"batch_timeout_seconds": 0.01, **core}, exporter)
    logger.info("first")
    logger.flush(0)
    assert exporter.entered.wait(5)
    return logger, exporter


def test_max_queue_size_bounds_records() -> None:
    """core.max_queue_size: with a stalled sink, records beyond it are dropped (drop policy)."""
    logger, exporter = stalled({"max_queue_size": 10, "protected_queue_size": 0})
    for _ in range(30):
        logger.info("x")
    assert logger.stats().dropped == 21  # 10 slots, one of them taken by the record in flight
    exporter.release()


def test_max_queue_bytes_bounds_memory() -> None:
    """core.max_queue_bytes: big records fill the byte bound long before the record bound."""
    logger, exporter = stalled({"max_queue_bytes": "100 KB"})
    for _ in range(100):
        logger.info("x", blob="y" * 10_000)
    stats = logger.stats()
    assert stats.dropped >= 85
    assert stats.queue_bytes < 100_000 + 11_000
    exporter.release()


def test_protected_queue_size_is_the_reserve_for_protected_levels() -> None:
    """core.protected_queue_size: errors beyond a full queue use the reserve, then wait and are counted."""
    logger, exporter = stalled({"max_queue_size": 2, "protected_queue_size": 3, "backpressure_wait_ms": 0})
    for _ in range(5):
        logger.error("e")
    assert logger.stats().dropped_by_reason == {"protected_overflow": 1}
    exporter.release()
    logger.drain()
    assert exporter.messages().count("e") == 4


def test_protected_levels_choose_what_is_protected() -> None:
    """core.protected_levels=["CRITICAL"]: ERROR is dropped like INFO when full; CRITICAL is kept."""
    logger, exporter = stalled({"max_queue_size": 1, "protected_levels": ["CRITICAL"]})
    logger.error("e")
    logger.critical("c")
    exporter.release()
    logger.drain()
    assert app_messages(exporter) == ["first", "c"]


def test_batch_max_size_bounds_each_export() -> None:
    """core.batch_max_size: exporters never get more records at once."""

    class Sizes(CaptureExporter):
        sizes: list[int]

        def export(self, batch: Any) -> Any:
            self.sizes.append(len(batch))
            return super().export(batch)

    exporter = Sizes()
    exporter.sizes = []
    logger = logger_with({"batch_max_size": 7}, exporter)
    for _ in range(100):
        logger.info("x")
    logger.drain()
    assert max(exporter.sizes) <= 7
    assert sum(exporter.sizes) == 100


@pytest.mark.parametrize("timeout", [0.0, 0.05])
def test_batch_timeout_delivers_without_flush(timeout: float) -> None:
    """core.batch_timeout_seconds: a lone record is exported after at most that long, with no flush."""
    exporter = CaptureExporter()
    logger = logger_with({"batch_timeout_seconds": timeout}, exporter)
    logger.info("alone")
    deadline = time.monotonic() + 5
    while not exporter.records and time.monotonic() < deadline:
        time.sleep(0.005)
    assert exporter.messages() == ["alone"]


def test_drop_on_full_false_waits_instead_of_dropping() -> None:
    """core.drop_on_full=False: a caller at a full queue waits (backpressure_wait_ms) and then drops."""
    logger, exporter = stalled({"max_queue_size": 1, "drop_on_full": False, "backpressure_wait_ms": 100})
    start = time.monotonic()
    logger.info("waits")
    waited = time.monotonic() - start
    assert waited >= 0.09
    assert logger.stats().dropped_by_reason == {"backpressure_timeout": 1}
    assert logger.stats().backpressure_waits == 1
    exporter.release()


def test_backpressure_policy_overrides_drop_on_full() -> None:
    """core.backpressure_policy=drop_oldest wins over drop_on_full and evicts the oldest record."""
    logger, exporter = stalled({"max_queue_size": 2, "drop_on_full": False, "backpressure_policy": "drop_oldest"})
    logger.info("old")
    logger.info("new")
    exporter.release()
    logger.drain()
    assert app_messages(exporter) == ["first", "new"]


def test_shutdown_timeout_is_drains_default_deadline() -> None:
    """core.shutdown_timeout_seconds: drain() with a hung sink returns after about that long, timed out."""
    logger, exporter = stalled({"shutdown_timeout_seconds": 0.2})
    logger.info("stuck")
    start = time.monotonic()
    result = logger.drain()
    assert time.monotonic() - start < 10  # a hang guard: the hung sink would hold it 30 s
    assert result.timed_out
    assert result.submitted == result.processed + result.dropped
    exporter.release()


def test_atexit_drain_timeout_bounds_exit_with_a_hung_sink() -> None:
    """core.atexit_drain_timeout_seconds: the process exits on time even when its sink hangs."""
    code = textwrap.dedent(
        """
        import time
        from fapilog import Settings, get_logger
        class Hung:
            def export(self, batch):
                time.sleep(60)
            def shutdown(self): pass
            def force_flush(self, timeout_millis=0): return True
        log = get_logger("x", settings=Settings(core={"atexit_drain_timeout_seconds": 0.5}), sinks=[Hung()])
        log.info("never delivered")
        """
    )
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - start < 20


def test_exception_settings() -> None:
    """core.exceptions_enabled / _max_frames / _max_stack_chars control the exception attributes."""

    def recurse(n: int) -> None:
        if n == 0:
            raise ValueError("deep")
        recurse(n - 1)

    cases: dict[str, dict[str, Any]] = {
        "off": {"exceptions_enabled": False},
        "frames": {"exceptions_max_frames": 2},
        "chars": {"exceptions_max_stack_chars": 150},
    }
    results = {}
    for name, core in cases.items():
        exporter = CaptureExporter()
        logger = logger_with(core, exporter)
        try:
            recurse(20)
        except ValueError:
            logger.exception("failed")
        logger.drain()
        results[name] = dict(exporter.records[0].log_record.attributes or {})
    assert "exception.type" not in results["off"]
    assert str(results["frames"]["exception.stacktrace"]).count('File "') == 2
    assert len(str(results["chars"]["exception.stacktrace"])) <= 150


@pytest.mark.parametrize("enabled", [True, False])
def test_emit_drop_summary_switch(enabled: bool) -> None:
    """core.emit_drop_summary: after drops the summary record is exported only when enabled."""
    logger, exporter = stalled({"max_queue_size": 1, "emit_drop_summary": enabled, "protected_queue_size": 0})
    logger.info("dropped")
    exporter.release()
    logger.drain()
    summaries = [e for e in exporter.envelopes() if e["log"].get("event") == "fapilog.drop_summary"]
    assert len(summaries) == (1 if enabled else 0)
    if enabled:
        assert summaries[0]["log"]["data"]["dropped.queue_full"] == 1
        assert summaries[0]["log"]["level"] == "WARNING"


def test_drop_summary_window_limits_summaries() -> None:
    """core.drop_summary_window_seconds: a long window means one summary per window, at most."""
    logger, exporter = stalled(
        {"max_queue_size": 1, "drop_summary_window_seconds": 3600, "batch_timeout_seconds": 0.01}
    )
    logger.info("dropped-1")
    exporter.release()
    logger.flush()
    logger.info("x")
    for _ in range(3):
        logger.flush()
    summaries = [e for e in exporter.envelopes() if e["log"].get("event") == "fapilog.drop_summary"]
    assert summaries == []  # the window has not passed, and no drain forced one
    logger.drain()
    assert len([e for e in exporter.envelopes() if e["log"].get("event") == "fapilog.drop_summary"]) == 1


def test_diagnostics_output_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    """core.diagnostics_output=stdout sends fapilog's own warnings to stdout."""

    class Boom(CaptureExporter):
        def export(self, batch: Any) -> Any:
            raise RuntimeError("sink down")

    logger = logger_with({"internal_logging_enabled": True, "diagnostics_output": "stdout"}, Boom())
    logger.info("x")
    logger.drain()
    captured = capsys.readouterr()
    assert "[fapilog][sink][WARN] export raised" in captured.out
    assert captured.err == ""
