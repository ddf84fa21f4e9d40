"""otlp_json files: each line is one ExportLogsServiceRequest in OTLP/JSON, as opentelemetry-proto parses it
(with trace and span ids as hex, enums as integers, 64-bit integers as strings)."""

from __future__ import annotations

import base64
import enum
import math
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from opentelemetry.sdk.trace import TracerProvider

from fapilog import Settings, get_logger
from fapilog._otel import InstrumentationScope, Resource, SeverityNumber, as_readable, new_record
from fapilog.exporters._otlp_json import any_value, encode_request
from fapilog.sinks import rotating_file

json_format = pytest.importorskip("google.protobuf.json_format", reason="needs protobuf (fapilog[otlp])")
logs_service = pytest.importorskip(
    "opentelemetry.proto.collector.logs.v1.logs_service_pb2", reason="needs opentelemetry-proto (fapilog[otlp])"
)


def parse(line: bytes) -> Any:
    """An OTLP/JSON line as an ExportLogsServiceRequest. The generic protobuf JSON mapping reads bytes as
    base64, OTLP/JSON writes trace and span ids as hex: the ids are converted before parsing."""
    doc = orjson.loads(line)
    for resource_logs in doc["resourceLogs"]:
        for scope_logs in resource_logs["scopeLogs"]:
            for record in scope_logs["logRecords"]:
                for key in ("traceId", "spanId"):
                    if key in record:
                        record[key] = base64.b64encode(bytes.fromhex(record[key])).decode()
    return json_format.Parse(orjson.dumps(doc), logs_service.ExportLogsServiceRequest())


def kv(pairs: Any) -> dict[str, Any]:
    """Protobuf KeyValues as a plain dict (scalars only, plus nested kvlists and arrays)."""
    return {p.key: plain(p.value) for p in pairs}


def plain(value: Any) -> Any:
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "kvlist_value":
        return kv(value.kvlist_value.values)
    if which == "array_value":
        return [plain(v) for v in value.array_value.values]
    return getattr(value, which)


def test_each_line_is_an_export_logs_service_request(tmp_path: Path) -> None:
    """Resource, scope, body, attributes, severity, trace/span ids and timestamps survive the round trip."""
    path = tmp_path / "otlp.jsonl"
    settings = Settings(service="checkout", version="2.0", env="prod")
    log = get_logger("orders", settings=settings, sinks=[rotating_file(path, mode="otlp_json")])
    tracer = TracerProvider().get_tracer("test")
    before = time.time_ns()
    with tracer.start_as_current_span("place order") as span:
        log.info("order placed", order_id=42, total=9.5, tags=["a", "b"], customer={"tier": "gold"}, gift=False)
        log.error("payment declined", code="E17")
    log.drain()
    after = time.time_ns()

    records = []
    for line in path.read_bytes().splitlines():  # one request per batch (the worker may take the first alone)
        (resource_logs,) = parse(line).resource_logs
        resource = kv(resource_logs.resource.attributes)
        assert resource["service.name"] == "checkout"
        assert resource["service.version"] == "2.0"
        assert resource["deployment.environment.name"] == "prod"
        (scope_logs,) = resource_logs.scope_logs
        assert scope_logs.scope.name == "orders"
        records += scope_logs.log_records
    placed, declined = records

    assert placed.body.string_value == "order placed"
    assert kv(placed.attributes) == {
        "order_id": 42,
        "total": 9.5,
        "tags": ["a", "b"],
        "customer": {"tier": "gold"},
        "gift": False,
    }
    assert (placed.severity_number, placed.severity_text) == (SeverityNumber.INFO.value, "INFO")
    assert (declined.severity_number, declined.severity_text) == (SeverityNumber.ERROR.value, "ERROR")
    assert kv(declined.attributes) == {"code": "E17"}
    ctx = span.get_span_context()
    assert placed.trace_id == ctx.trace_id.to_bytes(16, "big")
    assert placed.span_id == ctx.span_id.to_bytes(8, "big")
    assert placed.flags == int(ctx.trace_flags)
    assert before <= placed.time_unix_nano <= declined.time_unix_nano <= after
    assert placed.observed_time_unix_nano >= placed.time_unix_nano


