"""The Loki exporter, used through fapilog against a protocol-faithful local Loki push server."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

from fapilog import get_logger
from fapilog.exporters.loki import EnvLokiExporter, LokiExporter
from fapilog.testing import CaptureExporter
from tests.exporters._servers import FakeLoki, Fault, Receiver

FAST: dict[str, Any] = {"retry_base_delay": 0.05, "max_backoff": 0.2, "max_retries": 30, "breaker_recovery": 0.2}


def log_and_drain(exporter: LokiExporter, *messages: str, **fields: Any) -> None:
    logger = get_logger("app.loki", sinks=[exporter], reuse=False)
    for message in messages:
        logger.info(message, **fields)
    logger.drain()


def captured(n: int, **fields: Any) -> list[Any]:
    """n records made by fapilog (kept in memory), to feed an exporter directly."""
    capture = CaptureExporter()
    logger = get_logger("app.loki", sinks=[capture], reuse=False)
    for i in range(n):
        logger.info(f"record {i}", n=i, **fields)
    logger.drain()
    return list(capture.records)


def test_every_record_arrives_exactly_once_as_snappy_protobuf() -> None:
    """Healthy Loki: 250 records arrive once each, in order, as snappy protobuf with fapilog envelope lines."""
    with FakeLoki() as loki:
        exporter = LokiExporter(loki.url)
        log_and_drain(exporter, *[f"m{i}" for i in range(250)])
    assert [line["log"]["message"] for line in loki.lines()] == [f"m{i}" for i in range(250)]
    request = loki.requests[0]
    assert request.path == "/loki/api/v1/push"
    assert request.headers["content-type"] == "application/x-protobuf"
    assert "content-encoding" not in request.headers
    assert set(loki.statuses()) == {204}
    assert {e.labels for e in loki.stored} == {'{level="INFO", service="fapilog"}'}
    stats = exporter.stats()
    assert (stats.sent, stats.failed, stats.dropped, stats.retried) == (250, 0, 0, 0)


@pytest.mark.parametrize("gzip_json", [False, True])
def test_json_encoding_plain_and_gzip(gzip_json: bool) -> None:
    """encoding="json" pushes Loki's JSON form, gzip-compressed when asked; the server decodes both."""
    with FakeLoki() as loki:
        log_and_drain(LokiExporter(loki.url, encoding="json", json_gzip=gzip_json), "a", "b")
    assert [line["log"]["message"] for line in loki.lines()] == ["a", "b"]
    headers = loki.requests[0].headers
    assert headers["content-type"] == "application/json"
    assert headers.get("content-encoding") == ("gzip" if gzip_json else None)


def test_static_and_dynamic_labels_are_sanitised_and_bounded() -> None:
    """Static labels plus level, logger and an attribute; names and values sanitised, values cut at 128."""
    with FakeLoki() as loki:
        exporter = LokiExporter(
            loki.url, labels={"app": "api-gateway", "1env": "prod"}, label_keys=["level", "logger", "region"]
        )
        logger = get_logger("app.loki", sinks=[exporter], reuse=False)
        logger.warning("w", region="eu west/1")
        logger.info("long", region="x" * 500)
        logger.info("none")
        logger.drain()
    labels = [e.labels for e in loki.stored]
    assert labels[0] == '{_1env="prod", app="api_gateway", level="WARNING", logger="app_loki", region="eu_west_1"}'
    assert f'region="{"x" * 128}"' in labels[1]
    assert "region" not in labels[2]


@pytest.mark.parametrize("key", ["request_id", "trace_id", "span_id", "user_id"])
def test_high_cardinality_label_keys_are_refused(key: str) -> None:
    """A per-record id as a label key is refused at configuration, with a message saying where it goes."""
    with pytest.raises(ValueError, match=r"high-cardinality.*structured"):
        LokiExporter("http://127.0.0.1:9", label_keys=["level", key])
    with pytest.raises(ValueError, match="high-cardinality"):
        get_logger("x", sinks=[{"type": "loki", "url": "http://127.0.0.1:9", "label_keys": [key]}], reuse=False)


