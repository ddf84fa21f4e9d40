"""Shared by the redaction tests: stages in a plain SDK pipeline, stages in a fapilog logger, and renderings."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider, LogRecordProcessor, ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

from fapilog import get_logger
from fapilog._facade import SyncLoggerFacade
from fapilog._render import envelope_lines, pretty_line
from fapilog._settings import Settings
from fapilog.processors import Stage
from fapilog.testing import CaptureExporter


class Sdk:
    """A plain OpenTelemetry ``LoggerProvider``: the given processors, then a simple in-memory export."""

    def __init__(self, *processors: LogRecordProcessor, export: bool = True) -> None:
        self.exporter = InMemoryLogRecordExporter()
        self.provider = LoggerProvider(shutdown_on_exit=False)
        for processor in processors:
            self.provider.add_log_record_processor(processor)
        if export:
            self.provider.add_log_record_processor(SimpleLogRecordProcessor(self.exporter))

    def emit(self, body: Any = "m", attributes: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self.provider.get_logger("t").emit(
            severity_number=SeverityNumber.INFO, severity_text="INFO", body=body, attributes=attributes, **kwargs
        )

    def records(self) -> list[ReadableLogRecord]:
        return list(self.exporter.get_finished_logs())

    def one(self) -> tuple[Any, dict[str, Any]]:
        """The body and attributes of the one record exported, as plain values (the SDK makes lists tuples)."""
        (record,) = self.records()
        return plain(record.log_record.body), plain(dict(record.log_record.attributes or {}))


def plain(value: Any) -> Any:
    """``value`` with tuples as lists and mappings as dicts, all the way down."""
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    return value


def wrapped(stage_type: type[Stage], *args: Any, **kwargs: Any) -> Sdk:
    """An SDK pipeline whose one processor is a stage wrapping the in-memory export (so it can drop)."""
    exporter = InMemoryLogRecordExporter()
    sdk = Sdk(stage_type(*args, next=SimpleLogRecordProcessor(exporter), **kwargs), export=False)
    sdk.exporter = exporter
    return sdk


@contextmanager
def fapilog_logger(
    *stages: Stage, settings: Settings | None = None, sinks: Sequence[Any] = ()
) -> Iterator[tuple[SyncLoggerFacade, CaptureExporter]]:
    """A fresh fapilog logger exporting to a ``CaptureExporter`` (then ``sinks``), with ``stages`` in its chain.

    The stages are appended to the worker's chain by hand until settings name them.
    """
    capture = CaptureExporter()
    logger = get_logger("redaction", settings=settings, sinks=[capture, *sinks], reuse=False)
    logger._pipeline.chain.stages.extend(stages)
    try:
        yield logger, capture
    finally:
        logger.drain()


def renderings(capture: CaptureExporter) -> str:
    """Everything the captured records render to: JSON envelope lines and pretty lines, as one text."""
    json_text = envelope_lines(capture.records).decode("utf-8", "backslashreplace")
    pretty = "".join(pretty_line(r, colors=False) for r in capture.records)
    return json_text + pretty


def nested(depth: int, leaf: Any, key: str = "k") -> Any:
    """``{key: {key: ... leaf}}``, ``depth`` levels deep."""
    value = leaf
    for _ in range(depth):
        value = {key: value}
    return value
