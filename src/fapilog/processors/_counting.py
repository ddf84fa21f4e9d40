"""What every filter and sampler shares: kept/dropped counters and level thresholds from settings values."""

from __future__ import annotations

import math

from opentelemetry._logs import SeverityNumber

from fapilog._levels import level_for
from fapilog._otel import LogRecordProcessor, ReadWriteLogRecord
from fapilog.processors._base import Stage

__all__ = ["NEVER", "CountingStage", "check_number", "severity_of", "threshold"]

NEVER = SeverityNumber.FATAL4.value + 1
"""A severity threshold no record reaches (``always_keep=None``: nothing is protected)."""


class CountingStage(Stage):
    """A stage that counts the records it kept and dropped.

    The counters are plain integers: exact on fapilog's single worker thread; in a plain SDK pipeline fed
    from many threads, stages without a lock of their own may miss a count under contention (never a record).
    """

    __slots__ = ("dropped", "kept")

    def __init__(self, *, next: LogRecordProcessor | None = None) -> None:
        super().__init__(next=next)
        self.kept = 0
        self.dropped = 0

    def stats(self) -> dict[str, int]:
        """The counters, for the pipeline's report: ``kept`` and ``dropped`` records."""
        return {"kept": self.kept, "dropped": self.dropped}


def severity_of(record: ReadWriteLogRecord) -> int:
    """The record's OpenTelemetry severity number as an int (0 when unspecified)."""
    severity = record.log_record.severity_number
    return 0 if severity is None else int(severity._value_)


def threshold(level: str | int | None, param: str) -> int:
    """The severity number of a fapilog level name or priority; ``None`` gives ``NEVER``."""
    if level is None:
        return NEVER
    if isinstance(level, bool) or not isinstance(level, str | int):
        raise ValueError(f"{param} must be a level name or priority, got {level!r}")
    try:
        return int(level_for(level).severity.value)
    except ValueError as exc:
        raise ValueError(f"{param}: {exc}") from None


def check_number(value: float, param: str, *, low: float, high: float = math.inf, low_open: bool = False) -> float:
    """``value`` as a float when it is a finite number in range, else ``ValueError`` naming ``param``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ValueError(f"{param} must be a number, got {value!r}")
    number = float(value)
    too_low = number <= low if low_open else number < low
    if too_low or number > high or math.isinf(number):
        bound = f"> {low:g}" if low_open else f">= {low:g}"
        upper = f" and <= {high:g}" if high != math.inf else ""
        raise ValueError(f"{param} must be {bound}{upper} and finite, got {value!r}")
    return number
