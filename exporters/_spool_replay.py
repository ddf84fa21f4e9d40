"""The spool's consumer: a thread that delivers spooled records to the real exporter, in order.

It takes a batch from the store, hands it to the exporter and acknowledges it only once the exporter
succeeded: ``export`` returned success, and ``force_flush`` (for a network exporter, its delivery's flush)
finished without the exporter counting a failed record. Anything else is retried, the same batch again,
after a backoff with full jitter (``_retry.backoff_delay``) capped at ``max_delay``, for as long as it takes:
the records are on disk meanwhile. The thread has an event loop of its own, so async exporters (fapilog sinks,
network exporters) run on it.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Callable
from typing import Any

from fapilog._diagnostics import Diagnostics
from fapilog._otel import as_readable, export_result_ok
from fapilog._random import uniform
from fapilog._threads import start_daemon
from fapilog.exporters._retry import RetryPolicy, backoff_delay
from fapilog.exporters._spool_store import Store

__all__ = ["Replayer"]


def _failed(exporter: Any) -> int:
    """The exporter's own count of records it gave up on (network exporters count them after export)."""
    stats = getattr(exporter, "stats", None)
    if stats is None:
        return 0
    try:
        return int(getattr(stats(), "failed", 0))
    except Exception:
        return 0


class Replayer:
    """Delivers ``store``'s records to ``exporter`` from a daemon thread until ``stop``."""

    __slots__ = (
        "_batch_size",
        "_catching_up",
        "_diagnostics",
        "_exporter",
        "_failing",
        "_flush_millis",
        "_idle",
        "_lock",
        "_name",
        "_policy",
        "_rng",
        "_stop_at",
        "_store",
        "_thread",
        "_wake",
    )

    def __init__(
        self,
        store: Store,
        exporter: Any,
        *,
        name: str,
        batch_size: int = 256,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        flush_timeout: float = 30.0,
        diagnostics: Diagnostics | None = None,
        rng: Callable[[], float] = uniform,
    ) -> None:
        self._store = store
        self._exporter = exporter
        self._name = name
        self._batch_size = max(1, batch_size)
        self._policy = RetryPolicy(max_retries=0, base_delay=base_delay, max_delay=max_delay)
        self._flush_millis = int(flush_timeout * 1000)
        self._diagnostics = diagnostics or Diagnostics()
        self._rng = rng
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._wake = threading.Event()
        self._failing = False  # the last attempt failed
        self._catching_up = False  # an attempt failed and the backlog has not been emptied since
        self._stop_at: float | None = None
        self._thread = start_daemon(self._run, f"fapilog-spool-{name}")

    @property
    def failing(self) -> bool:
        """Whether the last attempt failed (the exporter is down): a flush does not wait for it then."""
        return self._failing

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every spooled record is delivered, or the exporter is failing, or ``timeout`` passed.
        True when nothing is left to deliver."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._store.pending() and not self._failing and self._thread.is_alive():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._idle.wait(min(remaining, 0.1))
        return self._store.pending() == 0

    def stop(self, timeout: float) -> None:
        """Deliver what is left while the exporter succeeds, for up to ``timeout`` seconds; then stop (what
        is not delivered stays on disk) and shut the exporter down."""
        with self._lock:
            self._stop_at = time.monotonic() + max(0.0, timeout)
        self._wake.set()
        self._store.wake()
        # A hung export call cannot hold shutdown past its deadline (plus a second for the exporter's own
        # shutdown): the thread is a daemon, and an unacknowledged batch stays on disk, sent again next time.
        self._thread.join(max(0.0, timeout) + 1.0)
        if self._thread.is_alive():
            self._diagnostics.warn(
                "spool", "exporter still busy at shutdown; its batch stays in the spool", exporter=self._name
            )

    # ---- the thread ---------------------------------------------------------------------------------------

    def _stopping(self, *, idle: bool) -> bool:
        stop_at = self._stop_at
        if stop_at is None:
            return False
        return idle or self._failing or time.monotonic() >= stop_at

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            self._deliver_all(loop)
        except BaseException as exc:  # pragma: no cover - a bug: reported, the records stay on disk
            self._diagnostics.warn("spool", "spool replay stopped", exporter=self._name, error=exc)
        finally:
            loop.run_until_complete(self._call("shutdown"))
            loop.close()
            with self._idle:
                self._idle.notify_all()

    def _deliver_all(self, loop: asyncio.AbstractEventLoop) -> None:
        store = self._store
        while True:
            seq, batch = store.take(self._batch_size)
            if not batch:
                if self._stopping(idle=True):
                    return
                self._notify_idle()
                store.wait_for_data(0.5)
                continue
            attempt = 0
            while not loop.run_until_complete(self._attempt(batch)):
                attempt += 1
                self._failing = self._catching_up = True
                store.count_retry()
                self._notify_idle()
                if self._stopping(idle=False):
                    store.not_sent()
                    return  # the batch stays on disk, sent again at the next start
                delay = max(0.01, backoff_delay(self._policy, attempt, self._rng))
                stop_at = self._stop_at
                if stop_at is not None:
                    delay = min(delay, max(0.0, stop_at - time.monotonic()))
                self._wake.wait(delay)
                self._wake.clear()
            self._failing = False
            store.ack(seq + len(batch), replay=self._catching_up)
            if self._catching_up and store.pending() == 0:
                self._catching_up = False
            self._notify_idle()

    def _notify_idle(self) -> None:
        with self._idle:
            self._idle.notify_all()

    async def _attempt(self, batch: list[Any]) -> bool:
        exporter = self._exporter
        before = _failed(exporter)
        try:
            result = exporter.export(as_readable(batch))
            if inspect.isawaitable(result):
                result = await result
            if not export_result_ok(result):
                return False
            delivery = getattr(exporter, "delivery", None)
            if delivery is not None and callable(getattr(delivery, "flush", None)):
                done = await delivery.flush(self._flush_millis / 1000)  # without the client release of force_flush
            else:
                done = await self._call("force_flush", self._flush_millis)
            if done is False:
                return False
        except Exception as exc:
            self._diagnostics.warn("spool", "export from the spool raised", exporter=self._name, error=exc)
            return False
        return _failed(exporter) == before

    async def _call(self, method: str, *args: Any) -> Any:
        func = getattr(self._exporter, method, None)
        if func is None:
            return None
        try:
            result = func(*args)
            if inspect.isawaitable(result):
                result = await result
            return result
        except Exception as exc:
            self._diagnostics.warn("spool", f"exporter {method} raised", exporter=self._name, error=exc)
            return False