def test_the_json_follows_otlp_json_rules(tmp_path: Path) -> None:
    """lowerCamelCase keys, hex ids (not base64), enum as an integer, int64 as a string, bytes as base64."""
    path = tmp_path / "otlp.jsonl"
    log = get_logger("rules", sinks=[rotating_file(path, mode="otlp_json")])
    with TracerProvider().get_tracer("test").start_as_current_span("s") as span:
        log.warning("check", n=7, raw=b"\x00\xff")
    log.drain()
    doc = orjson.loads(path.read_bytes())
    record = doc["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
    ctx = span.get_span_context()
    assert record["traceId"] == f"{ctx.trace_id:032x}"
    assert record["spanId"] == f"{ctx.span_id:016x}"
    assert record["severityNumber"] == 13
    assert isinstance(record["timeUnixNano"], str)
    attributes = {a["key"]: a["value"] for a in record["attributes"]}
    assert attributes["n"] == {"intValue": "7"}
    assert attributes["raw"] == {"bytesValue": "AP8="}
    assert not [key for key in _keys(doc) if "_" in key]


def _keys(value: Any) -> list[str]:
    """Every key of every object in a JSON document."""
    if isinstance(value, dict):
        return [*value, *(k for v in value.values() for k in _keys(v))]
    if isinstance(value, list):
        return [k for v in value for k in _keys(v)]
    return []


def test_one_line_per_batch(tmp_path: Path) -> None:
    """Each exported batch is one line (one request); lines accumulate in order."""
    path = tmp_path / "otlp.jsonl"
    log = get_logger("batches", sinks=[rotating_file(path, mode="otlp_json")])
    for n in range(3):
        log.info(f"batch {n}")
        log.drain()
    lines = path.read_bytes().splitlines()
    bodies = [parse(line).resource_logs[0].scope_logs[0].log_records[0].body.string_value for line in lines]
    assert bodies == ["batch 0", "batch 1", "batch 2"]


def test_records_group_by_resource_and_scope() -> None:
    """One request holds one ResourceLogs per resource and one ScopeLogs per scope, records in order."""
    first, second = Resource({"service.name": "a"}), Resource({"service.name": "b"})
    scopes = [InstrumentationScope("x", "1.0"), InstrumentationScope("y")]
    records = []
    for i, (resource, scope) in enumerate(
        [(first, scopes[0]), (first, scopes[1]), (first, scopes[0]), (second, scopes[1])]
    ):
        record = new_record(i + 1, SeverityNumber.DEBUG, "DEBUG", f"r{i}", {}, scope, None, event_name="e")
        record.resource = resource
        records.append(record)
    request = parse(encode_request(as_readable(records)))
    shape = [
        (kv(rl.resource.attributes)["service.name"], [(sl.scope.name, sl.scope.version) for sl in rl.scope_logs])
        for rl in request.resource_logs
    ]
    assert shape == [("a", [("x", "1.0"), ("y", "")]), ("b", [("y", "")])]
    bodies = [lr.body.string_value for lr in request.resource_logs[0].scope_logs[0].log_records]
    assert bodies == ["r0", "r2"]
    assert request.resource_logs[0].scope_logs[0].log_records[0].event_name == "e"


class Colour(enum.IntEnum):
    RED = 1


def test_any_value_covers_the_otel_value_types() -> None:
    """AnyValue for every attribute type, including the values JSON numbers cannot hold."""
    assert any_value(None) == {}
    assert any_value(2**63) == {"stringValue": str(2**63)}
    assert any_value(-(2**63)) == {"intValue": str(-(2**63))}
    assert any_value(math.inf) == {"doubleValue": "Infinity"}
    assert any_value(-math.inf) == {"doubleValue": "-Infinity"}
    assert any_value(math.nan) == {"doubleValue": "NaN"}
    assert any_value(Colour.RED) == {"intValue": "1"}
    assert any_value(True) == {"boolValue": True}
    assert any_value(bytearray(b"\x01")) == {"bytesValue": "AQ=="}
    assert any_value((1, "a")) == {"arrayValue": {"values": [{"intValue": "1"}, {"stringValue": "a"}]}}
    assert any_value(object.__new__(Unprintable)) == {"stringValue": "<unprintable Unprintable>"}
    deep: list[Any] = []
    node = deep
    for _ in range(100):
        node.append([])
        node = node[0]
    assert "<max depth>" in orjson.dumps(any_value(deep)).decode()


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")


def test_values_that_json_numbers_cannot_hold_still_parse() -> None:
    """NaN, infinities and large ints produce a line opentelemetry-proto parses."""
    record = new_record(
        1, SeverityNumber.INFO, "INFO", "edge", {"nan": math.nan, "inf": math.inf, "big": 2**70}, INSTR, None
    )
    record.resource = Resource({})
    (lr,) = parse(encode_request(as_readable([record]))).resource_logs[0].scope_logs[0].log_records
    values = kv(lr.attributes)
    assert math.isnan(values["nan"])
    assert values["inf"] == math.inf
    assert values["big"] == str(2**70)


INSTR = InstrumentationScope("edge")
