"""LoggerBuilder / AsyncLoggerBuilder: validated at call time, equivalent to the same Settings."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from fapilog import AsyncLoggerBuilder, LoggerBuilder, Settings
from fapilog.testing import CaptureExporter


def test_builder_settings_equal_hand_written_settings() -> None:
    """Each builder method sets the field the settings reference documents."""
    built = (
        LoggerBuilder()
        .with_level("warning")
        .with_queue_size(500, max_bytes="1 MB")
        .with_batch_size(32)
        .with_batch_timeout("50ms")
        .with_backpressure("drop_oldest", wait_ms=5)
        .with_shutdown_timeout(7)
        .with_diagnostics(output="stdout")
        .with_context(region="eu")
        .with_service("shop", version="1.0", environment="prod")
        .add_stdout("pretty")
        .to_settings()
    )
    expected = Settings(
        service="shop",
        version="1.0",
        env="prod",
        sinks=["stdout_pretty"],
        core={
            "log_level": "WARNING",
            "max_queue_size": 500,
            "max_queue_bytes": 1_000_000,
            "batch_max_size": 32,
            "batch_timeout_seconds": 0.05,
            "backpressure_policy": "drop_oldest",
            "backpressure_wait_ms": 5,
            "shutdown_timeout_seconds": 7.0,
            "atexit_drain_timeout_seconds": 7.0,
            "internal_logging_enabled": True,
            "diagnostics_output": "stdout",
            "default_bound_context": {"region": "eu"},
        },
    )
    assert built == expected


def test_builder_choices_beat_environment_which_beats_the_preset(monkeypatch: pytest.MonkeyPatch) -> None:
    """Precedence: builder call > FAPILOG_* variable > preset > default."""
    monkeypatch.setenv("FAPILOG_CORE__BATCH_MAX_SIZE", "77")
    monkeypatch.setenv("FAPILOG_CORE__LOG_LEVEL", "ERROR")
    settings = LoggerBuilder().with_preset("production").with_level("DEBUG").to_settings()
    assert settings.core.log_level == "DEBUG"  # builder
    assert settings.core.batch_max_size == 77  # environment
    assert settings.core.max_queue_size == 100_000  # preset


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda b: b.with_level("LOUD"), "unknown log level"),
        (lambda b: b.with_queue_size(0), "with_queue_size"),
        (lambda b: b.with_queue_size(10, max_bytes="lots"), "with_queue_size"),
        (lambda b: b.with_batch_size(-1), "with_batch_size"),
        (lambda b: b.with_batch_timeout("soon"), "with_batch_timeout"),
        (lambda b: b.with_backpressure("panic"), "with_backpressure"),
        (lambda b: b.with_backpressure(wait_ms=-1), "with_backpressure"),
        (lambda b: b.with_shutdown_timeout(0), "with_shutdown_timeout"),
        (lambda b: b.with_diagnostics(output="syslog"), "with_diagnostics"),
        (lambda b: b.with_preset("turbo"), "unknown preset"),
        (lambda b: b.add_stdout("xml"), "add_stdout"),
        (lambda b: b.add_sink(42), "add_sink"),
        (lambda b: b.with_name(""), "with_name"),
    ],
)
def test_bad_arguments_fail_at_call_time(call: Any, message: str) -> None:
    """A bad argument raises ValueError from the method itself, naming it."""
    with pytest.raises(ValueError, match=message):
        call(LoggerBuilder())


def test_build_logs_through_the_configured_pipeline() -> None:
    """build() returns a working logger with the builder's sinks, level and context."""
    exporter = CaptureExporter()
    logger = LoggerBuilder("built").with_level("INFO").add_sink(exporter).with_context(region="eu").build()
    logger.debug("hidden")
    logger.info("shown")
    logger.drain()
    (env,) = exporter.envelopes()
    assert env["log"]["logger"] == "built"
    assert env["log"]["context"] == {"region": "eu"}


def test_reuse_caches_by_name() -> None:
    """Without reuse each build is new; with reuse the same name gives the same logger."""
    assert LoggerBuilder("x").build() is not LoggerBuilder("x").build()
    first = LoggerBuilder("y").reuse().build()
    assert LoggerBuilder("y").reuse().with_level("ERROR").build() is first


def test_async_builder_builds_an_async_logger() -> None:
    """AsyncLoggerBuilder.build_async() gives a logger whose methods are awaited."""
    exporter = CaptureExporter()

    async def main() -> None:
        logger = await AsyncLoggerBuilder("a").with_preset("fastapi").add_sink(exporter).build_async()
        await logger.info("hello")
        await logger.drain()

    asyncio.run(main())
    assert exporter.messages() == ["hello"]


