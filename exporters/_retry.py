"""Retry timing: exponential backoff with full jitter, and ``Retry-After`` parsing. Pure functions."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

__all__ = ["RetryPolicy", "backoff_delay", "parse_retry_after"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a batch is retried.

    ``max_retries`` retries follow the first attempt; the n-th waits a random time in
    ``[0, min(max_delay, base_delay * 2 ** (n - 1))]`` (full jitter), or at least what the server's
    ``Retry-After`` asked. ``deadline`` bounds the whole delivery of one batch, waits included: a wait that
    would end past it is not started and the batch is given up.
    """

    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 30.0
    deadline: float = 120.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries cannot be negative")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("retry delays cannot be negative")
        if self.deadline <= 0:
            raise ValueError("the retry deadline must be positive")


def backoff_delay(policy: RetryPolicy, retry: int, rng: Callable[[], float]) -> float:
    """The wait before retry number ``retry`` (1 for the first): full jitter under an exponential cap."""
    ceiling = min(policy.max_delay, policy.base_delay * (2.0 ** max(0, retry - 1)))
    return max(0.0, min(1.0, rng())) * ceiling


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta seconds or an HTTP date (``now`` is the wall
    clock, default ``time.time()``). ``None`` when absent or unreadable; never negative."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)
