"""Stages that report what they suppressed with summary records of their own.

A ``SummarizingStage`` collects summaries under its lock and hands them out through ``pending()``: fapilog
asks after each batch, a plain SDK pipeline after each ``on_emit``. ``pending()`` is cheap when nothing is
due (one clock read). ``force_flush`` and ``shutdown`` make every count gathered so far into a summary; alone
in an SDK pipeline the stage passes them to ``next`` before flushing or shutting it down.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry._logs import SeverityNumber

from fapilog._otel import InstrumentationScope, LogRecordProcessor, ReadWriteLogRecord, Record, Resource, new_record
from fapilog.processors._counting import CountingStage

__all__ = ["SELF_SCOPE", "SummarizingStage", "short", "summary_record"]

SELF_SCOPE = InstrumentationScope("fapilog")
"""The logger name of records fapilog makes itself."""

_SHORT = 200


def short(text: str) -> str:
    """``text`` cut to a length fit for a summary's body."""
    return text if len(text) <= _SHORT else text[: _SHORT - 3] + "..."


def summary_record(
    body: str,
    attributes: Mapping[str, Any],
    *,
    event_name: str,
    severity: SeverityNumber = SeverityNumber.WARN,
    severity_text: str = "WARNING",
    scope: InstrumentationScope | None = None,
    resource: Resource | None = None,
) -> Record:
    """A summary record, stamped now, with no trace."""
    record = new_record(
        time.time_ns(),
        severity,
        severity_text,
        body,
        dict(attributes),
        scope or SELF_SCOPE,
        None,
        event_name=event_name,
    )
    if resource is not None:
        record.resource = resource
    return record


class SummarizingStage(CountingStage):
    """A counting stage with a lock, a clock and summary records waiting for ``pending()``.

    Subclasses implement ``_collect(now, final)``, called with the lock held: append due summaries (every
    summary when ``final``) to ``_ready`` and set ``_next_due`` to the earliest time another may be due.
    """

    __slots__ = ("_clock", "_lock", "_next_due", "_ready", "_resource", "summaries")

    def __init__(self, *, clock: Callable[[], float], next: LogRecordProcessor | None = None) -> None:
        super().__init__(next=next)
        if not callable(clock):
            raise ValueError(f"clock must be a callable returning seconds, got {clock!r}")
        self._clock = clock
        self._lock = threading.Lock()
        self._ready: list[ReadWriteLogRecord] = []
        self._next_due = math.inf
        self._resource: Resource | None = None  # of the last suppressed record, for summaries made alone
        self.summaries = 0

    def _collect(self, now: float, final: bool) -> None:
        raise NotImplementedError

    def stats(self) -> dict[str, int]:
        """``kept`` and ``dropped`` records, and ``summaries`` handed out."""
        return {**super().stats(), "summaries": self.summaries}

    def pending(self) -> list[ReadWriteLogRecord]:
        if not self._ready and self._clock() < self._next_due:
            return []
        with self._lock:
            self._collect(self._clock(), False)
            ready, self._ready = self._ready, []
            self.summaries += len(ready)
        return ready

    def _final(self) -> list[ReadWriteLogRecord]:
        with self._lock:
            self._collect(self._clock(), True)
            ready, self._ready = self._ready, []
            self.summaries += len(ready)
        return ready

    def _hand_on(self) -> None:
        """Make every count a summary: for ``pending()`` in fapilog, straight to ``next`` alone."""
        if self._next is None:
            with self._lock:
                self._collect(self._clock(), True)
            return
        for record in self._final():
            self._next.on_emit(record)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        self._hand_on()
        return super().force_flush(timeout_millis)

    def shutdown(self) -> None:
        self._hand_on()
        super().shutdown()
