"""OTLP export: fapilog's pipeline feeds real gRPC and HTTP/protobuf OTLP receivers, records intact."""

from __future__ import annotations

import gzip
import logging
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord as PbLogRecord
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from fapilog import Settings, get_logger
from fapilog._otel import LogRecordExportResult
from fapilog._pipeline import Pipeline
from fapilog.exporters.otlp import EnvOtlpExporter, OtlpExporter, otlp_exporter
from fapilog.instrumentation import logging as bridge
from tests.exporters._otlp_receiver import ExportRequest, Received, any_value
from tests.exporters._otlp_receiver import grpc_receiver as start_grpc_receiver


def _attrs(record: PbLogRecord) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in record.attributes}


@pytest.fixture
def grpc_receiver() -> Iterator[tuple[str, Received]]:
    """An OTLP/gRPC logs receiver on 127.0.0.1; yields its endpoint and what it received."""
    with start_grpc_receiver() as receiver:
        yield receiver


class _OtlpHttpHandler(BaseHTTPRequestHandler):
    server: _OtlpHttpServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != "/v1/logs" or self.headers.get("Content-Type") != "application/x-protobuf":
            self.send_response(404 if self.path != "/v1/logs" else 415)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.server.received.add(ExportRequest.FromString(body), {k.lower(): v for k, v in self.headers.items()})
        answer = logs_service_pb2.ExportLogsServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _OtlpHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, received: Received) -> None:
        super().__init__(("127.0.0.1", 0), _OtlpHttpHandler)
        self.received = received


@pytest.fixture
def http_receiver() -> Iterator[tuple[str, Received]]:
    """An OTLP/HTTP receiver (POST /v1/logs, protobuf bodies) on 127.0.0.1; yields its base URL."""
    received = Received()
    server = _OtlpHttpServer(received)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


def _settings() -> Settings:
    return Settings.model_validate({"service": "checkout", "version": "1.4.2"})


def _log_one(sink: Any) -> tuple[int, int]:
    """Log one record inside a span through a fapilog logger exporting to ``sink``; the span's ids."""
    logger = get_logger("checkout.api", settings=_settings(), sinks=[sink], reuse=False)
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("POST /orders") as span:
        logger.bind(request_id="r-1").info(
            "order placed", order_id="A-1", amount=12.5, callback="https://bob:hunter2@hooks.example.com/x"
        )
    logger.drain()
    ctx = span.get_span_context()
    return ctx.trace_id, ctx.span_id


def _check_record(received: Received, trace_id: int, span_id: int) -> None:
    [(resource, scope, record)] = received.records()
    assert resource["service.name"] == "checkout"
    assert resource["service.version"] == "1.4.2"
    assert scope == "checkout.api"
    assert record.body.string_value == "order placed"
    assert record.severity_text == "INFO"
    assert record.severity_number == 9
    attrs = _attrs(record)
    assert attrs["order_id"] == "A-1"
    assert attrs["amount"] == 12.5
    assert attrs["request_id"] == "r-1"
    assert "hunter2" not in attrs["callback"]  # fapilog's redaction ran before export
    assert record.trace_id == trace_id.to_bytes(16, "big")
    assert record.span_id == span_id.to_bytes(8, "big")
    assert record.time_unix_nano > 0


def test_grpc_export_keeps_resource_scope_body_attributes_and_ids(grpc_receiver: tuple[str, Received]) -> None:
    """The ``otlp`` sink over gRPC delivers a record with everything fapilog's pipeline gave it."""
    endpoint, received = grpc_receiver
    ids = _log_one({"type": "otlp", "protocol": "grpc", "endpoint": endpoint, "insecure": True})
    _check_record(received, *ids)


def test_http_export_keeps_resource_scope_body_attributes_and_ids(http_receiver: tuple[str, Received]) -> None:
    """The ``otlp`` sink over HTTP/protobuf delivers the same record to POST /v1/logs."""
    base, received = http_receiver
    ids = _log_one({"type": "otlp", "protocol": "http/protobuf", "endpoint": f"{base}/v1/logs"})
    _check_record(received, *ids)


def test_environment_chooses_protocol_endpoint_and_headers(
    http_receiver: tuple[str, Received], monkeypatch: pytest.MonkeyPatch
) -> None:
    """OTEL_EXPORTER_OTLP_* (protocol, endpoint, headers, compression) configure the no-argument exporter."""
    base, received = http_receiver
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/protobuf")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", base)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-scope-orgid=acme")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
    exporter = EnvOtlpExporter()
    assert exporter.protocol == "http/protobuf"
    ids = _log_one(exporter)
    _check_record(received, *ids)
    assert received.headers[0]["x-scope-orgid"] == "acme"
    assert received.headers[0]["content-encoding"] == "gzip"


def test_grpc_endpoint_and_insecure_from_environment(
    grpc_receiver: tuple[str, Received], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sink named ``otlp`` with no options uses grpc and the OTEL_EXPORTER_OTLP_* endpoint and headers."""
    endpoint, received = grpc_receiver
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "authorization=Bearer t0ken")
    ids = _log_one("otlp")
    _check_record(received, *ids)
    assert received.headers[0]["authorization"] == "Bearer t0ken"


def test_span_and_stdlib_log_inside_it_share_ids(grpc_receiver: tuple[str, Received]) -> None:
    """A span made by the tracer and a stdlib log inside it are exported with matching trace and span ids."""
    endpoint, received = grpc_receiver
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    pipeline = Pipeline(_settings(), sinks=[OtlpExporter("grpc", endpoint=endpoint, insecure=True)])
    bridge.install(pipeline)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    try:
        with provider.get_tracer("shop").start_as_current_span("charge card"):
            logging.getLogger("payments.gateway").info("charged %s", "A-1")
    finally:
        root.setLevel(level)
        bridge.uninstall()
    pipeline.drain(close=True)
    [span] = spans.get_finished_spans()
    [(_resource, scope, record)] = received.records()
    assert scope == "payments.gateway"
    assert record.body.string_value == "charged A-1"
    assert record.trace_id == span.context.trace_id.to_bytes(16, "big")
    assert record.span_id == span.context.span_id.to_bytes(8, "big")
    assert "code.function.name" in _attrs(record)


def test_protocol_choice_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    """Options beat OTEL_EXPORTER_OTLP_LOGS_PROTOCOL beat OTEL_EXPORTER_OTLP_PROTOCOL; unknown ones fail clearly."""
    assert OtlpExporter().protocol == "grpc"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    assert OtlpExporter().protocol == "http/protobuf"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "grpc")
    assert OtlpExporter().protocol == "grpc"
    assert otlp_exporter({"protocol": "http"}).protocol == "http/protobuf"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/json")
    with pytest.raises(ValueError, match="OTEL_EXPORTER_OTLP_LOGS_PROTOCOL"):
        OtlpExporter()


def test_unreachable_collector_fails_the_export_without_raising() -> None:
    """With nothing listening, the export returns FAILURE (counted by the pipeline); nothing raises."""
    port = _free_port()
    exporter = OtlpExporter("http/protobuf", endpoint=f"http://127.0.0.1:{port}/v1/logs", timeout=1)
    logger = get_logger("x", sinks=[exporter], reuse=False)
    logger.info("lost")
    result = logger.drain()
    assert result.submitted == 1
    assert logger.stats().export_failures == 1
    assert exporter.export([]) is LogRecordExportResult.SUCCESS


def _free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