def test_trace_ids_and_request_id_travel_as_structured_metadata() -> None:
    """trace_id, span_id (from the active span) and request_id go to structured metadata, not labels."""
    tracer = TracerProvider().get_tracer("t")
    with FakeLoki() as loki:
        logger = get_logger("app.loki", sinks=[LokiExporter(loki.url)], reuse=False)
        with tracer.start_as_current_span("handler") as span:
            logger.info("in span", request_id="req-42")
        logger.info("no span")
        logger.drain()
    first, second = loki.stored
    ctx = span.get_span_context()
    assert first.metadata == {
        "trace_id": f"{ctx.trace_id:032x}",
        "span_id": f"{ctx.span_id:016x}",
        "request_id": "req-42",
    }
    assert second.metadata == {}
    assert first.labels == second.labels == '{level="INFO", service="fapilog"}'


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
def test_entries_are_sorted_by_time_within_each_stream(encoding: Any) -> None:
    """A batch handed over newest first is pushed oldest first per stream (the server enforces order)."""
    records = captured(20)
    with FakeLoki() as loki:
        exporter = LokiExporter(loki.url, encoding=encoding, batch_size=1000)

        async def main() -> None:
            exporter.export(list(reversed(records)))
            await exporter.force_flush(10_000)

        asyncio.run(main())
    stamps = [e.ts_ns for e in loki.stored]
    assert stamps == sorted(stamps)
    assert len(stamps) == 20
    assert loki.statuses() == [204]


def test_long_lines_are_truncated_with_a_marker_and_counted() -> None:
    """A line over max_line_bytes is cut (still within the server's limit) with a marker, and counted."""
    with FakeLoki(max_line_bytes=1000) as loki:
        exporter = LokiExporter(loki.url, max_line_bytes=1000)
        log_and_drain(exporter, "é" * 5000, "short")
    long, short = (e.line for e in loki.stored)
    assert len(long.encode()) <= 1000
    assert "[truncated" in long
    assert "short" in short
    assert exporter.lines_truncated == 1
    assert exporter.stats().sent == 2


def test_tenant_and_basic_auth_headers_reach_the_server() -> None:
    """X-Scope-OrgID carries the tenant; basic auth is user:password in base64."""
    with FakeLoki() as loki:
        log_and_drain(LokiExporter(loki.url, tenant_id="team-a", auth_username="user", auth_password="pässword"), "x")
    headers = loki.requests[0].headers
    assert headers["x-scope-orgid"] == "team-a"
    assert base64.b64decode(headers["authorization"].removeprefix("Basic ")) == "user:pässword".encode()


def test_bearer_token_header_and_conflicting_auth() -> None:
    """auth_token sends a bearer token; giving both token and basic credentials is a configuration error."""
    with FakeLoki() as loki:
        log_and_drain(LokiExporter(loki.url, auth_token="t0k3n"), "x")
    assert loki.requests[0].headers["authorization"] == "Bearer t0k3n"
    with pytest.raises(ValueError, match="not both"):
        LokiExporter(loki.url, auth_token="t", auth_username="u", auth_password="p")


def test_429_with_retry_after_then_delivered_once() -> None:
    """A 429 with Retry-After: 1 is waited out, then the batch is stored exactly once."""
    with FakeLoki() as loki:
        loki.fail_next(Fault(status=429, retry_after="1"))
        exporter = LokiExporter(loki.url, **FAST)
        log_and_drain(exporter, "a", "b")
    assert loki.statuses() == [429, 204]
    assert loki.requests[1].at - loki.requests[0].at >= 0.9
    assert [line["log"]["message"] for line in loki.lines()] == ["a", "b"]


def test_outage_spanning_several_retry_periods_delivers_at_least_once() -> None:
    """503 for 1 s: every record is stored once Loki is back; any duplicate is within what was counted."""
    with FakeLoki() as loki:
        loki.outage(1.0)
        exporter = LokiExporter(loki.url, batch_size=10, **FAST)
        log_and_drain(exporter, *[f"m{i}" for i in range(40)])
    stored = [line["log"]["message"] for line in loki.lines()]
    assert set(stored) == {f"m{i}" for i in range(40)}
    assert len(stored) - 40 <= exporter.stats().duplicates_possible
    assert loki.statuses().count(503) >= 3


def test_a_400_partial_rejection_is_reported_and_not_retried() -> None:
    """Loki ignores an entry too far behind and stores the rest: one request, 1 dropped with Loki's reason."""
    with FakeLoki() as loki:
        exporter = LokiExporter(loki.url, batch_timeout=60, **FAST)
        logger = get_logger("app.loki", sinks=[exporter], reuse=False)
        logger.info("old")
        time.sleep(0.01)
        loki.reject_before_ns = time.time_ns()
        logger.info("new 1")
        logger.info("new 2")
        logger.drain()
    assert loki.statuses() == [400]
    assert [line["log"]["message"] for line in loki.lines()] == ["new 1", "new 2"]
    stats = exporter.stats()
    assert (stats.sent, stats.dropped_by_reason, stats.retried) == (2, {"rejected": 1}, 0)
    assert "too far behind" in stats.last_error


