"""OTLP: records to an OpenTelemetry Collector (or any OTLP receiver), over gRPC or HTTP/protobuf.

fapilog's pipeline does what it does for every exporter (the caller only queues; the worker finishes,
redacts, samples, batches); the wire work is ``opentelemetry-exporter-otlp``'s ``OTLPLogExporter``, run on
the worker thread (its export is synchronous and retries transient failures with backoff within its
timeout). That exporter reads the standard variables itself: ``OTEL_EXPORTER_OTLP_[LOGS_]ENDPOINT``,
``_HEADERS``, ``_TIMEOUT``, ``_COMPRESSION``, ``_INSECURE`` (gRPC), ``_CERTIFICATE`` and the client
certificate pair; keyword options given here win over them.

The protocol is the ``protocol`` option, else ``OTEL_EXPORTER_OTLP_LOGS_PROTOCOL``, else
``OTEL_EXPORTER_OTLP_PROTOCOL``, else ``grpc`` (as ``opentelemetry-instrument`` chooses for ``otlp``):
``grpc`` or ``http/protobuf``. fapilog's records are SDK ``ReadWriteLogRecord``s with plain-dict attributes
and the resource set by the worker: exactly what the OTLP encoder reads.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import Any

from fapilog._optional import require
from fapilog._otel import LogRecordExporter, LogRecordExportResult, ReadableLogRecord

__all__ = ["EnvOtlpExporter", "OtlpExporter", "otlp_exporter"]

_MODULES = {
    "grpc": "opentelemetry.exporter.otlp.proto.grpc._log_exporter",
    "http/protobuf": "opentelemetry.exporter.otlp.proto.http._log_exporter",
}
_ALIASES = {"http": "http/protobuf", "http/proto": "http/protobuf"}


def resolve_protocol(protocol: str | None = None) -> str:
    """The OTLP protocol to use: ``protocol``, else the environment, else ``grpc``."""
    chosen = (
        (
            protocol
            or os.environ.get("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL")
            or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
            or "grpc"
        )
        .strip()
        .lower()
    )
    chosen = _ALIASES.get(chosen, chosen)
    if chosen not in _MODULES:
        raise ValueError(
            f"OTLP protocol {chosen!r} is not supported for logs; use 'grpc' or 'http/protobuf' "
            "(option 'protocol', or OTEL_EXPORTER_OTLP_LOGS_PROTOCOL / OTEL_EXPORTER_OTLP_PROTOCOL)"
        )
    return chosen


class OtlpExporter(LogRecordExporter):
    """Exports batches with ``opentelemetry-exporter-otlp``'s ``OTLPLogExporter`` for ``protocol``.

    ``options`` go to that exporter (``endpoint``, ``headers``, ``timeout``, ``compression``, ``insecure`` for
    gRPC, ``session`` for HTTP: the transport seam...); what is not given comes from ``OTEL_EXPORTER_OTLP_*``.
    Its errors are contained: an export that raises returns ``FAILURE``.
    """

    name = "otlp"

    def __init__(self, protocol: str | None = None, **options: Any) -> None:
        self.protocol = resolve_protocol(protocol)
        module = require(_MODULES[self.protocol], extra="otlp", feature="the OTLP exporter")
        self._inner: Any = module.OTLPLogExporter(**options)

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        if not batch:
            return LogRecordExportResult.SUCCESS
        try:
            result = self._inner.export(batch)
            if result is not LogRecordExportResult.SUCCESS and _not_utf8(batch):
                # A lone surrogate: protobuf strings must be UTF-8 and the encoder gave up on the whole batch.
                # Escaped as the JSON renderings escape it, the batch goes again.
                result = self._inner.export(_utf8_batch(batch))
        except Exception:
            return LogRecordExportResult.FAILURE
        return result if isinstance(result, LogRecordExportResult) else LogRecordExportResult.FAILURE

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return bool(self._inner.force_flush(timeout_millis))

    def shutdown(self) -> None:
        self._inner.shutdown()


def _utf8_batch(batch: Sequence[ReadableLogRecord]) -> list[ReadableLogRecord]:
    """Copies of the records whose strings (body, attributes) are valid UTF-8, bad characters backslash-escaped
    as the JSON renderings do; the records themselves, shared with other exporters, are left as they are."""
    out: list[ReadableLogRecord] = []
    for record in batch:
        log_record = copy.copy(record.log_record)
        log_record.body = _utf8(log_record.body)
        log_record.attributes = _utf8(dict(log_record.attributes or {}))
        out.append(dataclasses.replace(record, log_record=log_record))
    return out


def _not_utf8(batch: Sequence[ReadableLogRecord]) -> bool:
    """Whether a body or attribute (key or value) of the batch holds a string that is not valid UTF-8."""
    return any(_bad(r.log_record.body) or _bad(dict(r.log_record.attributes or {})) for r in batch)


def _bad(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, list | tuple):
        return any(_bad(v) for v in value)
    if isinstance(value, Mapping):
        return any(_bad(k) or _bad(v) for k, v in value.items())
    return False


def _utf8(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, list | tuple):
        return [_utf8(v) for v in value]
    if isinstance(value, Mapping):
        return {_utf8(k): _utf8(v) for k, v in value.items()}
    return value


class EnvOtlpExporter(OtlpExporter):
    """An ``OtlpExporter`` configured by ``OTEL_EXPORTER_OTLP_*`` variables alone.

    For OpenTelemetry's configurators (``OTEL_LOGS_EXPORTER=fapilog_otlp``), which build exporters without
    arguments.
    """

    def __init__(self) -> None:
        super().__init__()


def otlp_exporter(base: Any = None, /, **options: Any) -> OtlpExporter:
    """The exporter of the sink ``"otlp"`` / ``{"type": "otlp", "protocol": ..., "endpoint": ...}``: the options
    over ``base`` (a settings section with those fields, or a mapping), over ``OTEL_EXPORTER_OTLP_*``."""
    start: Mapping[str, Any]
    if base is None:
        start = {}
    elif isinstance(base, Mapping):
        start = base
    else:
        start = base.model_dump(exclude_unset=True)
    merged = {**start, **options}
    return OtlpExporter(merged.pop("protocol", None), **merged)
