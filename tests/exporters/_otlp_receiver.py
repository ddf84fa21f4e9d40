"""An OTLP/gRPC logs receiver on 127.0.0.1, shared by the OTLP exporter tests and the docs tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord as PbLogRecord

ExportRequest = logs_service_pb2.ExportLogsServiceRequest


class Received:
    """What a receiver got: each export request, and the metadata/headers it came with."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[ExportRequest] = []
        self.headers: list[dict[str, str]] = []
        self.arrived = threading.Event()

    def add(self, request: ExportRequest, headers: dict[str, str]) -> None:
        with self.lock:
            self.requests.append(request)
            self.headers.append(headers)
        self.arrived.set()

    def records(self) -> list[tuple[dict[str, Any], str, PbLogRecord]]:
        """Every record received, with its resource attributes and scope name."""
        out: list[tuple[dict[str, Any], str, PbLogRecord]] = []
        with self.lock:
            for request in self.requests:
                for rl in request.resource_logs:
                    resource = {kv.key: any_value(kv.value) for kv in rl.resource.attributes}
                    for sl in rl.scope_logs:
                        out.extend((resource, sl.scope.name, record) for record in sl.log_records)
        return out


def any_value(value: AnyValue) -> Any:
    """An OTLP ``AnyValue`` as the Python value it holds."""
    kind = value.WhichOneof("value")
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    return getattr(value, kind) if kind else None


class _LogsService(logs_service_pb2_grpc.LogsServiceServicer):
    def __init__(self, received: Received) -> None:
        self.received = received

    def Export(self, request: ExportRequest, context: grpc.ServicerContext) -> Any:
        self.received.add(request, dict(context.invocation_metadata()))
        return logs_service_pb2.ExportLogsServiceResponse()


@contextmanager
def grpc_receiver(port: int = 0) -> Iterator[tuple[str, Received]]:
    """An OTLP/gRPC logs receiver on 127.0.0.1 (``port``, or a free one); yields its endpoint and what it got."""
    received = Received()
    server = grpc.server(ThreadPoolExecutor(max_workers=4))
    logs_service_pb2_grpc.add_LogsServiceServicer_to_server(_LogsService(received), server)
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    try:
        yield f"http://127.0.0.1:{bound}", received
    finally:
        server.stop(grace=None)
