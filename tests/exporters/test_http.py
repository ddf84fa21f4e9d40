"""The http and webhook exporters, used through fapilog against a real local HTTP receiver."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from fapilog import get_logger
from fapilog.exporters.http import EnvHttpExporter, HttpExporter, WebhookExporter, http_exporter, sign
from tests.exporters._servers import Fault, Receiver, verify_signature

FAST_RETRY: dict[str, Any] = {"backoff": 0.05, "max_backoff": 0.2, "max_retries": 30, "breaker_recovery": 0.2}


def envelopes(server: Receiver) -> list[dict[str, Any]]:
    """Every envelope the receiver accepted, whatever the batch format."""
    out: list[dict[str, Any]] = []
    for request in server.delivered():
        doc = (
            [json.loads(line) for line in request.body.splitlines()]
            if request.headers["content-type"] == "application/x-ndjson"
            else json.loads(request.body)
        )
        out.extend(doc["logs"] if isinstance(doc, dict) else doc)
    return out


def messages(server: Receiver) -> list[str]:
    return [e["log"]["message"] for e in envelopes(server)]


def test_every_record_arrives_exactly_once_as_a_json_array() -> None:
    """Healthy receiver: 250 records arrive once each, in order, as arrays of fapilog envelopes."""
    with Receiver() as server:
        exporter = HttpExporter(server.url + "/ingest", batch_size=100, headers={"X-Api-Key": "k1"})
        logger = get_logger("x", sinks=[exporter], reuse=False)
        for i in range(250):
            logger.info("event", n=i)
        logger.drain()
    assert messages(server) == ["event"] * 250
    assert [e["log"]["data"]["n"] for e in envelopes(server)] == list(range(250))
    assert envelopes(server)[0]["schema_version"] == "1.1"
    request = server.requests[0]
    assert request.path == "/ingest"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-api-key"] == "k1"
    stats = exporter.stats()
    assert (stats.sent, stats.failed, stats.dropped, stats.retried) == (250, 0, 0, 0)


@pytest.mark.parametrize(
    ("batch_format", "content_type", "start"),
    [
        ("array", "application/json", b"[{"),
        ("ndjson", "application/x-ndjson", b"{"),
        ("wrapped", "application/json", b'{"logs":['),
    ],
)
def test_batch_formats(batch_format: Any, content_type: str, start: bytes) -> None:
    """array, ndjson and wrapped bodies carry the same envelopes with their content type."""
    with Receiver() as server:
        logger = get_logger("x", sinks=[HttpExporter(server.url, batch_format=batch_format)], reuse=False)
        logger.info("one")
        logger.warning("two", k="v")
        logger.drain()
    assert messages(server) == ["one", "two"]
    assert server.requests[0].headers["content-type"] == content_type
    assert server.requests[0].body.startswith(start)


def test_wrapped_format_uses_the_wrapper_key() -> None:
    """The wrapped format puts the envelopes under batch_wrapper_key."""
    with Receiver() as server:
        logger = get_logger(
            "x", sinks=[HttpExporter(server.url, batch_format="wrapped", wrapper_key="events")], reuse=False
        )
        logger.info("hello")
        logger.drain()
    doc = json.loads(server.requests[0].body)
    assert [e["log"]["message"] for e in doc["events"]] == ["hello"]


def test_sink_spec_dict_builds_an_http_exporter() -> None:
    """{"type": "http", ...} with FAPILOG_HTTP__* field names builds the exporter through the sink registry."""
    with Receiver() as server:
        spec = {"type": "http", "endpoint": server.url, "batch_format": "ndjson", "headers": {"X-T": "1"}}
        logger = get_logger("x", sinks=[spec], reuse=False)
        logger.info("via spec")
        logger.drain()
    assert messages(server) == ["via spec"]
    assert server.requests[0].headers["x-t"] == "1"


def test_settings_errors_name_the_sink_and_the_variable() -> None:
    """A bad batch format or a missing endpoint fails at configuration with a clear message."""
    with pytest.raises(ValueError, match="sink 'http'"):
        http_exporter(None, endpoint="http://127.0.0.1:9", batch_format="xml")
    with pytest.raises(ValueError, match="FAPILOG_HTTP__ENDPOINT"):
        http_exporter(None)


def test_env_exporter_reads_fapilog_http_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """EnvHttpExporter (OTEL_LOGS_EXPORTER=fapilog_http) is configured by FAPILOG_HTTP__* alone."""
    with Receiver() as server:
        monkeypatch.setenv("FAPILOG_HTTP__ENDPOINT", server.url + "/env")
        monkeypatch.setenv("FAPILOG_HTTP__BATCH_FORMAT", "wrapped")
        monkeypatch.setenv("FAPILOG_HTTP__HEADERS_JSON", '{"X-From": "env"}')
        monkeypatch.setenv("FAPILOG_HTTP__RETRY_MAX_ATTEMPTS", "4")
        exporter = EnvHttpExporter()
        assert exporter.delivery.retry.max_retries == 3
        for name in ("ENDPOINT", "BATCH_FORMAT", "HEADERS_JSON", "RETRY_MAX_ATTEMPTS"):
            monkeypatch.delenv(f"FAPILOG_HTTP__{name}")  # until Settings mounts the http section
        logger = get_logger("x", sinks=[exporter], reuse=False)
        logger.info("from env")
        logger.drain()
    assert messages(server) == ["from env"]
    assert server.requests[0].path == "/env"
    assert server.requests[0].headers["x-from"] == "env"


def test_webhook_signature_verifies_for_non_ascii_payloads() -> None:
    """Each webhook request is signed over its exact bytes; the receiver's recipe verifies non-ASCII and emoji."""
    texts = ["héllo wörld", "日本語のログ", "emoji 🚀🔥 ok", 'quote " and \\ backslash']
    with Receiver(secret="s3cr3t-ключ") as server:
        exporter = WebhookExporter(server.url + "/hook", secret="s3cr3t-ключ", batch_size=2)
        logger = get_logger("x", sinks=[exporter], reuse=False)
        for text in texts:
            logger.info(text, who="ünïcødé")
        logger.drain()
    assert len(server.requests) == 2
    assert all(r.verified for r in server.requests)
    assert all(r.headers["x-fapilog-signature-256"].startswith("sha256=") for r in server.requests)
    assert messages(server) == texts
    assert "🚀".encode() in b"".join(r.body for r in server.requests)


