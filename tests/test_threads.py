"""fapilog's own threads block the process's signals, so SIGTERM and SIGINT reach the main thread at once."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import pytest

from fapilog import get_logger
from fapilog._threads import start_daemon
from fapilog.exporters.http import HttpExporter
from fapilog.testing import CaptureExporter

pytestmark = pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads thread masks from /proc")


def blocked(thread: threading.Thread) -> set[int]:
    """The signals ``thread`` blocks, read from /proc."""
    status = Path(f"/proc/self/task/{thread.native_id}/status").read_text()
    mask = int(status.split("SigBlk:")[1].split()[0], 16)
    return {n for n in range(1, 65) if mask & (1 << (n - 1))}


def test_start_daemon_blocks_signals_in_the_new_thread_only() -> None:
    """The started thread blocks SIGTERM and SIGINT (but not SIGSEGV); the starting thread's mask is unchanged."""
    before = signal.pthread_sigmask(signal.SIG_BLOCK, set())
    release = threading.Event()
    thread = start_daemon(release.wait, "probe", timeout=30)
    try:
        assert {signal.SIGTERM, signal.SIGINT, signal.SIGHUP} <= blocked(thread)
        assert signal.SIGSEGV not in blocked(thread)
        assert signal.pthread_sigmask(signal.SIG_BLOCK, set()) == before
    finally:
        release.set()
        thread.join(5)


def test_the_worker_lanes_and_delivery_threads_block_termination_signals() -> None:
    """Every thread a logging pipeline starts (worker, lanes, a network exporter's loop) blocks SIGTERM/SIGINT."""
    logger = get_logger(
        "threads", sinks=[CaptureExporter(), CaptureExporter(), HttpExporter("http://127.0.0.1:9/")], reuse=False
    )
    logger.info("hello")
    logger.flush(timeout=10)
    ours = [t for t in threading.enumerate() if t.name.startswith("fapilog-")]
    assert {t.name.split("-")[1] for t in ours} >= {"worker", "lane"}
    for thread in ours:
        assert {signal.SIGTERM, signal.SIGINT} <= blocked(thread), thread.name
    logger.drain(timeout=10)
