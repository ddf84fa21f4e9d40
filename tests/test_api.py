"""Entry points: get_logger and friends, caching, argument conflicts, runtime, configure."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from opentelemetry import _logs as otel_logs
from opentelemetry._logs import SeverityNumber

import fapilog
from fapilog import (
    Settings,
    clear_logger_cache,
    configure,
    get_async_logger,
    get_cached_loggers,
    get_logger,
    runtime,
    runtime_async,
)
from fapilog.testing import CaptureExporter


def test_public_all_is_sorted_and_complete() -> None:
    """fapilog.__all__ is sorted, every name resolves, and it holds what the spec promises so far."""
    assert fapilog.__all__ == sorted(fapilog.__all__)
    for name in fapilog.__all__:
        assert hasattr(fapilog, name)
    promised = {
        "get_logger",
        "get_async_logger",
        "runtime",
        "runtime_async",
        "configure",
        "Settings",
        "DrainResult",
        "LogEvent",
        "list_presets",
        "sinks",
        "get_cached_loggers",
        "clear_logger_cache",
        "install_shutdown_handlers",
        "register_level",
        "create_task_with_context",
        "preserve_context",
        "run_in_executor_with_context",
        "__version__",
    }
    assert promised <= set(fapilog.__all__)


def test_loggers_are_cached_by_name_unless_reuse_is_false() -> None:
    """The same name returns the same logger; reuse=False returns a new one."""
    a = get_logger("svc")
    assert get_logger("svc") is a
    assert get_logger("svc", reuse=False) is not a
    assert get_logger("other") is not a
    assert get_cached_loggers()["svc"] is a
    clear_logger_cache()
    assert get_logger("svc") is not a


def test_default_name_is_root() -> None:
    """A logger without a name is called root."""
    assert get_logger().name == "root"


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"format": "json", "settings": Settings()}, ("format", "settings")),
        ({"preset": "dev", "settings": Settings()}, ("preset", "settings")),
        ({"environment": "local", "settings": Settings()}, ("environment", "settings")),
        ({"environment": "local", "preset": "dev"}, ("environment", "preset")),
    ],
)
def test_conflicting_arguments_raise_naming_both(kwargs: dict[str, Any], names: tuple[str, str]) -> None:
    """Two ways of configuring one logger are refused with a ValueError naming both."""
    with pytest.raises(ValueError, match=f"'{names[0]}' and '{names[1]}'"):
        get_logger(**kwargs)


def test_unknown_preset_and_environment_are_errors() -> None:
    """An unknown preset or environment name fails, listing the valid ones."""
    with pytest.raises(ValueError, match="production"):
        get_logger(preset="prod")
    with pytest.raises(ValueError, match="kubernetes"):
        get_logger(environment="mars")


def test_async_logger_methods_are_awaitable() -> None:
    """get_async_logger returns a logger whose methods are awaited, and drain works without blocking."""
    exporter = CaptureExporter()

    async def main() -> None:
        logger = await get_async_logger("a", sinks=[exporter])
        await logger.info("one")
        await logger.exception("two", exc=RuntimeError("x"))
        assert await logger.flush()
        result = await logger.drain()
        assert result.processed == 2

    asyncio.run(main())
    assert exporter.messages() == ["one", "two"]


def test_runtime_drains_on_exit_with_counts_that_add_up() -> None:
    """runtime() yields a logger and drains it at the end; the DrainResult adds up."""
    exporter = CaptureExporter()
    with runtime(settings=Settings(sinks=[])) as log:
        log._pipeline.chain.exporters[:] = [exporter]  # in place of the console
        for i in range(100):
            log.info("m", i=i)
    result = log.last_drain
    assert result is not None
    assert result.submitted == result.processed + result.dropped == 100
    assert len(exporter.records) == 100
    assert exporter.shut_down  # runtime closes its exporters


def test_runtime_refuses_a_running_loop_unless_allowed() -> None:
    """runtime() inside an event loop raises unless allow_in_event_loop=True."""

    async def main() -> None:
        with pytest.raises(RuntimeError, match="runtime_async"), runtime():
            pass
        with runtime(allow_in_event_loop=True) as log:
            log.info("ok")

    asyncio.run(main())


def test_runtime_async_drains_on_exit(capsys: pytest.CaptureFixture[str]) -> None:
    """runtime_async() drains when the block ends, printing JSON when stdout is not a terminal."""

    async def main() -> None:
        async with runtime_async() as log:
            await log.info("hello", n=1)
        assert log.last_drain is not None
        assert log.last_drain.processed == 1

    asyncio.run(main())
    assert '"message":"hello"' in capsys.readouterr().out


def test_configure_is_idempotent_and_moves_existing_loggers() -> None:
    """configure() twice with the same arguments keeps the pipeline; new arguments move cached loggers."""
    first = CaptureExporter()
    second = CaptureExporter()
    logger = get_logger("moved")
    p1 = configure(sinks=[first])
    assert configure(sinks=[first]) is p1
    logger.info("to first")
    p2 = configure(sinks=[second])
    assert p2 is not p1
    logger.info("to second")
    get_logger("moved").drain()
    assert first.messages() == ["to first"]
    assert second.messages() == ["to second"]
    assert first.shut_down


def test_configure_can_install_the_otel_logger_provider() -> None:
    """With set_otel_provider, records from OpenTelemetry API loggers flow through the fapilog pipeline."""
    exporter = CaptureExporter()
    pipeline = configure(sinks=[exporter], set_otel_provider=True)
    otel_logger = otel_logs.get_logger_provider().get_logger("third.party")
    otel_logger.emit(severity_number=SeverityNumber.WARN, severity_text="WARN", body="from otel", attributes={"k": 1})
    pipeline.flush()
    (record,) = exporter.records
    assert record.log_record.body == "from otel"
    assert record.instrumentation_scope is not None
    assert record.instrumentation_scope.name == "third.party"
    assert exporter.envelopes()[0]["log"]["data"] == {"k": 1}


def test_format_chooses_the_console_exporter(capsys: pytest.CaptureFixture[str]) -> None:
    """format='pretty' writes pretty lines, format='json' envelope lines, 'auto' JSON when not a TTY."""
    for fmt in ("pretty", "json", "auto"):
        log = get_logger(f"fmt-{fmt}", format=fmt)
        log.info("hello", k=1)
        log.drain()
    pretty, as_json, auto = capsys.readouterr().out.splitlines()
    assert " | INFO     | hello k=1" in pretty
    assert as_json.startswith('{"log":')
    assert auto.startswith('{"log":')


def test_settings_sinks_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    """Settings(sinks=["stdout_pretty"]) picks exporters by name; an unknown name fails at start-up."""
    log = get_logger("named", settings=Settings(sinks=["stdout_pretty"]))
    log.info("hi")
    log.drain()
    assert "| INFO     | hi" in capsys.readouterr().out
    with pytest.raises(ValueError, match="unknown sink type 'nope'"):
        get_logger("bad", settings=Settings(sinks=["nope"]))


def test_lambda_environment_is_detected(monkeypatch: pytest.MonkeyPatch) -> None:
    """On AWS Lambda the auto-detected settings use small batches and a small queue."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "fn")
    logger = get_logger("lambda-check", reuse=False)
    core = logger._pipeline.settings.core
    assert (core.batch_max_size, core.max_queue_size) == (10, 1_000)
    assert get_logger("explicit", environment="kubernetes")._pipeline.settings.core.log_level == "INFO"


def test_auto_detect_false_ignores_the_detected_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """auto_detect=False builds the logger from the environment variables alone, nothing detected."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "fn")
    plain = get_logger("plain", auto_detect=False)
    detected = get_logger("detected")
    assert plain._pipeline.settings.core.max_queue_size == 10_000
    assert detected._pipeline.settings.core.max_queue_size == 1_000


def test_otel_global_provider_follows_later_configure_calls() -> None:
    """After configure(set_otel_provider=True), OTel API loggers emit through whichever pipeline configure set last."""
    first, second = CaptureExporter(), CaptureExporter()
    configure(sinks=[first], set_otel_provider=True)
    otel_logger = otel_logs.get_logger_provider().get_logger("lib")
    otel_logger.emit(severity_number=SeverityNumber.INFO, severity_text="INFO", body="one")
    pipeline = configure(sinks=[second], set_otel_provider=True)
    otel_logger.emit(severity_number=SeverityNumber.INFO, severity_text="INFO", body="two")
    pipeline.flush()
    assert first.messages() == ["one"]
    assert second.messages() == ["two"]
