"""OTLP/JSON: a batch of records as one ``ExportLogsServiceRequest`` on one line.

This is what an OpenTelemetry Collector's ``otlpjsonfile`` receiver reads, per the OTLP/JSON rules: keys in
lowerCamelCase, enums as integers, 64-bit integers as decimal strings, ``traceId`` / ``spanId`` as hex
strings (not base64 as the generic protobuf JSON mapping would write them), other bytes as base64, and
fields at their default value left out. It is built directly as JSON (no protobuf round trip), so no
optional dependency is needed.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from typing import Any

from fapilog._otel import InstrumentationScope, ReadableLogRecord, Resource
from fapilog._render import dumps

__all__ = ["any_value", "encode_request"]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_DEPTH_LIMIT = 32


def any_value(value: Any, depth: int = 0) -> dict[str, Any]:
    """An OTLP ``AnyValue`` for ``value`` (``{}`` for ``None``)."""
    t = type(value)
    if t is str:
        return {"stringValue": value}
    if t is bool:
        return {"boolValue": value}
    if t is int:
        if _INT64_MIN <= value <= _INT64_MAX:
            return {"intValue": str(value)}
        return {"stringValue": str(value)}
    if t is float:
        if math.isfinite(value):
            return {"doubleValue": value}
        return {"doubleValue": "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")}
    if value is None:
        return {}
    # Subclasses of the scalars (enums, ...), then containers.
    if isinstance(value, bool):
        return {"boolValue": bool(value)}
    if isinstance(value, int):
        return any_value(int(value), depth)
    if isinstance(value, float):
        return any_value(float(value), depth)
    if isinstance(value, str):
        return {"stringValue": str(value)}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"bytesValue": base64.b64encode(bytes(value)).decode("ascii")}
    if depth >= _DEPTH_LIMIT:
        return {"stringValue": "<max depth>"}
    if isinstance(value, Mapping):
        return {"kvlistValue": {"values": _key_values(value, depth + 1)}}
    if isinstance(value, Sequence):
        return {"arrayValue": {"values": [any_value(v, depth + 1) for v in value]}}
    return {"stringValue": _text(value)}


def _text(value: Any) -> str:
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


def _key_values(attributes: Mapping[Any, Any], depth: int = 0) -> list[dict[str, Any]]:
    return [
        {"key": key if type(key) is str else _text(key), "value": any_value(value, depth)}
        for key, value in attributes.items()
    ]


def _log_record(record: ReadableLogRecord) -> dict[str, Any]:
    lr = record.log_record
    out: dict[str, Any] = {}
    if lr.timestamp:
        out["timeUnixNano"] = str(lr.timestamp)
    if lr.observed_timestamp:
        out["observedTimeUnixNano"] = str(lr.observed_timestamp)
    if lr.severity_number is not None and lr.severity_number.value:
        out["severityNumber"] = int(lr.severity_number.value)
    if lr.severity_text:
        out["severityText"] = lr.severity_text
    if lr.body is not None:
        out["body"] = any_value(lr.body)
    if lr.attributes:
        out["attributes"] = _key_values(lr.attributes)
    dropped = record.dropped_attributes
    if dropped:
        out["droppedAttributesCount"] = dropped
    if lr.trace_flags:
        out["flags"] = int(lr.trace_flags)
    if lr.trace_id:
        out["traceId"] = f"{lr.trace_id:032x}"
    if lr.span_id:
        out["spanId"] = f"{lr.span_id:016x}"
    if lr.event_name:
        out["eventName"] = lr.event_name
    return out


def _resource(resource: Resource | None) -> dict[str, Any]:
    if resource is None or not resource.attributes:
        return {}
    return {"attributes": _key_values(resource.attributes)}


def _scope(scope: InstrumentationScope | None) -> dict[str, Any]:
    if scope is None:
        return {}
    out: dict[str, Any] = {}
    if scope.name:
        out["name"] = scope.name
    if scope.version:
        out["version"] = scope.version
    if scope.attributes:
        out["attributes"] = _key_values(scope.attributes)
    return out


def encode_request(batch: Sequence[ReadableLogRecord]) -> bytes:
    """One line (ending in a newline): the ``ExportLogsServiceRequest`` of ``batch`` in OTLP/JSON."""
    groups: dict[int, tuple[Resource | None, dict[Any, tuple[InstrumentationScope | None, list[dict[str, Any]]]]]] = {}
    for record in batch:
        resource: Resource | None = record.resource
        _, scopes = groups.setdefault(id(resource), (resource, {}))
        scope = record.instrumentation_scope
        key = (scope.name, scope.version, scope.schema_url) if scope is not None else None
        scopes.setdefault(key, (scope, []))[1].append(_log_record(record))
    resource_logs = []
    for owner, scopes in groups.values():
        scope_logs = []
        for scope, records in scopes.values():
            entry: dict[str, Any] = {"scope": _scope(scope), "logRecords": records}
            if scope is not None and scope.schema_url:
                entry["schemaUrl"] = scope.schema_url
            scope_logs.append(entry)
        item: dict[str, Any] = {"resource": _resource(owner), "scopeLogs": scope_logs}
        if owner is not None and owner.schema_url:
            item["schemaUrl"] = owner.schema_url
        resource_logs.append(item)
    return dumps({"resourceLogs": resource_logs}) + b"\n"
