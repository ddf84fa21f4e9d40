"""Stateless samplers: ``ProbabilisticSampler`` (a fixed fraction) and ``TraceSampler`` (follow the trace).

Both keep whole traces together: a record with a trace id is kept or dropped by its trace id, compared with
the rate the way OpenTelemetry's ``TraceIdRatioBased`` span sampler does (the low 64 bits of the id against
``rate * 2**64``). So every log of one trace shares one decision, and with a span sampler at the same rate the
logs kept are those of the sampled traces. Records without a trace are kept at random with probability
``rate``. Records at or above ``always_keep`` (ERROR by default) are always kept.
"""

from __future__ import annotations

import random
from typing import ClassVar

from fapilog._otel import LogRecordProcessor, ReadWriteLogRecord
from fapilog._random import uniform
from fapilog.processors._counting import CountingStage, check_number, threshold

__all__ = ["ProbabilisticSampler", "TraceSampler"]

_LOW_64 = (1 << 64) - 1


def _trace_bound(rate: float) -> int:
    """Trace ids whose low 64 bits are below this are kept at ``rate``."""
    return round(rate * (1 << 64))


class ProbabilisticSampler(CountingStage):
    """Keeps a fraction ``rate`` (0 to 1) of the records below ``always_keep``; never drops the others.

    ``by_trace=True`` (the default) decides by trace id when the record has one, so a trace's logs are kept
    or dropped together; ``by_trace=False`` draws for every record. ``rng`` (a seeded ``random.Random``)
    makes the draws repeatable.
    """

    __slots__ = ("_bound", "_by_trace", "_protect", "_random", "rate")
    name: ClassVar[str] = "sampling"

    def __init__(
        self,
        rate: float,
        *,
        always_keep: str | int | None = "ERROR",
        by_trace: bool = True,
        rng: random.Random | None = None,
        next: LogRecordProcessor | None = None,
    ) -> None:
        super().__init__(next=next)
        self.rate = check_number(rate, "rate", low=0.0, high=1.0)
        self._protect = threshold(always_keep, "always_keep")
        self._bound = _trace_bound(self.rate)
        self._by_trace = bool(by_trace)
        self._random = rng.random if rng is not None else uniform

    def process(self, record: ReadWriteLogRecord) -> bool:
        lr = record.log_record
        severity = lr.severity_number
        if severity is not None and severity._value_ >= self._protect:
            self.kept += 1
            return True
        trace_id = lr.trace_id
        keep = (trace_id & _LOW_64) < self._bound if trace_id and self._by_trace else self._random() < self.rate
        if keep:
            self.kept += 1
            return True
        self.dropped += 1
        return False


class TraceSampler(CountingStage):
    """Keeps every log of a sampled trace and drops the logs of unsampled ones.

    With ``follow_trace_flags=True`` (the default) a record with a trace is kept exactly when its trace
    flags say the trace was sampled; with ``False`` the flags are ignored and traces are sampled by trace id at
    ``rate``. Records without a trace are kept with probability ``rate`` (1.0: all). Records at or above
    ``always_keep`` are always kept.
    """

    __slots__ = ("_bound", "_follow", "_protect", "_random", "rate")
    name: ClassVar[str] = "trace_sampling"

    def __init__(
        self,
        *,
        follow_trace_flags: bool = True,
        rate: float = 1.0,
        always_keep: str | int | None = "ERROR",
        rng: random.Random | None = None,
        next: LogRecordProcessor | None = None,
    ) -> None:
        super().__init__(next=next)
        self.rate = check_number(rate, "rate", low=0.0, high=1.0)
        self._protect = threshold(always_keep, "always_keep")
        self._follow = bool(follow_trace_flags)
        self._bound = _trace_bound(self.rate)
        self._random = rng.random if rng is not None else uniform

    def process(self, record: ReadWriteLogRecord) -> bool:
        lr = record.log_record
        severity = lr.severity_number
        if severity is not None and severity._value_ >= self._protect:
            self.kept += 1
            return True
        trace_id = lr.trace_id
        if trace_id:
            if self._follow:
                flags = lr.trace_flags
                keep = flags is not None and bool(flags & 1)
            else:
                keep = (trace_id & _LOW_64) < self._bound
        else:
            keep = self.rate >= 1.0 or self._random() < self.rate
        if keep:
            self.kept += 1
            return True
        self.dropped += 1
        return False
