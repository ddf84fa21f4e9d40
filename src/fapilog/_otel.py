"""The one module that touches OpenTelemetry's logs SDK (``opentelemetry.sdk._logs``), still private upstream.

Everything else in fapilog imports the SDK's log types from here, so an SDK upgrade is checked in one place.
The SDK builds a ``ReadWriteLogRecord`` by wrapping its attributes in ``BoundedAttributes`` (about 6 us
per record, with a lock). fapilog coerces attributes itself, so it builds the same SDK record types without
that wrapper: ``Record`` is a ``ReadWriteLogRecord`` (and ``ApiRecord`` an API ``LogRecord``) whose
constructors only assign fields. Exporters receive these records where the SDK would pass
``ReadableLogRecord``: the two classes have the same fields, and exporters only read them.

It is also the one module that reads OpenTelemetry's context internals: ``current_span_context`` takes the
current span from the default runtime context's context variable (and follows the public API whenever another
runtime context is in use).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from opentelemetry import context as _context_api
from opentelemetry._logs import LogRecord as _ApiLogRecord
from opentelemetry._logs import SeverityNumber
from opentelemetry.context import Context
from opentelemetry.context.contextvars_context import ContextVarsRuntimeContext
from opentelemetry.sdk._logs import (
    LoggerProvider,
    LogRecordLimits,
    LogRecordProcessor,
    ReadableLogRecord,
    ReadWriteLogRecord,
)
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import INVALID_SPAN_CONTEXT, Span, SpanContext, TraceFlags, get_current_span
from opentelemetry.trace.propagation import _SPAN_KEY

__all__ = [
    "ApiRecord",
    "InstrumentationScope",
    "LogRecordExportResult",
    "LogRecordExporter",
    "LogRecordProcessor",
    "LoggerProvider",
    "ReadWriteLogRecord",
    "ReadableLogRecord",
    "Record",
    "Resource",
    "SeverityNumber",
    "CAPTURE_WIDTH",
    "Capture",
    "as_readable",
    "current_span_context",
    "from_capture",
    "new_record",
]

_LIMITS = LogRecordLimits()
_NO_FLAGS = TraceFlags(0)
_INVALID_SPAN = INVALID_SPAN_CONTEXT  # what the caller captures outside any span: known invalid, no check needed
_NO_CONTEXT = Context()  # the caller's span context is captured as ids; the record keeps no context


# OpenTelemetry's default runtime context keeps the current Context in one context variable; while it is the
# one in use, the caller reads the span from that variable directly (the public route is four Python calls).
_RUNTIME = _context_api._RUNTIME_CONTEXT
_read_context = _RUNTIME._current_context.get if type(_RUNTIME) is ContextVarsRuntimeContext else None


def current_span_context() -> SpanContext:
    """``get_current_span().get_span_context()``, the same answer by a shorter route where possible."""
    if _read_context is None or _context_api._RUNTIME_CONTEXT is not _RUNTIME:
        return get_current_span().get_span_context()
    span = _read_context().get(_SPAN_KEY)
    if span is None:
        return _INVALID_SPAN
    return span.get_span_context() if isinstance(span, Span) else _INVALID_SPAN


class ApiRecord(_ApiLogRecord):
    """An API ``LogRecord`` built from captured values, without re-reading the current context."""

    # Its fields as slots: quicker to set and read than entries of the instance's dict, on every record.
    __slots__ = (
        "attributes",
        "body",
        "context",
        "event_name",
        "exception",
        "observed_timestamp",
        "severity_number",
        "severity_text",
        "span_id",
        "timestamp",
        "trace_flags",
        "trace_id",
    )

    def __init__(
        self,
        timestamp: int,
        severity_number: SeverityNumber,
        severity_text: str,
        body: Any,
        attributes: dict[str, Any],
        trace_id: int,
        span_id: int,
        trace_flags: TraceFlags,
        event_name: str | None,
        exception: BaseException | None,
    ) -> None:
        self.timestamp = timestamp
        self.observed_timestamp = timestamp
        self.context = _NO_CONTEXT
        self.trace_id = trace_id
        self.span_id = span_id
        self.trace_flags = trace_flags
        self.severity_text = severity_text
        self.severity_number = severity_number
        self.body = body
        self.attributes = attributes
        self.event_name = event_name
        self.exception = exception


class Record(ReadWriteLogRecord):
    """An SDK ``ReadWriteLogRecord`` made by fapilog.

    Besides the SDK fields it carries what the caller captured for the worker to finish: the bound context
    (merged into the attributes on the worker), the raw exception (formatted on the worker) and an estimate
    of its size in bytes (for the queue's byte limit).
    """

    # Class-level defaults: set per record only when the caller has something to say.
    context: Mapping[str, Any] | None = None
    size: int = 512
    checked: bool = False  # the caller found every attribute representable as it is: none to coerce

    def __init__(
        self,
        log_record: _ApiLogRecord,
        resource: Resource | None = None,
        instrumentation_scope: InstrumentationScope | None = None,
        limits: LogRecordLimits = _LIMITS,
    ) -> None:
        # The SDK's fields, assigned; no BoundedAttributes wrapper (fapilog coerces attributes itself).
        self.log_record = log_record
        self.resource = resource
        self.instrumentation_scope = instrumentation_scope
        self.limits = limits


def new_record(
    timestamp: int,
    severity_number: SeverityNumber,
    severity_text: str,
    body: Any,
    attributes: dict[str, Any],
    scope: InstrumentationScope,
    span_context: Any,
    exception: BaseException | None = None,
    event_name: str | None = None,
) -> Record:
    """Build a record from values captured on the calling thread."""
    if span_context is not _INVALID_SPAN and span_context is not None and span_context.is_valid:
        api = ApiRecord(
            timestamp,
            severity_number,
            severity_text,
            body,
            attributes,
            span_context.trace_id,
            span_context.span_id,
            span_context.trace_flags,
            event_name,
            exception,
        )
    else:
        api = ApiRecord(
            timestamp, severity_number, severity_text, body, attributes, 0, 0, _NO_FLAGS, event_name, exception
        )
    return Record(api, None, scope)


Capture = tuple[Any, ...]
"""What a log call captures on the caller's thread, in this order: timestamp (ns), SeverityNumber, severity
text, body, attributes, InstrumentationScope, SpanContext, exception or None, bound context or None, whether
the caller checked that every attribute value is representable as it is (so the worker need not), and the
estimated size in bytes. The worker turns it into a ``Record`` (``from_capture``), so the caller
allocates one tuple instead of two record objects and the queue holds fewer objects for the collector."""

CAPTURE_WIDTH = 11  # items in a Capture (the size is the last)


def from_capture(capture: Capture | tuple[Any, ...]) -> Record:
    """The SDK record for a capture (on the worker)."""
    ts, severity, text, body, attributes, scope, span_context, exception, context, checked, size = capture
    record = new_record(ts, severity, text, body, attributes, scope, span_context, exception)
    if context:
        record.context = context
    if checked:
        record.checked = True
    record.size = size
    return record


def as_readable(batch: Sequence[ReadWriteLogRecord]) -> Sequence[ReadableLogRecord]:
    """The batch as exporters expect it (same fields; exporters only read them)."""
    return cast(Sequence[ReadableLogRecord], batch)


def export_result_ok(result: object) -> bool:
    """Whether an exporter's return value means success (``None`` from a plain callable counts)."""
    return result is None or result is LogRecordExportResult.SUCCESS or result is True
