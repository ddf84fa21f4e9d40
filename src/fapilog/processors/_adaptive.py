"""``AdaptiveSampler``: keeps about ``target_per_second`` records a second, whatever the incoming rate."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import ClassVar

from fapilog._otel import LogRecordProcessor, ReadWriteLogRecord
from fapilog._random import uniform
from fapilog.processors._counting import CountingStage, check_number, threshold

__all__ = ["AdaptiveSampler"]


class AdaptiveSampler(CountingStage):
    """Samples records below ``always_keep`` with a probability that follows the incoming rate.

    The stage counts incoming records (below ``always_keep``) per ``window`` seconds and keeps an
    exponentially weighted moving average of the rate: each window's measurement weighs ``smoothing``
    (a gap of several windows weighs as that many windows). The keep probability for the next window is
    ``target_per_second / incoming_rate``, capped at 1, so the kept rate tracks the target within a window or
    two of a change. Records at or above ``always_keep`` (ERROR by default) are always kept and not counted.
    ``incoming_rate`` and ``probability`` show the current estimate.
    """

    __slots__ = (
        "_clock",
        "_count",
        "_estimate",
        "_lock",
        "_probability",
        "_protect",
        "_random",
        "_smoothing",
        "_start",
        "target",
        "window",
    )
    name: ClassVar[str] = "adaptive_sampling"

    def __init__(
        self,
        target_per_second: float,
        *,
        window: float = 1.0,
        smoothing: float = 0.5,
        always_keep: str | int | None = "ERROR",
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        next: LogRecordProcessor | None = None,
    ) -> None:
        super().__init__(next=next)
        self.target = check_number(target_per_second, "target_per_second", low=0.0, low_open=True)
        self.window = check_number(window, "window", low=0.0, low_open=True)
        self._smoothing = check_number(smoothing, "smoothing", low=0.0, high=1.0, low_open=True)
        self._protect = threshold(always_keep, "always_keep")
        if not callable(clock):
            raise ValueError(f"clock must be a callable returning seconds, got {clock!r}")
        self._clock = clock
        self._random = rng.random if rng is not None else uniform
        self._lock = threading.Lock()
        self._start: float | None = None
        self._count = 0
        self._estimate: float | None = None
        self._probability = 1.0

    @property
    def incoming_rate(self) -> float:
        """The estimated incoming rate (records per second below ``always_keep``); 0 before a full window."""
        return self._estimate or 0.0

    @property
    def probability(self) -> float:
        """The probability a record below ``always_keep`` is kept now."""
        return self._probability

    def process(self, record: ReadWriteLogRecord) -> bool:
        severity = record.log_record.severity_number
        if severity is not None and severity._value_ >= self._protect:
            self.kept += 1
            return True
        with self._lock:
            now = self._clock()
            if self._start is None:
                self._start = now
            elif now - self._start >= self.window:
                self._update(now - self._start)
                self._start = now
            self._count += 1
            probability = self._probability
            if probability >= 1.0 or self._random() < probability:
                self.kept += 1
                return True
            self.dropped += 1
            return False

    def _update(self, elapsed: float) -> None:
        """Close the window of ``elapsed`` seconds: fold its rate into the estimate, set the probability."""
        observed = self._count / elapsed
        self._count = 0
        if self._estimate is None:
            self._estimate = observed
        else:
            weight = 1.0 - (1.0 - self._smoothing) ** (elapsed / self.window)
            self._estimate += weight * (observed - self._estimate)
        self._probability = min(1.0, self.target / self._estimate) if self._estimate > 0 else 1.0