def test_a_non_204_success_is_not_counted_as_delivered() -> None:
    """An endpoint answering 200 (not Loki's 204) gets no credit: the batch counts as failed, not retried."""
    with Receiver() as not_loki:
        exporter = LokiExporter(not_loki.url, **FAST)
        log_and_drain(exporter, "a", "b")
    assert not_loki.statuses() == [200]
    stats = exporter.stats()
    assert (stats.sent, stats.failed) == (0, 2)
    assert "not 204" in stats.last_error


def test_circuit_opens_fallback_gets_batches_and_one_probe_recovers() -> None:
    """Two 500s open the circuit; batches go to the fallback without touching Loki; after the recovery
    period one probe is pushed, succeeds and closes the circuit."""
    fallback = CaptureExporter()
    with FakeLoki() as loki:
        loki.fail_next(Fault(status=500), Fault(status=500))
        options = FAST | {"breaker_threshold": 2, "breaker_recovery": 0.5}
        exporter = LokiExporter(loki.url, fallback=fallback, **options)
        logger = get_logger("app.loki", sinks=[exporter], reuse=False)
        logger.info("first")
        logger.flush()
        assert exporter.stats().circuit == "open"
        logger.info("second")
        logger.info("third")
        logger.flush()
        assert len(loki.requests) == 2  # nothing reached Loki while open
        time.sleep(0.6)
        assert exporter.stats().circuit == "half_open"
        logger.info("probe")
        logger.flush()
        logger.info("after")
        logger.drain()
    assert fallback.messages() == ["first", "second", "third"]
    assert [line["log"]["message"] for line in loki.lines()] == ["probe", "after"]
    assert loki.statuses() == [500, 500, 204, 204]
    stats = exporter.stats()
    assert (stats.circuit, stats.circuit_opened, stats.diverted, stats.sent) == ("closed", 1, 3, 2)


def test_the_caller_never_waits_while_loki_is_slow_or_down() -> None:
    """Log calls complete while Loki takes 0.5 s per push and then refuses for a while; all arrive on drain."""
    with FakeLoki() as loki:
        loki.fail_next(Fault(delay=0.5), Fault(delay=0.5), Fault(status=503), Fault(status=503))
        logger = get_logger("app.loki", sinks=[LokiExporter(loki.url, batch_size=50, **FAST)], reuse=False)
        start = time.perf_counter()
        for i in range(300):
            logger.info("fast caller", n=i)
        spent = time.perf_counter() - start
        logger.drain()
    assert spent < 1.0  # generous: the slow pushes alone take a second
    assert len({line["log"]["data"]["n"] for line in loki.lines()}) == 300


def test_sink_spec_and_env_exporter(monkeypatch: pytest.MonkeyPatch) -> None:
    """{"type": "loki", ...} and EnvLokiExporter (FAPILOG_LOKI__*) build working exporters."""
    with FakeLoki() as loki:
        spec = {"type": "loki", "url": loki.url, "labels": {"team": "core"}, "tenant_id": "t1"}
        logger = get_logger("x", sinks=[spec], reuse=False)
        logger.info("from spec")
        logger.drain()
        monkeypatch.setenv("FAPILOG_LOKI__URL", loki.url)
        monkeypatch.setenv("FAPILOG_LOKI__LABELS", '{"team": "env"}')
        monkeypatch.setenv("FAPILOG_LOKI__LABEL_KEYS", "level,logger")
        monkeypatch.setenv("FAPILOG_LOKI__ENCODING", "json")
        exporter = EnvLokiExporter()
        for name in ("URL", "LABELS", "LABEL_KEYS", "ENCODING"):
            monkeypatch.delenv(f"FAPILOG_LOKI__{name}")  # until Settings mounts the loki section
        log_and_drain(exporter, "from env")
    first, second = loki.stored
    assert first.labels == '{level="INFO", team="core"}'
    assert loki.requests[0].headers["x-scope-orgid"] == "t1"
    assert second.labels == '{level="INFO", logger="app_loki", team="env"}'
    assert loki.requests[1].headers["content-type"] == "application/json"


def test_encoder_rate_is_measured() -> None:
    """Encoding 100k records to snappy protobuf (lines, labels, metadata, compression) runs at a sane rate."""
    records = captured(1000, request_id="r-1") * 100
    exporter = LokiExporter("http://127.0.0.1:9", label_keys=["level", "logger"])
    codec = exporter._codec
    start = time.perf_counter()
    items = [codec.item(r) for r in records]
    for i in range(0, len(items), 1000):
        codec.encode(items[i : i + 1000])
    rate = len(records) / (time.perf_counter() - start)
    print(f"loki encoder: {rate:,.0f} records/s")
    assert rate > 5_000
