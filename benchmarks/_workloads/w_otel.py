# mypy: ignore-errors
"""Workload: the OpenTelemetry SDK's own ``Logger.emit`` with a ``BatchLogRecordProcessor``.

The exporter writes each record as one JSON line (orjson). ``info`` is the thin adapter a service would
write around ``emit``. In the steady scenarios the processor's queue (2,048 by default, dropping when full)
is sized to hold the whole run so that every record is delivered; the burst scenario keeps the defaults.
Variants: "" and "span" (inside an active span, so ``emit`` records the trace and span ids).
"""

from __future__ import annotations

import time

import _common as c
import orjson
from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider


def _line(readable):
    record = readable.log_record
    return orjson.dumps(
        {
            "timestamp": record.timestamp,
            "observed_timestamp": record.observed_timestamp,
            "severity_text": record.severity_text,
            "severity_number": record.severity_number.value if record.severity_number else None,
            "body": record.body,
            "attributes": dict(record.attributes or {}),
            "trace_id": f"{record.trace_id:032x}" if record.trace_id else None,
            "span_id": f"{record.span_id:016x}" if record.span_id else None,
            "scope": readable.instrumentation_scope.name if readable.instrumentation_scope else None,
            "resource": dict(readable.resource.attributes),
        }
    )


class JsonLinesExporter(LogRecordExporter):
    """Writes each batch as JSON lines to a file, with one ``write``."""

    def __init__(self, path, delay=0.0):
        self._file = open(path, "wb")  # noqa: SIM115 - closed by shutdown()
        self._delay = delay

    def export(self, batch):
        if self._delay:
            time.sleep(self._delay)
        self._file.write(b"".join(_line(r) + b"\n" for r in batch))
        self._file.flush()
        return LogRecordExportResult.SUCCESS

    def force_flush(self, timeout_millis=30_000):
        self._file.flush()
        return True

    def shutdown(self):
        self._file.close()


def build(args):
    provider = LoggerProvider(resource=Resource.create({"service.name": "bench"}))
    delay = c.SLOW_WRITE_SECONDS if args.scenario == "slow_sink" else 0.0
    exporter = JsonLinesExporter(args.out, delay)
    if args.scenario == "burst":
        processor = BatchLogRecordProcessor(exporter)
    else:
        processor = BatchLogRecordProcessor(exporter, max_queue_size=max(args.n, 2048))
    provider.add_log_record_processor(processor)
    logger = provider.get_logger("bench")
    span = None
    if args.variant == "span":
        tracer_provider = TracerProvider()
        trace.set_tracer_provider(tracer_provider)
        span = tracer_provider.get_tracer("bench").start_as_current_span("request")
        span.__enter__()

    def info(message, **fields):
        logger.emit(
            timestamp=time.time_ns(),
            severity_number=SeverityNumber.INFO,
            severity_text="INFO",
            body=message,
            attributes=fields,
        )

    def call(i):
        info(c.MESSAGE, user_id=i, path=c.PATH, status=200, duration_ms=12.5)

    def close():
        provider.shutdown()  # flushes the processor's queue through the exporter, then closes the file
        if span is not None:
            span.__exit__(None, None, None)
        return {}

    return c.Bench(call, close)


if __name__ == "__main__":
    c.main(build, c.versions("opentelemetry-sdk", "orjson"))
