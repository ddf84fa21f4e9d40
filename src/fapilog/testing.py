"""Helpers for testing code that logs with fapilog (fapilog's own tests use them too).

``CaptureExporter`` keeps exported records in memory; ``BlockingExporter`` is one that holds every export
until released (a stalled sink, for backpressure tests); ``capture_logs`` gives a logger wired to a
``CaptureExporter``; ``reset`` drains and forgets fapilog's global state between tests.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from fapilog._api import get_logger
from fapilog._api import reset as _reset_api
from fapilog._context import clear_context
from fapilog._event import LogEvent
from fapilog._facade import SyncLoggerFacade
from fapilog._otel import LogRecordExporter, LogRecordExportResult, ReadableLogRecord
from fapilog._render import envelope
from fapilog._settings import Settings

__all__ = ["BlockingExporter", "CaptureExporter", "capture_logs", "reset"]


class CaptureExporter(LogRecordExporter):
    """An exporter that keeps every record it is given, in order, in memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.records: list[ReadableLogRecord] = []
        self.batches = 0
        self.shut_down = False

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        with self._lock:
            self.records.extend(batch)
            self.batches += 1
        return LogRecordExportResult.SUCCESS

    def envelopes(self) -> list[dict[str, Any]]:
        """The fapilog envelope of each captured record."""
        with self._lock:
            return [envelope(r) for r in self.records]

    def events(self) -> list[LogEvent]:
        """Each captured record as a ``LogEvent``."""
        return [LogEvent.from_envelope(e) for e in self.envelopes()]

    def messages(self) -> list[Any]:
        with self._lock:
            return [r.log_record.body for r in self.records]

    def clear(self) -> None:
        with self._lock:
            self.records.clear()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    def shutdown(self) -> None:
        self.shut_down = True


class BlockingExporter(CaptureExporter):
    """A ``CaptureExporter`` whose exports wait until ``release()`` (or ``timeout`` seconds) first."""

    def __init__(self, timeout: float = 30.0) -> None:
        super().__init__()
        self._gate = threading.Event()
        self._timeout = timeout
        self.entered = threading.Event()

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        self.entered.set()
        self._gate.wait(self._timeout)
        return super().export(batch)

    def release(self) -> None:
        """Let every waiting and future export through."""
        self._gate.set()


@contextmanager
def capture_logs(
    name: str = "test", *, settings: Settings | None = None, preset: str | None = None
) -> Iterator[tuple[SyncLoggerFacade, CaptureExporter]]:
    """A fresh logger whose records land in a ``CaptureExporter``; drained when the block ends."""
    exporter = CaptureExporter()
    logger = get_logger(name, settings=settings, preset=preset, sinks=[exporter], reuse=False)
    try:
        yield logger, exporter
    finally:
        logger.drain()


def reset() -> None:
    """Drain and forget the process-wide pipeline and cached loggers, and clear the bound context."""
    _reset_api()
    clear_context()
