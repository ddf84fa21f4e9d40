"""A circuit breaker per exporter: closed -> open -> half-open (one probe) -> closed or open again."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

__all__ = ["CircuitBreaker", "CircuitState"]

CircuitState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; after ``recovery`` seconds lets ONE probe through.

    The probe's success closes the circuit, its failure opens it for another ``recovery`` seconds. While
    the probe is out, every other caller is refused. ``clock`` gives monotonic seconds.
    """

    __slots__ = ("_clock", "_failures", "_opened_at", "_probing", "opened", "recovery", "threshold")

    def __init__(self, threshold: int = 5, recovery: float = 30.0, *, clock: Callable[[], float] = time.monotonic):
        if threshold < 1:
            raise ValueError("the circuit breaker threshold must be at least 1")
        if recovery < 0:
            raise ValueError("the circuit breaker recovery time cannot be negative")
        self.threshold = threshold
        self.recovery = recovery
        self.opened = 0  # how many times the circuit opened
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> CircuitState:
        if self._opened_at is None:
            return "closed"
        if self._probing or self._clock() - self._opened_at >= self.recovery:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """Whether a request may go now; in half-open state only the first caller (the probe) is allowed."""
        if self._opened_at is None:
            return True
        if self._probing or self._clock() - self._opened_at < self.recovery:
            return False
        self._probing = True
        return True

    def wait_time(self) -> float:
        """Seconds until a probe may go (0 when closed or ready to probe; the recovery time while probing)."""
        if self._opened_at is None:
            return 0.0
        if self._probing:
            return self.recovery
        return max(0.0, self.recovery - (self._clock() - self._opened_at))

    def success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def failure(self) -> None:
        if self._probing or self._opened_at is not None:  # the probe failed: open again for a full period
            self._probing = False
            self._opened_at = self._clock()
            self.opened += 1
            return
        self._failures += 1
        if self._failures >= self.threshold:
            self._opened_at = self._clock()
            self.opened += 1

    def release(self) -> None:
        """The probe ended without a verdict (e.g. its batch was given up): the next caller may probe."""
        self._probing = False
