"""Routing by level: sink_routing settings in fapilog's pipeline, LevelRouter in a plain SDK pipeline."""

from __future__ import annotations

import json

import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

from fapilog import Settings, get_logger
from fapilog._routing import RoutingTable
from fapilog.processors import LevelRouter
from fapilog.testing import CaptureExporter


def routed(rules: list[dict[str, list[str]]], **extra: object) -> Settings:
    return Settings(sink_routing={"enabled": True, "rules": rules, **extra})


def split_output(out: str) -> tuple[list[str], list[str]]:
    """(messages of JSON lines, pretty lines) from captured stdout."""
    lines = out.splitlines()
    as_json = [json.loads(line)["log"]["message"] for line in lines if line.startswith("{")]
    pretty = [line.split(" | ")[2] for line in lines if " | " in line and not line.startswith("{")]
    return as_json, pretty


def test_records_go_only_to_the_sinks_of_their_level(capsys: pytest.CaptureFixture[str]) -> None:
    """Errors to one sink, the rest to another; nothing goes to both."""
    settings = routed(
        [
            {"levels": ["ERROR", "CRITICAL"], "sinks": ["stdout_pretty"]},
            {"levels": ["DEBUG", "INFO", "WARNING"], "sinks": ["stdout_json"]},
        ]
    )
    logger = get_logger("routed", settings=settings)
    logger.info("Routine operation")
    logger.error("Something broke!")
    logger.drain()
    as_json, pretty = split_output(capsys.readouterr().out)
    assert as_json == ["Routine operation"]
    assert pretty == ["Something broke!"]


def test_fallback_and_overlap(capsys: pytest.CaptureFixture[str]) -> None:
    """Unmatched levels go to fallback_sinks; with overlap=False only the first matching rule counts."""
    settings = routed(
        [
            {"levels": ["ERROR"], "sinks": ["stdout_pretty"]},
            {"levels": ["ERROR", "INFO"], "sinks": ["stdout_json"]},
        ],
        overlap=False,
        fallback_sinks=["stdout_json"],
    )
    logger = get_logger("routed2", settings=settings)
    logger.error("first rule only")
    logger.info("second rule")
    logger.audit("fallback")
    logger.drain()
    as_json, pretty = split_output(capsys.readouterr().out)
    assert pretty == ["first rule only"]
    assert as_json == ["second rule", "fallback"]


def test_unrouted_sinks_get_everything() -> None:
    """Sinks given directly (not named by rules) still receive every record next to the routed ones."""
    exporter = CaptureExporter()
    settings = routed([{"levels": ["ERROR"], "sinks": ["stdout_json"]}])
    logger = get_logger("mixed", settings=settings, sinks=[exporter])
    logger.info("a")
    logger.error("b")
    logger.drain()
    assert exporter.messages() == ["a", "b"]


def test_unknown_routed_sink_fails_at_start_up() -> None:
    """A rule naming a sink type that does not exist fails when the logger is built."""
    with pytest.raises(ValueError, match="unknown sink type 'nowhere'"):
        get_logger("bad", settings=routed([{"levels": ["ERROR"], "sinks": ["nowhere"]}]))


def test_routing_table_lookup() -> None:
    """RoutingTable: rule order, no repeats, fallback for unmatched and unknown levels."""
    table: RoutingTable[str] = RoutingTable([(["ERROR"], ["db", "out"]), (["error", "INFO"], ["out"])], fallback=["x"])
    assert table.targets("ERROR") == ("db", "out")
    assert table.targets("INFO") == ("out",)
    assert table.targets("DEBUG") == ("x",)
    assert table.targets("NOT_A_LEVEL") == ("x",)


def test_level_router_in_a_plain_sdk_pipeline() -> None:
    """LevelRouter hands each record to the processors of its level."""
    errors, rest = InMemoryLogRecordExporter(), InMemoryLogRecordExporter()
    router = LevelRouter(
        [(["ERROR", "CRITICAL"], SimpleLogRecordProcessor(errors))],
        fallback=[SimpleLogRecordProcessor(rest)],
    )
    provider = LoggerProvider(shutdown_on_exit=False)
    provider.add_log_record_processor(router)
    logger = provider.get_logger("t")
    logger.emit(severity_number=SeverityNumber.ERROR, severity_text="ERROR", body="e")
    logger.emit(severity_number=SeverityNumber.INFO, severity_text="INFO", body="i")
    assert [r.log_record.body for r in errors.get_finished_logs()] == ["e"]
    assert [r.log_record.body for r in rest.get_finished_logs()] == ["i"]
    assert router.force_flush()
    router.shutdown()
