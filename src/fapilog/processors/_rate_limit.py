"""``RateLimiter``: a token bucket per key, with a summary of what each key had suppressed."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import ClassVar

from fapilog._otel import LogRecordProcessor, ReadWriteLogRecord
from fapilog.processors._counting import check_number, threshold
from fapilog.processors._record_keys import KeySpec, key_function
from fapilog.processors._summaries import SummarizingStage, short, summary_record

__all__ = ["RateLimiter"]


class _Bucket:
    __slots__ = ("last", "suppressed", "tokens")

    def __init__(self, tokens: float, last: float) -> None:
        self.tokens = tokens
        self.last = last
        self.suppressed = 0


class RateLimiter(SummarizingStage):
    """Lets through at most ``rate`` records per second per key, with bursts of up to ``burst``.

    Each key has a token bucket holding up to ``burst`` tokens, refilled at ``rate`` per second; a record
    takes one token or is suppressed. ``key`` is ``"logger"``, ``"message"``, ``"level"``, an attribute name
    or a callable ``record -> str | None`` (a record without a key is not limited). The ``max_keys`` most
    recently seen keys keep a bucket, so memory stays bounded; a key forgotten with suppressed records gets
    its summary at once.

    ``summary_interval`` seconds after a key's first suppressed record, ``pending()`` returns a WARNING
    record (event ``fapilog.rate_limited``) with the key and the exact number suppressed since; so does a
    flush or shutdown for every key with suppressed records. Records at or above ``always_keep`` (default
    ``None``: none) pass without taking a token.
    """

    __slots__ = ("_buckets", "_burst", "_due", "_interval", "_key", "_max_keys", "_protect", "key_by", "rate")
    name: ClassVar[str] = "rate_limit"

    def __init__(
        self,
        rate: float,
        burst: float,
        *,
        key: KeySpec = "logger",
        summary_interval: float = 60.0,
        max_keys: int = 10_000,
        always_keep: str | int | None = None,
        clock: Callable[[], float] = time.monotonic,
        next: LogRecordProcessor | None = None,
    ) -> None:
        super().__init__(clock=clock, next=next)
        self.rate = check_number(rate, "rate", low=0.0, low_open=True)
        self._burst = check_number(burst, "burst", low=1.0)
        self._interval = check_number(summary_interval, "summary_interval", low=0.0, low_open=True)
        if isinstance(max_keys, bool) or not isinstance(max_keys, int) or max_keys < 1:
            raise ValueError(f"max_keys must be an int >= 1, got {max_keys!r}")
        self._max_keys = max_keys
        self._protect = threshold(always_keep, "always_keep")
        self._key, self.key_by = key_function(key)
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()  # least recently seen first
        self._due: OrderedDict[str, float] = OrderedDict()  # keys with suppressed records, earliest due first

    def process(self, record: ReadWriteLogRecord) -> bool:
        severity = record.log_record.severity_number
        if severity is not None and severity._value_ >= self._protect:
            self.kept += 1
            return True
        key = self._key(record)
        if key is None:
            self.kept += 1
            return True
        with self._lock:
            now = self._clock()
            buckets = self._buckets
            bucket = buckets.get(key)
            if bucket is None:
                if len(buckets) >= self._max_keys:
                    self._forget_oldest()
                bucket = buckets[key] = _Bucket(self._burst, now)
            else:
                buckets.move_to_end(key)
                if now > bucket.last:
                    tokens = bucket.tokens + (now - bucket.last) * self.rate
                    bucket.tokens = tokens if tokens < self._burst else self._burst
                    bucket.last = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                self.kept += 1
                return True
            if not bucket.suppressed:
                due = now + self._interval
                self._due[key] = due
                self._next_due = min(self._next_due, due)
            bucket.suppressed += 1
            self.dropped += 1
            self._resource = record.resource
            return False

    def _forget_oldest(self) -> None:
        key, bucket = self._buckets.popitem(last=False)
        if bucket.suppressed:
            self._summarise(key, bucket)

    def _summarise(self, key: str, bucket: _Bucket) -> None:
        count, bucket.suppressed = bucket.suppressed, 0
        self._due.pop(key, None)
        noun = "record" if count == 1 else "records"
        self._ready.append(
            summary_record(
                f"rate limit suppressed {count} {noun} for key={short(key)}",
                {"rate_limit.key": key, "rate_limit.key_by": self.key_by, "rate_limit.suppressed": count},
                event_name="fapilog.rate_limited",
                resource=self._resource,
            )
        )

    def _collect(self, now: float, final: bool) -> None:
        due = self._due
        while due:
            key, when = next(iter(due.items()))
            if when > now and not final:
                self._next_due = when
                return
            bucket = self._buckets.get(key)
            if bucket is None or not bucket.suppressed:
                del due[key]
            else:
                self._summarise(key, bucket)
        self._next_due = math.inf
