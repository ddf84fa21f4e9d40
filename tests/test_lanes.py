"""Lanes: with several exporters, one that hangs or is slow delays only itself, and what it misses is counted."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from typing import Any

from fapilog import Settings, get_logger
from fapilog._lanes import needs_lane
from fapilog._otel import LogRecordExportResult, ReadableLogRecord
from fapilog.exporters.http import HttpExporter
from fapilog.testing import BlockingExporter, CaptureExporter

SETTINGS = Settings(core={"exporter_stall_timeout_seconds": 0.2, "batch_max_size": 50, "max_queue_size": 100_000})


class SlowExporter(CaptureExporter):
    """Takes 2 ms per batch."""

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        time.sleep(0.002)
        return super().export(batch)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll ``condition`` (a deadline only against hanging, never a performance bound)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.005)


def numbers(exporter: CaptureExporter) -> list[Any]:
    """The ``i`` field of every record the exporter got, in order."""
    return [(r.log_record.attributes or {})["i"] for r in exporter.records]


def test_a_hung_exporter_does_not_hold_back_the_others() -> None:
    """While one exporter hangs, the other gets every record and a flush returns; the hung one's records are
    counted as export failures, and nothing reaches the caller."""
    hung, healthy = BlockingExporter(timeout=60), CaptureExporter()
    logger = get_logger("lanes", settings=SETTINGS, sinks=[hung, healthy], reuse=False)
    for i in range(2_000):
        logger.info("m", i=i)
    logger.flush(timeout=30)  # a hang guard, not a performance bound
    assert numbers(healthy) == list(range(2_000))
    assert hung.entered.is_set()
    hung.release()
    wait_for(lambda: bool(hung.records), "the released exporter to finish its export")
    result = logger.drain(timeout=30)  # it is making progress again: the drain waits for what its lane holds
    assert len(hung.records) + result.export_failures == 2_000
    assert result.export_failures > 0
    assert result.processed == 2_000


def test_a_slow_exporter_loses_nothing_and_keeps_its_order() -> None:
    """A slow exporter (2 ms a batch) next to a fast one: both get every record, each in order."""
    slow, fast = SlowExporter(), CaptureExporter()
    logger = get_logger("lanes", settings=SETTINGS, sinks=[slow, fast], reuse=False)
    for i in range(3_000):
        logger.info("m", i=i)
    result = logger.drain(timeout=60)
    for exporter in (slow, fast):
        assert numbers(exporter) == list(range(3_000))
    assert (result.export_failures, result.dropped) == (0, 0)


def test_a_single_exporter_and_network_exporters_run_on_the_worker() -> None:
    """Lanes are only for several exporters, and never for those whose export only buffers."""
    assert needs_lane(CaptureExporter())
    assert not needs_lane(HttpExporter("http://127.0.0.1:9/"))
    one = get_logger("lanes.one", sinks=[CaptureExporter()], reuse=False)
    assert one._pipeline.chain.lanes == [None]
    two = get_logger("lanes.two", sinks=[CaptureExporter(), HttpExporter("http://127.0.0.1:9/")], reuse=False)
    assert [lane is not None for lane in two._pipeline.chain.lanes] == [True, False]
    one.drain(timeout=5)
    two.drain(timeout=5)


def test_shutdown_with_a_hung_exporter_keeps_its_deadline() -> None:
    """drain() with a hung exporter returns by its deadline (here 0.5 s; the guard is 10 s against a 60 s
    hang), and the other exporter still got everything."""
    hung, healthy = BlockingExporter(timeout=60), CaptureExporter()
    settings = SETTINGS.model_copy(update={"core": SETTINGS.core.model_copy(update={"shutdown_timeout_seconds": 0.5})})
    logger = get_logger("lanes", settings=settings, sinks=[hung, healthy], reuse=False)
    for i in range(500):
        logger.info("m", i=i)
    started = time.monotonic()
    logger.drain(timeout=0.5)
    assert time.monotonic() - started < 10
    assert len(healthy.records) == 500
    hung.release()


def test_a_forked_child_never_exports_its_parents_lane_batches(tmp_path: Any) -> None:
    """A child forked while a lane holds the parent's (stalled) batches starts with an empty, working lane: each
    exporter gets the child's record and none of the parent's."""
    script = textwrap.dedent(
        """
        import os, sys, time
        from fapilog import Settings, get_logger
        from fapilog.testing import BlockingExporter, CaptureExporter
        hung, healthy = BlockingExporter(timeout=5), CaptureExporter()
        settings = Settings(core={"exporter_stall_timeout_seconds": 0.2, "batch_max_size": 10})
        logger = get_logger("fork", settings=settings, sinks=[hung, healthy], reuse=False)
        for i in range(100):
            logger.info("parent", i=i)
        logger.flush(timeout=5)
        pid = os.fork()
        if pid == 0:
            hung.release()
            hung.records.clear()
            healthy.records.clear()
            logger.info("child")
            logger.drain(timeout=5)
            bodies = [[r.log_record.body for r in e.records] for e in (hung, healthy)]
            os._exit(0 if bodies == [["child"], ["child"]] else 3)
        _, status = os.waitpid(pid, 0)
        hung.release()
        logger.drain(timeout=5)
        sys.exit(os.waitstatus_to_exitcode(status))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAPILOG_", "OTEL_"))}
    done = subprocess.run(
        [sys.executable, "-c", script], check=False, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
