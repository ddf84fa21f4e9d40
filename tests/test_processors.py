"""fapilog's processors inside a plain OpenTelemetry SDK pipeline."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.resources import Resource

from fapilog._otel import ReadableLogRecord
from fapilog.processors import NonBlockingLogRecordProcessor


def test_non_blocking_processor_in_an_sdk_logger_provider() -> None:
    """Records emitted through an SDK Logger reach an SDK exporter via the non-blocking processor."""
    exporter = InMemoryLogRecordExporter()
    processor = NonBlockingLogRecordProcessor(exporter)
    provider = LoggerProvider(resource=Resource.create({"service.name": "plain-otel"}), shutdown_on_exit=False)
    provider.add_log_record_processor(processor)
    logger = provider.get_logger("lib")
    for i in range(100):
        logger.emit(severity_number=SeverityNumber.INFO, severity_text="INFO", body=f"m{i}", attributes={"i": i})
    assert provider.force_flush()
    records = exporter.get_finished_logs()
    assert [r.log_record.body for r in records] == [f"m{i}" for i in range(100)]
    assert records[0].resource.attributes["service.name"] == "plain-otel"
    provider.shutdown()


def test_emit_returns_while_the_exporter_is_slow() -> None:
    """With an exporter stuck for a while, emit still returns at once and every record arrives later."""
    release = threading.Event()

    class Slow(InMemoryLogRecordExporter):
        def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
            release.wait(10)
            return super().export(batch)

    exporter = Slow()
    provider = LoggerProvider(shutdown_on_exit=False)
    provider.add_log_record_processor(NonBlockingLogRecordProcessor(exporter, batch_timeout=0.01))
    logger = provider.get_logger("lib")
    start = time.monotonic()
    for i in range(1_000):
        logger.emit(severity_number=SeverityNumber.INFO, body=f"m{i}")
    elapsed = time.monotonic() - start
    release.set()
    provider.force_flush()
    assert len(exporter.get_finished_logs()) == 1_000
    assert elapsed < 5  # did not wait for the 10 s export
    provider.shutdown()
