"""``ProbabilisticSampler`` and ``TraceSampler``: fixed-rate and trace-following sampling."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from fapilog.processors import ProbabilisticSampler, TraceSampler

from ._filter_support import SdkPipeline, trace_context


def test_ten_percent_keeps_every_error_and_about_a_tenth_of_info() -> None:
    """At rate 0.1 over 10,000 INFO and 1,000 ERROR records, every ERROR and about 10% of INFO remain."""
    pipe = SdkPipeline(lambda nxt: ProbabilisticSampler(0.1, rng=random.Random(7), next=nxt))
    for i in range(11_000):
        pipe.emit(f"m{i}", "ERROR" if i % 11 == 0 else "INFO")
    logs = pipe.logs()
    errors = [r for r in logs if r.log_record.severity_text == "ERROR"]
    infos = [r for r in logs if r.log_record.severity_text == "INFO"]
    assert len(errors) == 1_000
    assert 850 <= len(infos) <= 1_150
    assert pipe.stage.stats() == {"kept": len(logs), "dropped": 11_000 - len(logs)}
    pipe.close()


def test_without_an_rng_the_random_modules_state_is_left_alone() -> None:
    """By default a sampler draws from fapilog's own generator, not the application's seeded ``random``."""
    state = random.getstate()
    pipe = SdkPipeline(lambda nxt: ProbabilisticSampler(0.5, next=nxt))
    for i in range(1_000):
        pipe.emit(i)
    assert 300 < len(pipe.logs()) < 700
    pipe.close()
    assert random.getstate() == state


def test_a_seeded_rng_makes_the_choice_repeatable() -> None:
    """Two samplers with equally seeded rngs keep the same records."""
    kept = []
    for _ in range(2):
        pipe = SdkPipeline(lambda nxt: ProbabilisticSampler(0.5, rng=random.Random(3), next=nxt))
        for i in range(200):
            pipe.emit(i)
        kept.append(pipe.bodies())
        pipe.close()
    assert kept[0] == kept[1]
    assert 0 < len(kept[0]) < 200


def test_always_keep_is_configurable() -> None:
    """always_keep='WARNING' protects warnings too; None lets even errors be sampled away."""
    pipe = SdkPipeline(lambda nxt: ProbabilisticSampler(0.0, always_keep="WARNING", next=nxt))
    for level in ("INFO", "WARNING", "ERROR"):
        pipe.emit(level, level)
    assert pipe.bodies() == ["WARNING", "ERROR"]
    pipe.close()
    pipe = SdkPipeline(lambda nxt: ProbabilisticSampler(0.0, always_keep=None, next=nxt))
    pipe.emit("error", "ERROR")
    assert pipe.bodies() == []
    pipe.close()


def test_records_of_one_trace_share_one_decision() -> None:
    """With trace ids, each trace's logs are all kept or all dropped, and about rate of the traces are kept."""
    pipe = SdkPipeline(lambda nxt: ProbabilisticSampler(0.3, rng=random.Random(1), next=nxt))
    ids = random.Random(5)
    traces = [ids.getrandbits(128) or 1 for _ in range(1_000)]
    for trace_id in traces:
        context = trace_context(trace_id, sampled=True)
        for step in range(3):
            pipe.emit(f"{trace_id}:{step}", context=context)
    per_trace: dict[int, int] = {}
    for record in pipe.logs():
        per_trace[record.log_record.trace_id] = per_trace.get(record.log_record.trace_id, 0) + 1
    assert set(per_trace.values()) == {3}
    assert 220 <= len(per_trace) <= 380
    pipe.close()


def test_by_trace_false_draws_for_every_record() -> None:
    """With by_trace=False, records of one trace are sampled independently."""
    pipe = SdkPipeline(lambda nxt: ProbabilisticSampler(0.5, by_trace=False, rng=random.Random(2), next=nxt))
    context = trace_context(0xABC, sampled=True)
    for i in range(200):
        pipe.emit(i, context=context)
    assert 60 <= len(pipe.logs()) <= 140
    pipe.close()


def test_trace_sampler_follows_the_trace_flags() -> None:
    """Every log of a sampled trace is kept, every log of an unsampled trace dropped, errors always kept."""
    pipe = SdkPipeline(lambda nxt: TraceSampler(next=nxt))
    sampled, unsampled = trace_context(0x1, sampled=True), trace_context(0x2, sampled=False)
    for i in range(50):
        pipe.emit(f"s{i}", context=sampled)
        pipe.emit(f"u{i}", context=unsampled)
    pipe.emit("unsampled error", "ERROR", context=unsampled)
    pipe.emit("no trace")
    assert pipe.bodies() == [*(f"s{i}" for i in range(50)), "unsampled error", "no trace"]
    assert pipe.stage.stats() == {"kept": 52, "dropped": 50}
    pipe.close()


def test_trace_sampler_applies_rate_to_logs_without_a_trace() -> None:
    """Records outside any trace are kept with probability rate; traced ones still follow their flags."""
    pipe = SdkPipeline(lambda nxt: TraceSampler(rate=0.2, rng=random.Random(4), next=nxt))
    for i in range(1_000):
        pipe.emit(f"n{i}")
    pipe.emit("traced", context=trace_context(0x9, sampled=True))
    bodies = pipe.bodies()
    assert bodies[-1] == "traced"
    assert 140 <= len(bodies) - 1 <= 260
    pipe.close()


def test_trace_sampler_can_ignore_flags_and_sample_traces_by_id() -> None:
    """With follow_trace_flags=False, traces are kept by id at rate, whatever their flags."""
    pipe = SdkPipeline(lambda nxt: TraceSampler(follow_trace_flags=False, rate=0.5, next=nxt))
    kept_id = 1  # low 64 bits far below 0.5 * 2**64
    dropped_id = (1 << 64) - 1  # low 64 bits above it
    pipe.emit("kept", context=trace_context(kept_id, sampled=False))
    pipe.emit("dropped", context=trace_context(dropped_id, sampled=True))
    assert pipe.bodies() == ["kept"]
    pipe.close()


@pytest.mark.parametrize(
    ("factory", "kwargs", "message"),
    [
        (ProbabilisticSampler, {"rate": 1.5}, "rate must be >= 0 and <= 1 and finite, got 1.5"),
        (ProbabilisticSampler, {"rate": -0.1}, "rate must be >= 0 and <= 1 and finite, got -0.1"),
        (ProbabilisticSampler, {"rate": "10%"}, "rate must be a number, got '10%'"),
        (ProbabilisticSampler, {"rate": float("nan")}, "rate must be a number, got nan"),
        (ProbabilisticSampler, {"rate": 0.5, "always_keep": "LOUD"}, "always_keep: unknown log level 'LOUD'"),
        (TraceSampler, {"rate": 2}, "rate must be >= 0 and <= 1 and finite, got 2"),
    ],
)
def test_rejects_bad_configuration(factory: Any, kwargs: dict[str, Any], message: str) -> None:
    """Configuration errors raise ValueError naming the parameter and the bad value."""
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        factory(**kwargs)
