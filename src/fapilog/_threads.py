"""fapilog's background threads, started with the process's signals blocked in them.

The kernel delivers a process-directed signal (SIGTERM from an orchestrator, SIGINT from Ctrl-C) to any
thread that does not block it. Python runs signal handlers only in the main thread, and only when it next
executes Python code: a SIGTERM that lands in a fapilog worker sleeping in ``epoll_wait`` would wait, handler
and all, until the application's main thread wakes on its own (after its ``time.sleep(60)``, say). So every
thread fapilog starts blocks those signals, and the kernel picks the main thread instead. Threads started
from these threads (executor threads, for instance) inherit the mask.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["start_daemon"]

# Faults the kernel sends to the thread that caused them cannot be redirected, and SIGKILL/SIGSTOP cannot be
# blocked: everything else is left to the threads that handle signals.
_FAULTS = {"SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGABRT", "SIGTRAP", "SIGSYS", "SIGKILL", "SIGSTOP"}
_BLOCKED = (
    {s for s in signal.valid_signals() if getattr(s, "name", "") not in _FAULTS}
    if hasattr(signal, "pthread_sigmask")
    else set()
)


def start_daemon(target: Callable[..., Any], name: str, **kwargs: Any) -> threading.Thread:
    """Start a daemon thread running ``target(**kwargs)`` with the process's signals blocked in it."""
    thread = threading.Thread(target=target, name=name, kwargs=kwargs, daemon=True)
    if not _BLOCKED:
        thread.start()
        return thread
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _BLOCKED)  # the new thread inherits this mask
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    return thread
