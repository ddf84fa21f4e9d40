"""``Deduplicator``: first occurrences pass, repeats within the window are counted and summarised."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry._logs import SeverityNumber

from fapilog.processors import Deduplicator

from ._filter_support import FakeClock, SdkPipeline

EVENT = "fapilog.duplicates"


def _deduped(clock: FakeClock, window: float = 10.0, **kwargs: Any) -> SdkPipeline[Deduplicator]:
    return SdkPipeline(lambda nxt: Deduplicator(window, clock=clock, next=nxt, **kwargs))


def test_first_kept_repeats_counted_and_summarised_after_the_window() -> None:
    """The first 'disk full' passes, 24 repeats are suppressed, and the summary after the window says 24."""
    clock = FakeClock()
    pipe = _deduped(clock)
    for _ in range(25):
        pipe.emit("disk full", "ERROR", logger="storage")
        clock.advance(0.1)
    pipe.emit("other")
    assert pipe.bodies() == ["disk full", "other"]
    clock.advance(10.0)
    pipe.emit("tick")  # the SDK asks for pending summaries after each record
    (summary,) = pipe.events(EVENT)
    lr = summary.log_record
    assert lr.body == "repeated 24 times within 10s: disk full"
    assert dict(lr.attributes or {}) == {
        "duplicates.key": "disk full",
        "duplicates.key_by": "message",
        "duplicates.count": 24,
        "duplicates.window_seconds": 10.0,
    }
    assert (lr.severity_number, lr.severity_text) == (SeverityNumber.ERROR, "ERROR")
    assert summary.instrumentation_scope is not None
    assert summary.instrumentation_scope.name == "storage"
    assert pipe.stage.stats() == {"kept": 3, "dropped": 24, "summaries": 1}
    pipe.close()


def test_a_repeat_after_the_window_is_a_new_first_occurrence() -> None:
    """Once the window has closed the key passes again, after the summary of the old window."""
    clock = FakeClock()
    pipe = _deduped(clock, window=5.0)
    pipe.emit("x")
    pipe.emit("x")
    clock.advance(5.0)
    pipe.emit("x")
    assert pipe.bodies() == ["x", "x", "repeated 1 time within 5s: x"]
    pipe.close()


def test_no_summary_without_repeats() -> None:
    """A key seen once produces no summary when its window closes."""
    clock = FakeClock()
    pipe = _deduped(clock)
    pipe.emit("once")
    clock.advance(60.0)
    pipe.emit("later")
    assert pipe.bodies() == ["once", "later"]
    pipe.close()


def test_flush_reports_repeats_so_far_and_keeps_suppressing() -> None:
    """force_flush summarises open windows; repeats after it are still suppressed and counted afresh."""
    clock = FakeClock()
    pipe = _deduped(clock)
    for _ in range(4):
        pipe.emit("x")
    assert pipe.stage.force_flush()
    pipe.emit("x")
    pipe.emit("x")
    clock.advance(10.0)
    pipe.emit("y")
    counts = [(s.log_record.attributes or {})["duplicates.count"] for s in pipe.events(EVENT)]
    assert counts == [3, 2]
    assert [b for b in pipe.bodies() if b in {"x", "y"}] == ["x", "y"]
    pipe.close()


def test_key_by_attribute_and_records_without_a_key_pass() -> None:
    """key='error_code' dedupes by that attribute; records without it always pass."""
    clock = FakeClock()
    pipe = _deduped(clock, key="error_code")
    pipe.emit("a", attributes={"error_code": 7})
    pipe.emit("b", attributes={"error_code": 7})
    pipe.emit("c", attributes={"error_code": 8})
    pipe.emit("d")
    pipe.emit("d")
    assert pipe.bodies() == ["a", "c", "d", "d"]
    pipe.close()


def test_open_windows_are_bounded() -> None:
    """Beyond max_keys the oldest window closes early, and its repeats are summarised."""
    clock = FakeClock()
    pipe = _deduped(clock, max_keys=2)
    pipe.emit("a")
    pipe.emit("a")
    pipe.emit("b")
    pipe.emit("c")
    stage = pipe.stage
    assert list(stage._windows) == ["b", "c"]
    assert [s.log_record.body for s in pipe.events(EVENT)] == ["repeated 1 time within 10s: a"]
    pipe.close()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window": 0}, "window must be > 0 and finite, got 0"),
        ({"window": -1.0}, "window must be > 0 and finite, got -1.0"),
        ({"max_keys": True}, "max_keys must be an int >= 1, got True"),
        ({"key": None}, "key must be 'logger', 'message', 'level', an attribute name or a callable, got None"),
    ],
)
def test_rejects_bad_configuration(kwargs: dict[str, Any], message: str) -> None:
    """Configuration errors raise ValueError naming the parameter and the bad value."""
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        Deduplicator(**{"window": 10.0, **kwargs})


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.floats(min_value=0.0, max_value=4.0)), max_size=200))
def test_every_repeat_is_counted_once_and_first_occurrences_are_a_window_apart(
    events: list[tuple[str, float]],
) -> None:
    """For any arrival pattern: kept plus summarised repeats equals emitted; a key passes at most once a window."""
    clock = FakeClock(0.0)
    pipe = _deduped(clock, window=5.0)
    passed: dict[str, list[float]] = {}
    for key, gap in events:
        clock.advance(gap)
        before = pipe.stage.kept
        pipe.emit(key)
        if pipe.stage.kept > before:
            passed.setdefault(key, []).append(clock.now)
    pipe.stage.force_flush()
    repeats = sum(int(str((s.log_record.attributes or {})["duplicates.count"])) for s in pipe.events(EVENT))
    assert pipe.stage.kept + repeats == len(events)
    for times in passed.values():
        assert all(later >= earlier + 5.0 for earlier, later in itertools.pairwise(times))
    pipe.close()
