"""``RateLimiter``: token buckets per key, with exact summaries of what was suppressed."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry._logs import SeverityNumber

from fapilog._otel import ReadWriteLogRecord
from fapilog.processors import RateLimiter

from ._filter_support import FakeClock, SdkPipeline

EVENT = "fapilog.rate_limited"


def _limited(clock: FakeClock, **kwargs: Any) -> SdkPipeline[RateLimiter]:
    return SdkPipeline(lambda nxt: RateLimiter(next=nxt, clock=clock, **{"rate": 1.0, "burst": 5, **kwargs}))


def test_a_limited_key_gets_a_summary_with_the_exact_suppressed_count() -> None:
    """A burst of 5 passes, the next 37 are suppressed, and one summary after the interval says 37."""
    clock = FakeClock()
    pipe = _limited(clock, summary_interval=60.0)
    for i in range(42):
        pipe.emit(f"m{i}", logger="noisy")
    assert pipe.bodies() == [f"m{i}" for i in range(5)]
    clock.advance(59.0)
    pipe.emit("quiet", logger="other")
    assert pipe.events(EVENT) == []
    clock.advance(1.0)
    pipe.emit("later", logger="other")
    (summary,) = pipe.events(EVENT)
    lr = summary.log_record
    assert lr.body == "rate limit suppressed 37 records for key=noisy"
    assert dict(lr.attributes or {}) == {
        "rate_limit.key": "noisy",
        "rate_limit.key_by": "logger",
        "rate_limit.suppressed": 37,
    }
    assert (lr.severity_number, lr.severity_text) == (SeverityNumber.WARN, "WARNING")
    assert summary.instrumentation_scope is not None
    assert summary.instrumentation_scope.name == "fapilog"
    assert pipe.stage.stats() == {"kept": 7, "dropped": 37, "summaries": 1}
    pipe.close()


def test_other_keys_are_unaffected() -> None:
    """While one logger is limited, another logger's records all pass."""
    clock = FakeClock()
    pipe = _limited(clock, burst=2)
    for i in range(10):
        pipe.emit(f"a{i}", logger="a")
        pipe.emit(f"b{i}", logger="b" if i < 2 else f"b{i}")
    bodies = pipe.bodies()
    assert [b for b in bodies if b.startswith("a")] == ["a0", "a1"]
    assert [b for b in bodies if b.startswith("b")] == [f"b{i}" for i in range(10)]
    pipe.close()


def test_tokens_refill_at_the_rate() -> None:
    """After the burst is spent, one record per 1/rate seconds passes again."""
    clock = FakeClock()
    pipe = _limited(clock, rate=2.0, burst=1)
    pipe.emit("first")
    pipe.emit("suppressed")
    clock.advance(0.5)
    pipe.emit("refilled")
    pipe.emit("suppressed again")
    clock.advance(10.0)  # the bucket holds at most burst tokens
    pipe.emit("one")
    pipe.emit("too many")
    assert [b for b in pipe.bodies() if not b.startswith("rate limit")] == ["first", "refilled", "one"]
    pipe.close()


def test_at_most_one_summary_per_key_per_interval() -> None:
    """Suppression that keeps going yields one summary per interval, and the counts add up exactly."""
    clock = FakeClock()
    pipe = _limited(clock, rate=1.0, burst=1, summary_interval=10.0)
    for _ in range(30):  # 10 records a second for 30 seconds: one passes each second
        for _ in range(10):
            pipe.emit("x")
        clock.advance(1.0)
    pipe.stage.force_flush()
    counts = [(s.log_record.attributes or {})["rate_limit.suppressed"] for s in pipe.events(EVENT)]
    assert counts == [90, 90, 90]
    assert pipe.stage.stats() == {"kept": 30, "dropped": 270, "summaries": 3}
    pipe.close()


def test_flush_and_shutdown_report_what_is_left() -> None:
    """force_flush hands the counts so far to next at once; shutdown does the same for later ones."""
    clock = FakeClock()
    pipe = _limited(clock, burst=1)
    for _ in range(4):
        pipe.emit("x", logger="k")
    assert pipe.events(EVENT) == []
    assert pipe.stage.force_flush()
    assert [s.log_record.body for s in pipe.events(EVENT)] == ["rate limit suppressed 3 records for key=k"]
    pipe.emit("x", logger="k")
    pipe.provider.shutdown()
    assert [s.log_record.body for s in pipe.events(EVENT)][1:] == ["rate limit suppressed 1 record for key=k"]


