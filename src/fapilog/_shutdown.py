"""Draining at exit and on SIGTERM/SIGINT, within a deadline."""

from __future__ import annotations

import atexit
import os
import signal
import threading
import time
from types import FrameType
from typing import Any

from fapilog._pipeline import live_pipelines
from fapilog._threads import start_daemon

__all__ = ["drain_all", "install_shutdown_handlers"]


def drain_all(timeout: float | None = None, *, close: bool = False, at_exit: bool = False) -> None:
    """Drain every live pipeline; all of them share one deadline (``timeout`` or each one's own setting)."""
    pipelines = live_pipelines()
    if at_exit:
        pipelines = [p for p in pipelines if p.settings.core.atexit_drain_enabled]
    if not pipelines:
        return
    if timeout is None:
        core = [p.settings.core for p in pipelines]
        timeout = max(c.atexit_drain_timeout_seconds if at_exit else c.shutdown_timeout_seconds for c in core)
    deadline = time.monotonic() + timeout
    for pipeline in pipelines:
        pipeline.drain(max(0.0, deadline - time.monotonic()), close=close)


def _at_exit() -> None:
    drain_all(close=True, at_exit=True)


atexit.register(_at_exit)

_installed: dict[int, Any] = {}


def install_shutdown_handlers(
    timeout: float | None = None, signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT)
) -> bool:
    """On SIGTERM/SIGINT, drain every pipeline within ``timeout`` seconds, then do what was done before.

    The previous handler runs afterwards (for SIGINT usually ``KeyboardInterrupt``; for a default SIGTERM the
    process terminates as it would have). Returns False when not called from the main thread, where Python
    does not allow signal handlers to be set.
    """
    if threading.current_thread() is not threading.main_thread():
        return False
    for signum in signals:
        previous = signal.getsignal(signum)
        if signum in _installed and previous is _installed[signum][0]:
            continue

        def handler(received: int, frame: FrameType | None, _previous: Any = previous) -> None:
            # Drain on a helper thread, so a signal that lands inside a log call cannot deadlock on its lock.
            worker = start_daemon(drain_all, "fapilog-drain", timeout=timeout)
            worker.join(timeout if timeout is not None else 5.0)
            if callable(_previous):
                _previous(received, frame)
            elif _previous == signal.SIG_DFL:
                signal.signal(received, signal.SIG_DFL)
                os.kill(os.getpid(), received)

        signal.signal(signum, handler)
        _installed[signum] = (handler, previous)
    return True
