"""Stages from settings: core.filters / filter_config build the filters, in order, with their options."""

from __future__ import annotations

from typing import Any

import pytest

from fapilog import Settings, SettingsError, SyncLoggerFacade, get_logger
from fapilog.testing import CaptureExporter


def logger_with(**settings: Any) -> tuple[SyncLoggerFacade, CaptureExporter]:
    exporter = CaptureExporter()
    return get_logger("stages", settings=Settings(**settings), sinks=[exporter], reuse=False), exporter


def test_stage_order_is_enrichers_filters_processors_redactors() -> None:
    """The pipeline runs the named stages in section order, each section in the order given."""
    logger, _ = logger_with(core={"filters": ["rate_limit", "level"], "enrichers": ["context_vars"]})
    names = [getattr(s, "name", None) for s in logger._pipeline.chain.stages]
    assert names == ["context_vars", "rate_limit", "level", "url_credentials"]


def test_level_filter_from_settings_with_per_logger_levels() -> None:
    """filter_config.level: a global minimum plus stricter levels for noisy logger prefixes."""
    exporter = CaptureExporter()
    settings = Settings(
        core={"log_level": "DEBUG", "filters": ["level"]},
        filter_config={"level": {"min_level": "DEBUG", "per_logger": {"noisy": "ERROR"}}},
    )
    quiet = get_logger("app", settings=settings, sinks=[exporter], reuse=False)
    noisy = get_logger("noisy.db", settings=settings, sinks=[exporter], reuse=False)
    quiet.debug("kept")
    noisy.warning("dropped")
    noisy.error("kept too")
    quiet.drain()
    noisy.drain()
    assert sorted(exporter.messages()) == ["kept", "kept too"]


def test_sampling_rate_zero_keeps_only_errors() -> None:
    """filter_config.sampling.rate=0 drops every INFO and keeps every ERROR."""
    logger, exporter = logger_with(core={"filters": ["sampling"]}, filter_config={"sampling": {"rate": 0.0}})
    for i in range(50):
        logger.info("i", i=i)
        logger.error("e", i=i)
    logger.drain()
    assert exporter.messages() == ["e"] * 50


def test_rate_limit_burst_from_settings() -> None:
    """filter_config.rate_limit: a burst of 5 per logger, the rest counted in one summary."""
    logger, exporter = logger_with(
        core={"filters": ["rate_limit"]}, filter_config={"rate_limit": {"rate": 0.001, "burst": 5}}
    )
    for i in range(25):
        logger.info("flood", i=i)
    logger.drain()
    messages = exporter.messages()
    assert messages.count("flood") == 5
    summaries = [e for e in exporter.envelopes() if e["log"].get("event") == "fapilog.rate_limited"]
    assert summaries[0]["log"]["data"]["rate_limit.suppressed"] == 20


def test_first_occurrence_from_settings() -> None:
    """filter_config.first_occurrence: repeats within the window are suppressed and counted."""
    logger, exporter = logger_with(core={"filters": ["first_occurrence"]})
    for _ in range(4):
        logger.warning("disk almost full")
    logger.drain()
    messages = exporter.messages()
    assert messages.count("disk almost full") == 1
    assert "repeated 3 times within 60s: disk almost full" in messages


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FAPILOG_FILTER_CONFIG__SAMPLING__RATE", "1.5"),
        ("FAPILOG_FILTER_CONFIG__RATE_LIMIT__BURST", "0"),
        ("FAPILOG_FILTER_CONFIG__LEVEL__MIN_LEVEL", "LOUD"),
    ],
)
def test_bad_filter_options_name_the_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    """An invalid filter option fails at start-up naming its environment variable."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        Settings()
