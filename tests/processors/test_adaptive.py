"""``AdaptiveSampler``: the kept rate follows a target whatever the incoming rate; errors always kept."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from fapilog.processors import AdaptiveSampler

from ._filter_support import FakeClock, SdkPipeline


def _run(
    pipe: SdkPipeline[AdaptiveSampler], clock: FakeClock, per_second: int, seconds: int, level: str = "INFO"
) -> None:
    """Emit ``per_second`` records a second, evenly spaced, for ``seconds`` seconds of fake time."""
    for _ in range(seconds * per_second):
        pipe.emit("m", level)
        clock.advance(1.0 / per_second)


def test_kept_rate_converges_near_the_target_and_errors_are_all_kept() -> None:
    """At 10x the target rate, about target records a second are kept once settled; every ERROR passes."""
    clock = FakeClock()
    pipe = SdkPipeline(lambda nxt: AdaptiveSampler(50, clock=clock, rng=random.Random(11), next=nxt))
    stage = pipe.stage
    _run(pipe, clock, 500, 5)  # settle
    before = len(pipe.logs())
    for _ in range(30):
        _run(pipe, clock, 500, 1)
        pipe.emit("boom", "ERROR")
    kept = pipe.logs()[before:]
    errors = [r for r in kept if r.log_record.severity_text == "ERROR"]
    assert len(errors) == 30
    assert 30 * 50 * 0.8 <= len(kept) - len(errors) <= 30 * 50 * 1.2
    assert 450 <= stage.incoming_rate <= 550
    assert 0.08 <= stage.probability <= 0.12
    pipe.close()


def test_everything_passes_below_the_target() -> None:
    """When fewer records arrive than the target allows, the probability stays 1 and nothing is dropped."""
    clock = FakeClock()
    pipe = SdkPipeline(lambda nxt: AdaptiveSampler(100, clock=clock, next=nxt))
    _run(pipe, clock, 20, 10)
    assert len(pipe.logs()) == 200
    assert pipe.stage.stats() == {"kept": 200, "dropped": 0}
    pipe.close()


def test_follows_a_change_in_the_incoming_rate() -> None:
    """After a burst ends and the rate falls below the target, the probability returns to 1 within windows."""
    clock = FakeClock()
    pipe = SdkPipeline(lambda nxt: AdaptiveSampler(10, clock=clock, rng=random.Random(3), next=nxt))
    stage = pipe.stage
    _run(pipe, clock, 1_000, 3)
    assert stage.probability < 0.05
    clock.advance(30.0)  # a long quiet gap weighs as many windows
    _run(pipe, clock, 5, 5)
    assert stage.probability == 1.0
    assert stage.incoming_rate < 10
    pipe.close()


def test_window_sets_how_often_the_rate_is_measured() -> None:
    """With window=10, no measurement is made (probability stays 1) until ten seconds have passed."""
    clock = FakeClock()
    pipe = SdkPipeline(lambda nxt: AdaptiveSampler(1, window=10.0, clock=clock, next=nxt))
    stage = pipe.stage
    _run(pipe, clock, 100, 9)
    assert (stage.probability, stage.incoming_rate) == (1.0, 0.0)
    _run(pipe, clock, 100, 2)
    assert stage.probability == pytest.approx(0.01, rel=0.05)
    pipe.close()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target_per_second": 0}, "target_per_second must be > 0 and finite, got 0"),
        ({"window": 0}, "window must be > 0 and finite, got 0"),
        ({"smoothing": 1.5}, "smoothing must be > 0 and <= 1 and finite, got 1.5"),
        ({"always_keep": False}, "always_keep must be a level name or priority, got False"),
        ({"clock": "now"}, "clock must be a callable returning seconds, got 'now'"),
    ],
)
def test_rejects_bad_configuration(kwargs: dict[str, Any], message: str) -> None:
    """Configuration errors raise ValueError naming the parameter and the bad value."""
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        AdaptiveSampler(**{"target_per_second": 10, **kwargs})
