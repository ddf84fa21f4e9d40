"""Filters and samplers as stages of a fapilog pipeline: dropped records never reach exporters, summaries do."""

from __future__ import annotations

import random
from typing import Any

from fapilog import get_logger
from fapilog._facade import SyncLoggerFacade
from fapilog.processors import (
    AdaptiveSampler,
    Deduplicator,
    LevelFilter,
    ProbabilisticSampler,
    RateLimiter,
    Stage,
    TraceSampler,
)
from fapilog.testing import CaptureExporter

from ._filter_support import FakeClock


def _logger(*stages: Stage) -> tuple[SyncLoggerFacade, CaptureExporter]:
    """A fresh fapilog logger with ``stages`` appended to its chain (until settings wire them)."""
    exporter = CaptureExporter()
    logger = get_logger("x", sinks=[exporter], reuse=False)
    logger._pipeline.chain.stages.extend(stages)
    return logger, exporter


def _events(exporter: CaptureExporter, name: str) -> list[dict[str, Any]]:
    return [e["log"] for e in exporter.envelopes() if e["log"].get("event") == name]


def test_level_filter_drops_before_the_exporter() -> None:
    """Records below the filter's level never reach the exporter and are counted as filtered."""
    stage = LevelFilter("WARNING", per_logger={"x.audit": "INFO"})
    logger, exporter = _logger(stage)
    logger.info("dropped")
    logger.warning("kept")
    logger.error("also kept")
    logger.drain()
    assert exporter.messages() == ["kept", "also kept"]
    assert logger._pipeline.chain.filtered == 1
    assert stage.stats() == {"kept": 2, "dropped": 1}


def test_stages_run_in_order_and_a_drop_stops_later_stages() -> None:
    """A record the level filter drops is not seen by the sampler after it; each stage counts its own."""
    level, sampler = LevelFilter("INFO"), ProbabilisticSampler(0.0)
    logger, exporter = _logger(level, sampler)
    logger.set_level("DEBUG")
    logger.debug("below the filter")
    logger.info("sampled away")
    logger.error("kept")
    logger.drain()
    assert exporter.messages() == ["kept"]
    assert level.stats() == {"kept": 2, "dropped": 1}
    assert sampler.stats() == {"kept": 1, "dropped": 1}


def test_sampling_keeps_every_error() -> None:
    """Through fapilog at 10%, every ERROR is exported and roughly a tenth of INFO."""
    logger, exporter = _logger(ProbabilisticSampler(0.1, rng=random.Random(9)))
    for i in range(2_000):
        logger.info("info", i=i)
        if i % 10 == 0:
            logger.error("error", i=i)
    logger.drain()
    levels = [e["log"]["level"] for e in exporter.envelopes()]
    assert levels.count("ERROR") == 200
    assert 130 <= levels.count("INFO") <= 270


def test_trace_sampler_uses_the_captured_span_context() -> None:
    """Records logged inside an unsampled span are dropped; inside a sampled span kept."""
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    logger, exporter = _logger(TraceSampler())
    for trace_id, flags in ((0xA, TraceFlags.SAMPLED), (0xB, TraceFlags.DEFAULT)):
        span = NonRecordingSpan(SpanContext(trace_id, 0x1, is_remote=False, trace_flags=TraceFlags(flags)))
        with trace.use_span(span):
            logger.info(f"trace {trace_id:x}")
    logger.drain()
    assert exporter.messages() == ["trace a"]


def test_rate_limit_summary_arrives_through_the_exporter() -> None:
    """A flood is cut to the burst, and a summary record with the exact count is exported (at the latest when
    the logger is drained); nothing more is suppressed afterwards, so no second summary."""
    clock = FakeClock()
    logger, exporter = _logger(RateLimiter(1.0, 3, summary_interval=30.0, clock=clock))
    for i in range(20):
        logger.info("flood", i=i)
    logger.drain()
    assert exporter.messages()[:3] == ["flood"] * 3
    clock.advance(30.0)
    logger.info("after")
    logger.drain()
    assert exporter.messages().count("flood") == 3
    (summary,) = _events(exporter, "fapilog.rate_limited")
    assert summary["level"] == "WARNING"
    assert summary["logger"] == "fapilog"
    assert summary["message"] == "rate limit suppressed 17 records for key=x"
    assert summary["data"] == {"rate_limit.key": "x", "rate_limit.key_by": "logger", "rate_limit.suppressed": 17}


def test_duplicate_summary_arrives_through_the_exporter() -> None:
    """Repeats of a message are suppressed, and the summary with their count is exported after the window."""
    clock = FakeClock()
    logger, exporter = _logger(Deduplicator(5.0, clock=clock))
    for _ in range(10):
        logger.warning("cache miss")
    logger.drain()
    assert exporter.messages().count("cache miss") == 1
    clock.advance(5.0)
    logger.info("next")
    logger.drain()
    (summary,) = _events(exporter, "fapilog.duplicates")
    assert (summary["level"], summary["logger"]) == ("WARNING", "x")
    assert summary["message"] == "repeated 9 times within 5s: cache miss"
    assert summary["data"]["duplicates.count"] == 9


def test_adaptive_sampler_keeps_errors_in_fapilog() -> None:
    """With a target far below the input rate, INFO is thinned and every ERROR still arrives.

    The stage reads its clock when the worker processes a record, so each second's records are drained
    before the fake clock moves on.
    """
    clock = FakeClock()
    sampler = AdaptiveSampler(10, clock=clock, rng=random.Random(1))
    logger, exporter = _logger(sampler)
    for second in range(10):
        for i in range(200):
            logger.info("info", i=i)
        logger.error("error", second=second)
        logger.drain()
        clock.advance(1.0)
    levels = [e["log"]["level"] for e in exporter.envelopes()]
    assert levels.count("ERROR") == 10
    assert 200 + 9 * 10 * 0.5 <= levels.count("INFO") <= 200 + 9 * 10 * 1.5  # the first second passes whole


def test_drain_exports_the_final_summaries() -> None:
    """A drain makes and exports the summary of records suppressed since the last one."""
    logger, exporter = _logger(RateLimiter(1.0, 1, clock=FakeClock()))
    for _ in range(5):
        logger.info("flood")
    logger.drain()
    assert [e["message"] for e in _events(exporter, "fapilog.rate_limited")] == [
        "rate limit suppressed 4 records for key=x"
    ]
