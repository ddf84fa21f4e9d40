"""Lanes: an exporter on a thread of its own, so that one that hangs or is slow delays only itself.

When a pipeline has several exporters, each one whose ``export`` may block (every exporter but those that
declare ``nonblocking = True``, like the network exporters, whose ``export`` only buffers, and those whose
``export`` is a coroutine function, which run on the worker's loop) gets a lane: a daemon thread and a queue
of at most ``capacity`` batches. The worker hands each lane its batch and moves on.

A full lane makes the worker wait for room, so a slow exporter slows the pipeline rather than losing records;
but for at most ``stall_timeout`` seconds. Then the exporter is *stalled*: that batch and, at once, every
later one are not given to it and are counted failed, until its lane has room again; flushes do not wait for
it either, until it finishes an export again. So an exporter that hangs costs the others one wait of
``stall_timeout``, and every record it missed is counted.

Each lane exports its batches in order, flushes when the worker flushes and shuts its exporter down at
shutdown, each within the deadline the worker gives. A forked child starts with empty lanes (it never
exports its parent's batches).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from fapilog._diagnostics import Diagnostics
from fapilog._otel import as_readable, export_result_ok
from fapilog._threads import start_daemon

__all__ = ["Lane", "needs_lane"]

Report = Callable[[int, bool, float], None]  # records, exported?, seconds the export took


def needs_lane(exporter: Any) -> bool:
    """Whether ``exporter``'s ``export`` may block the worker (see the module docstring)."""
    if getattr(exporter, "nonblocking", False):
        return False
    return not inspect.iscoroutinefunction(getattr(exporter, "export", None))


class Lane:
    """One exporter's thread and bounded queue of batches."""

    __slots__ = (
        "_cond",
        "_done",
        "_items",
        "_pid",
        "_stalled_at",
        "_thread",
        "capacity",
        "diagnostics",
        "exporter",
        "name",
        "report",
        "stall_timeout",
        "stalled",
    )

    def __init__(
        self,
        exporter: Any,
        *,
        report: Report,
        capacity: int = 8,
        stall_timeout: float = 5.0,
        diagnostics: Diagnostics | None = None,
    ) -> None:
        self.exporter = exporter
        self.name = str(getattr(exporter, "name", None) or type(exporter).__name__)
        self.report = report
        self.capacity = capacity
        self.stall_timeout = stall_timeout
        self.diagnostics = diagnostics or Diagnostics()
        self._fresh()

    def _fresh(self) -> None:
        """Empty queue, no thread yet, not stalled (also what a forked child starts from)."""
        self._pid = os.getpid()
        self.stalled = False
        self._done = 0  # exports finished (the thread's progress)
        self._stalled_at = 0  # _done when the lane was found stalled
        self._cond = threading.Condition()
        self._items: deque[tuple[str, Any, concurrent.futures.Future[None] | None]] = deque()
        self._thread: threading.Thread | None = None

    # ---- the worker's side -----------------------------------------------------------------------------------

    async def put(self, batch: Sequence[Any]) -> bool:
        """Queue ``batch`` for the exporter; False (nothing queued) when the exporter is stalled."""
        if self._offer(batch):
            return True
        if not self.stalled:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.stall_timeout
            delay = 0.0005
            while loop.time() < deadline:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.01)
                if self._offer(batch):
                    return True
            self.stalled, self._stalled_at = True, self._done
            self.diagnostics.warn(
                "sink", "exporter stalled: its batches are counted failed until it catches up", exporter=self.name
            )
        return False

    def _offer(self, batch: Sequence[Any]) -> bool:
        self._check_fork()
        with self._cond:
            batches = sum(1 for kind, _, _ in self._items if kind == "batch")
            if batches >= self.capacity:
                return False
            self._items.append(("batch", batch, None))
            self._cond.notify()
        if self.stalled:
            self.stalled = False
            self.diagnostics.warn("sink", "exporter caught up", exporter=self.name)
        self._ensure_thread()
        return True

    async def flush(self, timeout: float) -> bool:
        """Wait (up to ``timeout`` seconds) until the lane has exported what it holds and flushed its exporter;
        at once (False) for a stalled exporter that has not finished an export since, which would only make
        every flush wait out its deadline."""
        self._check_fork()
        if self.stalled and self._done == self._stalled_at:  # no export has finished since: still hung
            return False
        return await self._marker("flush", timeout)

    async def shutdown(self, timeout: float) -> bool:
        """Export what the lane holds and shut the exporter down, within ``timeout`` seconds; what is still
        queued after that is counted failed."""
        done = await self._marker("stop", timeout)
        if not done:
            with self._cond:
                left = [item for kind, item, _ in self._items if kind == "batch"]
                self._items.clear()
            lost = sum(len(batch) for batch in left)
            if lost:
                self.report(lost, False, 0.0)
            self.diagnostics.warn("sink", "exporter did not finish before the deadline", exporter=self.name)
        return done

    async def _marker(self, kind: str, timeout: float) -> bool:
        self._check_fork()
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        with self._cond:
            self._items.append((kind, timeout, future))
            self._cond.notify()
        self._ensure_thread()
        try:
            await asyncio.wait_for(asyncio.wrap_future(future), max(0.0, timeout))
        except TimeoutError:
            return False
        return True

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = start_daemon(self._run, f"fapilog-lane-{self.name}")

    def _check_fork(self) -> None:
        if self._pid != os.getpid():  # a forked child: the parent's batches are not ours to export
            self._fresh()

    # ---- the lane's thread -----------------------------------------------------------------------------------

    def _run(self) -> None:
        loop: asyncio.AbstractEventLoop | None = None  # for an exporter whose export returns an awaitable
        try:
            while True:
                with self._cond:
                    while not self._items:
                        self._cond.wait()
                    kind, item, future = self._items.popleft()
                if kind == "batch":
                    loop = self._export(item, loop)
                    continue
                try:
                    if kind == "flush":
                        loop = self._call("force_flush", loop, int(item * 1000))
                    else:
                        loop = self._call("shutdown", loop)
                finally:
                    if future is not None and not future.done():
                        future.set_result(None)
                if kind == "stop":
                    return
        finally:
            if loop is not None:
                loop.close()

    def _export(self, batch: Sequence[Any], loop: asyncio.AbstractEventLoop | None) -> asyncio.AbstractEventLoop | None:
        start = time.perf_counter()
        try:
            result = self.exporter.export(as_readable(batch))
            if inspect.isawaitable(result):
                loop = loop or asyncio.new_event_loop()
                result = loop.run_until_complete(result)
            ok = export_result_ok(result)
        except Exception as exc:
            ok = False
            self.diagnostics.warn("sink", "export raised", exporter=self.name, error=exc)
        if not ok:
            self.diagnostics.warn("sink", "export failed", exporter=self.name, records=len(batch))
        self.report(len(batch), ok, time.perf_counter() - start)
        self._done += 1
        return loop

    def _call(
        self, method: str, loop: asyncio.AbstractEventLoop | None, *args: Any
    ) -> asyncio.AbstractEventLoop | None:
        try:
            result = getattr(self.exporter, method)(*args)
            if inspect.isawaitable(result):
                loop = loop or asyncio.new_event_loop()
                loop.run_until_complete(result)
        except Exception as exc:
            self.diagnostics.warn("sink", f"{method} failed", part=self.name, error=exc)
        return loop
