"""``Deduplicator``: the first occurrence of a key passes, repeats within a window are counted instead."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import ClassVar

from opentelemetry._logs import SeverityNumber

from fapilog._otel import InstrumentationScope, LogRecordProcessor, ReadWriteLogRecord
from fapilog.processors._counting import check_number
from fapilog.processors._record_keys import KeySpec, key_function
from fapilog.processors._summaries import SummarizingStage, short, summary_record

__all__ = ["Deduplicator"]


class _Window:
    """One key's open window: when it ends, repeats suppressed so far, and who said it first."""

    __slots__ = ("count", "end", "scope", "severity", "severity_text")

    def __init__(
        self, end: float, scope: InstrumentationScope | None, severity: SeverityNumber | None, text: str | None
    ) -> None:
        self.end = end
        self.count = 0
        self.scope = scope
        self.severity = severity
        self.severity_text = text


class Deduplicator(SummarizingStage):
    """Keeps the first record of each key, then suppresses the same key for ``window`` seconds.

    ``key`` is ``"message"`` (the default), ``"logger"``, ``"level"``, an attribute name or a callable
    ``record -> str | None`` (a record without a key always passes). When a window with repeats closes (a
    later record of the key, or ``pending()`` after it ends) or the stage is flushed, a summary record (event
    ``fapilog.duplicates``) says how many repeats were suppressed; it has the level and logger of the first
    occurrence, whose repeats it stands for. A flush reports the repeats so far without reopening the window.
    At most ``max_keys`` windows are open; the oldest is closed early to make room.
    """

    __slots__ = ("_key", "_max_keys", "_window", "_windows", "key_by", "window")
    name: ClassVar[str] = "first_occurrence"

    def __init__(
        self,
        window: float,
        *,
        key: KeySpec = "message",
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        next: LogRecordProcessor | None = None,
    ) -> None:
        super().__init__(clock=clock, next=next)
        self.window = check_number(window, "window", low=0.0, low_open=True)
        if isinstance(max_keys, bool) or not isinstance(max_keys, int) or max_keys < 1:
            raise ValueError(f"max_keys must be an int >= 1, got {max_keys!r}")
        self._max_keys = max_keys
        self._key, self.key_by = key_function(key)
        self._windows: OrderedDict[str, _Window] = OrderedDict()  # earliest end first

    def process(self, record: ReadWriteLogRecord) -> bool:
        key = self._key(record)
        if key is None:
            self.kept += 1
            return True
        with self._lock:
            now = self._clock()
            windows = self._windows
            window = windows.get(key)
            if window is not None:
                if now < window.end:
                    window.count += 1
                    self.dropped += 1
                    self._resource = record.resource
                    return False
                del windows[key]
                if window.count:
                    self._summarise(key, window)
            elif len(windows) >= self._max_keys:
                oldest, window = windows.popitem(last=False)
                if window.count:
                    self._summarise(oldest, window)
            lr = record.log_record
            end = now + self.window
            windows[key] = _Window(end, record.instrumentation_scope, lr.severity_number, lr.severity_text)
            self._next_due = min(self._next_due, end)
            self.kept += 1
            return True

    def _summarise(self, key: str, window: _Window) -> None:
        count, window.count = window.count, 0
        times = "time" if count == 1 else "times"
        severity, text = window.severity, window.severity_text
        if severity is None or not severity._value_:
            severity, text = SeverityNumber.WARN, "WARNING"
        self._ready.append(
            summary_record(
                f"repeated {count} {times} within {self.window:g}s: {short(key)}",
                {
                    "duplicates.key": key,
                    "duplicates.key_by": self.key_by,
                    "duplicates.count": count,
                    "duplicates.window_seconds": self.window,
                },
                event_name="fapilog.duplicates",
                severity=severity,
                severity_text=text or severity.name,
                scope=window.scope,
                resource=self._resource,
            )
        )

    def _collect(self, now: float, final: bool) -> None:
        windows = self._windows
        while windows:
            key, window = next(iter(windows.items()))
            if window.end > now:
                break
            del windows[key]
            if window.count:
                self._summarise(key, window)
        if final:
            for key, window in windows.items():
                if window.count:
                    self._summarise(key, window)
        self._next_due = next(iter(windows.values())).end if windows else math.inf