def test_keys_by_message_level_attribute_and_callable() -> None:
    """key='message', 'level', an attribute name or a callable each choose the bucket; no key means no limit."""

    def by_tenant(record: ReadWriteLogRecord) -> str | None:
        tenant = (record.log_record.attributes or {}).get("tenant")
        return None if tenant is None else f"tenant-{tenant}"

    for key, expected in [
        ("message", ["a", "b"]),
        ("level", ["a", "a"]),
        ("tenant", ["a", "a", "b", "b"]),
        (by_tenant, ["a", "a", "b", "b"]),
    ]:
        clock = FakeClock()
        pipe = _limited(clock, burst=1, key=key)
        pipe.emit("a", "INFO", attributes={"tenant": 1})
        pipe.emit("a", "INFO", attributes={"tenant": 1})
        pipe.emit("a", "ERROR", attributes={})  # no tenant: not limited by tenant
        pipe.emit("b", "INFO", attributes={"tenant": 2})
        pipe.emit("b", "ERROR", attributes={})
        assert pipe.bodies() == expected, key
        pipe.close()


def test_always_keep_passes_without_taking_tokens() -> None:
    """With always_keep='ERROR', errors pass even when the bucket is empty and do not spend it."""
    clock = FakeClock()
    pipe = _limited(clock, burst=1, always_keep="ERROR")
    pipe.emit("e1", "ERROR")
    pipe.emit("e2", "ERROR")
    pipe.emit("i1")
    pipe.emit("i2")
    assert pipe.bodies() == ["e1", "e2", "i1"]
    pipe.close()


def test_memory_is_bounded_and_forgotten_keys_are_reported() -> None:
    """Beyond max_keys the least recently seen key is forgotten, and its suppressed count is summarised."""
    clock = FakeClock()
    pipe = _limited(clock, burst=1, max_keys=3)
    for _ in range(3):
        pipe.emit("x", logger="first")
    for name in ("k1", "k2", "k3"):
        pipe.emit("x", logger=name)
    stage = pipe.stage
    assert len(stage._buckets) == 3
    assert [s.log_record.body for s in pipe.events(EVENT)] == ["rate limit suppressed 2 records for key=first"]
    pipe.close()


def test_counts_stay_exact_across_threads() -> None:
    """Many threads emitting at once: kept plus suppressed equals what was emitted, and summaries match."""
    clock = FakeClock()
    pipe = _limited(clock, rate=1.0, burst=100)

    def work() -> None:
        for _ in range(1_000):
            pipe.emit("x", logger="shared")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pipe.stage.force_flush()
    (summary,) = pipe.events(EVENT)
    assert (summary.log_record.attributes or {})["rate_limit.suppressed"] == 7_900
    assert len(pipe.logs()) == 101
    pipe.close()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate": 0}, "rate must be > 0 and finite, got 0"),
        ({"rate": float("inf")}, "rate must be > 0 and finite, got inf"),
        ({"burst": 0.5}, "burst must be >= 1 and finite, got 0.5"),
        ({"summary_interval": 0}, "summary_interval must be > 0 and finite, got 0"),
        ({"max_keys": 0}, "max_keys must be an int >= 1, got 0"),
        ({"key": ""}, "key must be 'logger', 'message', 'level', an attribute name or a callable, got ''"),
        ({"key": 3}, "key must be 'logger', 'message', 'level', an attribute name or a callable, got 3"),
        ({"always_keep": "LOUD"}, "always_keep: unknown log level 'LOUD'"),
        ({"clock": 1.0}, "clock must be a callable returning seconds, got 1.0"),
    ],
)
def test_rejects_bad_configuration(kwargs: dict[str, Any], message: str) -> None:
    """Configuration errors raise ValueError naming the parameter and the bad value."""
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        RateLimiter(**{"rate": 1.0, "burst": 5, **kwargs})


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.floats(min_value=0.0, max_value=3.0)),
        max_size=200,
    ),
    st.integers(min_value=1, max_value=4),
)
def test_every_record_is_kept_or_summarised_and_no_key_beats_its_bucket(
    events: list[tuple[str, float]], max_keys: int
) -> None:
    """For any arrival pattern: kept plus summarised equals emitted, and a key keeps at most burst + rate * t."""
    clock = FakeClock(0.0)
    pipe = _limited(clock, rate=2.0, burst=3, summary_interval=5.0, max_keys=max_keys)
    for key, gap in events:
        clock.advance(gap)
        pipe.emit(key, logger=key)
    pipe.stage.force_flush()
    summaries = pipe.events(EVENT)
    suppressed = sum(int(str((s.log_record.attributes or {})["rate_limit.suppressed"])) for s in summaries)
    assert len(pipe.logs()) - len(summaries) + suppressed == len(events)
    assert suppressed == pipe.stage.dropped
    if max_keys == 4:  # never forgets a key: the bucket bound holds over the whole run
        for key in "abcd":
            kept = sum(1 for r in pipe.logs() if r.log_record.body == key)
            assert kept <= 3 + 2.0 * clock.now + 1e-9
    pipe.close()
