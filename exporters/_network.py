"""The exporter face of a ``Delivery``: OpenTelemetry's ``export / force_flush / shutdown``.

Inside fapilog, ``export`` is called on the worker's event loop: it buffers and returns at once, and
``force_flush`` / ``shutdown`` return awaitables the worker awaits. Called with no event loop running (an
OpenTelemetry SDK pipeline, e.g. ``BatchLogRecordProcessor`` under ``opentelemetry-instrument``), the same
delivery runs on a private event-loop thread, and ``force_flush`` / ``shutdown`` block until done.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

from fapilog._otel import LogRecordExporter, LogRecordExportResult, ReadableLogRecord
from fapilog._threads import start_daemon
from fapilog.exporters._delivery import Delivery, DeliveryStats

__all__ = ["NetworkExporter"]

R = TypeVar("R")
_SUCCESS = LogRecordExportResult.SUCCESS
_FAILURE = LogRecordExportResult.FAILURE


class _LoopThread:
    """A daemon thread running an event loop of its own, for callers that have none."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = start_daemon(self.loop.run_forever, "fapilog-delivery")

    def call(self, func: Callable[[], Any]) -> None:
        self.loop.call_soon_threadsafe(func)

    def run(self, coro: Coroutine[Any, Any, R], timeout: float) -> R | None:
        future: Future[R] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except Exception:
            future.cancel()
            return None

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5.0)
        if not self._thread.is_alive():
            self.loop.close()


class NetworkExporter(LogRecordExporter):
    """Exports through ``delivery``; ``release`` (e.g. closing an HTTP client) runs after each flush."""

    name = "network"
    nonblocking = True  # export only buffers: no lane needed (see fapilog._lanes)

    def __init__(
        self,
        delivery: Delivery[Any],
        *,
        release: Callable[[], Awaitable[None]] | None = None,
        shutdown_timeout: float = 10.0,
    ) -> None:
        self.delivery = delivery
        self.shutdown_timeout = shutdown_timeout
        self._release = release
        self._host: _LoopThread | None = None
        self._host_lock = threading.Lock()

    def stats(self) -> DeliveryStats:
        """Delivery counters: sent, failed, dropped (by reason), diverted, retried, duplicates_possible, ..."""
        return self.delivery.stats()

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        records = list(batch)
        if _running_loop() is not None:
            return _SUCCESS if self.delivery.submit(records) else _FAILURE
        if self.delivery._closed:
            return _FAILURE
        self._thread().call(lambda: self.delivery.submit(records))
        return _SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> Any:
        """Deliver everything buffered; an awaitable of ``bool`` on a running loop, else a ``bool``."""
        timeout = timeout_millis / 1000
        if _running_loop() is not None:
            return self._flush(timeout)
        host = self._host
        if host is None:
            return True
        return bool(host.run(self._flush(timeout), timeout + 1.0))

    async def _flush(self, timeout: float) -> bool:
        done = await self.delivery.flush(timeout)
        if self._release is not None:
            await self._release()
        return done

    def shutdown(self) -> Any:
        """Flush within ``shutdown_timeout`` seconds and close; an awaitable on a running loop."""
        if _running_loop() is not None:
            return self._close()
        host = self._host
        if host is None:
            self.delivery._closed = True
            return None
        host.run(self._close(), self.shutdown_timeout + 1.0)
        host.stop()
        self._host = None
        return None

    async def _close(self) -> None:
        await self.delivery.close(self.shutdown_timeout)
        if self._release is not None:
            await self._release()

    def _thread(self) -> _LoopThread:
        with self._host_lock:
            if self._host is None:
                self._host = _LoopThread()
            return self._host


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
