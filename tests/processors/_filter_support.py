"""Shared by the filter and sampler tests: a fake clock, SDK pipelines around a stage, emitting helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.context import Context
from opentelemetry.sdk._logs import LoggerProvider, LogRecordProcessor, ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from fapilog.processors import Stage

SEVERITY = {
    "DEBUG": SeverityNumber.DEBUG,
    "INFO": SeverityNumber.INFO,
    "WARNING": SeverityNumber.WARN,
    "ERROR": SeverityNumber.ERROR,
    "CRITICAL": SeverityNumber.FATAL,
}


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


S = TypeVar("S", bound=Stage)


class SdkPipeline(Generic[S]):
    """A plain OpenTelemetry ``LoggerProvider`` whose only processor is the stage, wrapping an in-memory export."""

    def __init__(self, make_stage: Callable[[LogRecordProcessor], S]) -> None:
        self.exporter = InMemoryLogRecordExporter()
        self.stage = make_stage(SimpleLogRecordProcessor(self.exporter))
        self.provider = LoggerProvider(shutdown_on_exit=False)
        self.provider.add_log_record_processor(self.stage)

    def emit(
        self,
        body: Any = "m",
        level: str = "INFO",
        *,
        logger: str = "t",
        attributes: dict[str, Any] | None = None,
        context: Context | None = None,
    ) -> None:
        self.provider.get_logger(logger).emit(
            severity_number=SEVERITY[level], severity_text=level, body=body, attributes=attributes, context=context
        )

    def logs(self) -> list[ReadableLogRecord]:
        return list(self.exporter.get_finished_logs())

    def bodies(self) -> list[Any]:
        return [r.log_record.body for r in self.logs()]

    def events(self, name: str) -> list[ReadableLogRecord]:
        """The exported records with event name ``name`` (the stage's summaries)."""
        return [r for r in self.logs() if r.log_record.event_name == name]

    def close(self) -> None:
        self.provider.shutdown()


def trace_context(trace_id: int, *, sampled: bool) -> Context:
    """A context whose current span has ``trace_id`` and the sampled flag set or not."""
    flags = TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)
    span = NonRecordingSpan(SpanContext(trace_id, 0x1234, is_remote=False, trace_flags=flags))
    return trace.set_span_in_context(span, Context())