def test_a_tampered_or_wrongly_keyed_webhook_body_fails_verification() -> None:
    """The recipe rejects a changed body, a wrong secret and a stale timestamp."""
    body = '[{"m": "ünï"}]'.encode()
    stamp = int(time.time())
    headers = {"x-fapilog-timestamp": str(stamp), "x-fapilog-signature-256": sign("k", body, stamp)}
    assert verify_signature("k", headers, body)
    assert not verify_signature("k", headers, body + b" ")
    assert not verify_signature("other", headers, body)
    old = {"x-fapilog-timestamp": str(stamp - 3600), "x-fapilog-signature-256": sign("k", body, stamp - 3600)}
    assert not verify_signature("k", old, body)


def test_webhook_retries_are_signed_afresh() -> None:
    """A retried webhook request carries a valid signature too (signed at each attempt)."""
    with Receiver(secret="k") as server:
        server.fail_next(Fault(status=503))
        logger = get_logger("x", sinks=[WebhookExporter(server.url, secret="k", **FAST_RETRY)], reuse=False)
        logger.info("retry me")
        logger.drain()
    assert server.statuses() == [503, 200]
    assert server.requests[1].verified
    assert messages(server) == ["retry me"]


def test_429_retry_after_is_honoured_then_delivered_once() -> None:
    """After a 429 with Retry-After: 1 the exporter waits about a second, then the batch arrives once."""
    with Receiver() as server:
        server.fail_next(Fault(status=429, retry_after="1"))
        exporter = HttpExporter(server.url, **FAST_RETRY)
        logger = get_logger("x", sinks=[exporter], reuse=False)
        logger.info("throttled")
        logger.drain()
    first, second = server.requests
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 0.9
    assert messages(server) == ["throttled"]
    assert exporter.stats().duplicates_possible == 0


def test_outage_spanning_several_retry_periods_delivers_everything() -> None:
    """503 for 1 s (many backoff periods): every record still arrives, at least once, after the outage."""
    with Receiver() as server:
        server.outage(1.0)
        exporter = HttpExporter(server.url, batch_size=20, **FAST_RETRY)
        logger = get_logger("x", sinks=[exporter], reuse=False)
        for i in range(50):
            logger.info("during outage", n=i)
        logger.drain()
    seen = [e["log"]["data"]["n"] for e in envelopes(server)]
    assert set(seen) == set(range(50))
    stats = exporter.stats()
    assert stats.sent == 50
    assert stats.retried >= 3
    assert len(seen) - 50 <= stats.duplicates_possible


def test_a_400_is_not_retried_and_is_counted() -> None:
    """A permanent 4xx is reported (dropped, reason rejected) after a single request."""
    with Receiver() as server:
        server.fail_next(Fault(status=400))
        exporter = HttpExporter(server.url, **FAST_RETRY)
        logger = get_logger("x", sinks=[exporter], reuse=False)
        logger.info("bad")
        logger.drain()
    assert server.statuses() == [400]
    assert exporter.stats().dropped_by_reason == {"rejected": 1}


def test_the_caller_never_waits_on_a_slow_or_down_server() -> None:
    """Log calls complete while each request takes 0.5 s, and all records arrive on drain."""
    with Receiver() as server:
        server.fail_next(*[Fault(delay=0.5)] * 4)
        logger = get_logger("x", sinks=[HttpExporter(server.url, batch_size=50)], reuse=False)
        start = time.perf_counter()
        for i in range(200):
            logger.info("fast caller", n=i)
        spent = time.perf_counter() - start
        logger.drain()
    assert spent < 1.0  # generous: the four slow requests alone take 2 s
    assert len(messages(server)) == 200


def test_drain_result_and_stats_count_delivery_retries_and_failures() -> None:
    """Retries and permanent failures inside the exporter reach DrainResult and the pipeline's stats."""
    with Receiver() as server:
        server.fail_next(Fault(status=503), Fault(status=503))
        logger = get_logger("x", sinks=[HttpExporter(server.url, **FAST_RETRY)], reuse=False)
        logger.info("retried twice")
        first = logger.drain()
        server.fail_next(Fault(status=400))
        logger.info("refused")
        second = logger.drain()
    assert first.retried == 2
    assert first.export_failures == 0
    assert second.export_failures == 1  # the 400: permanent, counted, not retried
    assert logger.stats().retried == 2