def test_with_redaction_adds_to_the_presets_redactors() -> None:
    """with_redaction masks the given fields and patterns on top of what the preset already masks."""
    exporter = CaptureExporter()
    logger = (
        LoggerBuilder("red")
        .with_preset("production")
        .with_redaction(fields=["internal_note"], patterns=[r"ORDER-\d{6}"])
        .add_sink(exporter)
        .build()
    )
    logger.info("order ORDER-123456 placed", internal_note="call back", password="pw", author="ann")
    logger.drain()
    (env,) = exporter.envelopes()
    assert env["log"]["message"] == "order *** placed"
    assert env["log"]["data"] == {"internal_note": "***", "password": "***", "author": "ann"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"patterns": ["(a+)+$"]}, "unsafe pattern"),
        ({"presets": ["gdpr"]}, "unknown redaction preset"),
    ],
)
def test_with_redaction_checks_at_call_time(kwargs: dict[str, Any], message: str) -> None:
    """A catastrophic pattern or an unknown preset fails in with_redaction itself."""
    with pytest.raises(ValueError, match=message):
        LoggerBuilder().with_redaction(**kwargs)


def test_add_file_writes_rotating_files(tmp_path: Any) -> None:
    """add_file(directory, ...) logs JSON lines into that directory; bad options fail at call time."""
    logger = LoggerBuilder("files").add_file(tmp_path / "logs", max_bytes="1 MB", max_files=3).build()
    logger.info("to disk", n=1)
    logger.drain()
    (path,) = (tmp_path / "logs").glob("*.jsonl")
    assert '"message":"to disk"' in path.read_text()
    with pytest.raises(ValueError, match="add_file"):
        LoggerBuilder().add_file(tmp_path, max_bytes="lots")


def test_network_sinks_are_checked_at_call_time_and_configured_from_the_builder() -> None:
    """add_loki/add_cloudwatch/add_http/add_webhook/add_postgres check options at once; with_circuit_breaker
    sets the breakers of the network sections."""
    builder = (
        LoggerBuilder()
        .add_loki("http://127.0.0.1:9", labels={"service": "shop"})
        .add_cloudwatch("/shop/prod", region="eu-west-1")
        .add_http("http://127.0.0.1:9/ingest", batch_format="ndjson")
        .add_webhook("http://127.0.0.1:9/hook", secret="k")
        .add_postgres("postgresql://u@127.0.0.1:9/db")
        .with_circuit_breaker(enabled=False, threshold=3)
    )
    settings = builder.to_settings()
    types = [spec["type"] for spec in settings.sinks if isinstance(spec, dict)]
    assert types == ["loki", "cloudwatch", "http", "webhook", "postgres"]
    assert (settings.loki.circuit_breaker_enabled, settings.cloudwatch.circuit_breaker_threshold) == (False, 3)
    with pytest.raises(ValueError, match="add_http"):
        LoggerBuilder().add_http("http://x", batch_format="xml")
    with pytest.raises(ValueError, match="add_loki"):
        LoggerBuilder().add_loki("http://x", batch_size=0)
    with pytest.raises(ValueError, match="with_circuit_breaker"):
        LoggerBuilder().with_circuit_breaker(threshold=0)


def test_sampling_rate_limit_filters_and_enrichers_from_the_builder() -> None:
    """with_sampling / with_rate_limit / with_filters / with_enrichers set the same settings and behave so."""
    settings = (
        LoggerBuilder()
        .with_enrichers("context_vars")
        .with_sampling(0.0)
        .with_rate_limit(100.0, burst=5)
        .with_filters("level")
        .to_settings()
    )
    assert settings.core.enrichers == ["context_vars"]
    assert settings.core.filters == ["sampling", "rate_limit", "level"]
    assert (settings.filter_config.sampling.rate, settings.filter_config.rate_limit.burst) == (0.0, 5)
    exporter = CaptureExporter()
    logger = LoggerBuilder("sampled").with_sampling(0.0).add_sink(exporter).build()
    logger.info("sampled out")
    logger.error("always kept")
    logger.drain()
    assert exporter.messages() == ["always kept"]
    with pytest.raises(ValueError, match="with_sampling"):
        LoggerBuilder().with_sampling(2.0)
    with pytest.raises(ValueError, match="with_enrichers"):
        LoggerBuilder().with_enrichers("")


def test_with_routing_routes_by_level(capsys: pytest.CaptureFixture[str]) -> None:
    """with_routing sends each level to its sinks; a rule with an unknown level fails at call time."""
    logger = LoggerBuilder("routed").with_routing([(["ERROR"], ["stdout_pretty"]), (["INFO"], ["stdout_json"])]).build()
    logger.info("routine")
    logger.error("broken")
    logger.drain()
    out = capsys.readouterr().out.splitlines()
    assert any(line.startswith('{"log":') and '"routine"' in line for line in out)
    assert any(" | ERROR    | broken" in line for line in out)
    assert not any('"broken"' in line for line in out)
    with pytest.raises(ValueError, match="with_routing"):
        LoggerBuilder().with_routing([(["LOUD"], ["stdout_json"])])
