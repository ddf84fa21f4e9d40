"""Logger facades: what a log call captures, on which thread, and that it never raises."""

from __future__ import annotations

import asyncio
import datetime
import threading
from typing import Any

import orjson
from opentelemetry.sdk.trace import TracerProvider

from fapilog import get_async_logger, get_logger
from fapilog._otel import SeverityNumber
from fapilog.exporters.stdout import StdoutJsonExporter
from fapilog.testing import CaptureExporter, capture_logs


class Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    __str__ = __repr__


def test_json_line_inside_a_span_carries_its_trace_and_span_ids(tmp_path: Any) -> None:
    """Inside an active span, logger.info("x", user_id=1) writes a JSON line with that span's ids."""
    path = tmp_path / "out.jsonl"
    tracer = TracerProvider().get_tracer("t")
    with path.open("w") as stream:
        logger = get_logger("app", sinks=[StdoutJsonExporter(stream)])
        with tracer.start_as_current_span("work") as span:
            logger.info("x", user_id=1)
            ctx = span.get_span_context()
        logger.drain()
    line = orjson.loads(path.read_text().splitlines()[0])
    assert line["log"]["context"]["trace_id"] == f"{ctx.trace_id:032x}"
    assert line["log"]["context"]["span_id"] == f"{ctx.span_id:016x}"
    assert line["log"]["context"]["user_id"] == 1  # a well-known context key, as in fapilog 0.18
    assert line["log"]["data"] == {}
    assert line["schema_version"] == "1.1"


def test_record_is_a_real_otel_record_with_scope_and_resource(monkeypatch: Any) -> None:
    """Each call becomes an SDK record: severity, body, attributes, scope = logger name, resource from env."""
    monkeypatch.setenv("FAPILOG_SERVICE", "checkout")
    monkeypatch.setenv("FAPILOG_ENV", "staging")
    monkeypatch.setenv("FAPILOG_VERSION", "2.0.1")
    exporter = CaptureExporter()
    logger = get_logger("orders", sinks=[exporter], format="json")
    logger.warning("low stock", sku="A1", left=3)
    logger.drain()
    (record,) = exporter.records
    lr = record.log_record
    assert lr.severity_number is SeverityNumber.WARN
    assert lr.severity_text == "WARNING"
    assert lr.body == "low stock"
    assert dict(lr.attributes or {}) == {"sku": "A1", "left": 3}
    assert lr.timestamp is not None
    assert lr.timestamp > 0
    assert record.instrumentation_scope is not None
    assert record.instrumentation_scope.name == "orders"
    attrs = record.resource.attributes
    assert attrs["service.name"] == "checkout"
    assert attrs["deployment.environment.name"] == "staging"
    assert attrs["service.version"] == "2.0.1"


def test_otel_service_name_is_honoured(monkeypatch: Any) -> None:
    """Without FAPILOG_SERVICE, OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES build the resource."""
    monkeypatch.setenv("OTEL_SERVICE_NAME", "billing")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "team=payments")
    with capture_logs() as (logger, exporter):
        logger.info("x")
    attrs = exporter.records[0].resource.attributes
    assert attrs["service.name"] == "billing"
    assert attrs["team"] == "payments"


def test_odd_values_neither_raise_nor_lose_the_record() -> None:
    """A datetime, a set, a cyclic dict and an object whose repr raises are coerced; the record arrives."""
    cyclic: dict[str, Any] = {"name": "loop"}
    cyclic["self"] = cyclic
    when = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    with capture_logs() as (logger, exporter):
        logger.info("odd", when=when, tags={"b", "a"}, cyclic=cyclic, weird=Unprintable())
    (env,) = exporter.envelopes()
    data = env["log"]["data"]
    assert data["when"] == "2026-01-02T03:04:05+00:00"
    assert data["tags"] == ["a", "b"]
    assert data["cyclic"] == {"name": "loop", "self": "<cycle>"}
    assert data["weird"] == "<unprintable Unprintable>"
    orjson.dumps(env)


def test_exception_methods_attach_type_message_stack_and_cause() -> None:
    """exception(), exc= and exc_info= attach exception.* attributes with the cause chain."""
    with capture_logs() as (logger, exporter):
        try:
            lookup: dict[str, int] = {}
            try:
                lookup["k"]
            except KeyError as inner:
                raise ValueError("bad input") from inner
        except ValueError as err:
            logger.exception("failed")
            logger.error("also", exc=err)
            logger.warning("info", exc_info=True)
        logger.info("no exception here", exc_info=True)
    failed, also, info, none = (
        {k: str(v) for k, v in (r.log_record.attributes or {}).items()} for r in exporter.records
    )
    for attrs in (failed, also, info):
        assert attrs["exception.type"] == "ValueError"
        assert attrs["exception.message"] == "bad input"
        assert "KeyError" in attrs["exception.stacktrace"]
        assert "direct cause" in attrs["exception.stacktrace"]
    assert "exception.type" not in none
    assert exporter.records[0].log_record.severity_text == "ERROR"


def test_disabled_levels_are_skipped() -> None:
    """Below the logger's level nothing is captured or counted."""
    with capture_logs(settings=None, preset="minimal") as (logger, exporter):
        logger.debug("hidden")
        logger.info("shown")
        stats = logger.stats()
    assert exporter.messages() == ["shown"]
    assert stats.submitted == 1


def test_audit_and_security_levels() -> None:
    """AUDIT and SECURITY are built in, above ERROR in OpenTelemetry severity."""
    with capture_logs() as (logger, exporter):
        logger.audit("a")
        logger.security("s")
        logger.log("CRITICAL", "c")
    severities = [r.log_record.severity_number for r in exporter.records]
    assert severities == [SeverityNumber.ERROR3, SeverityNumber.ERROR4, SeverityNumber.FATAL]
    assert [r.log_record.severity_text for r in exporter.records] == ["AUDIT", "SECURITY", "CRITICAL"]


def test_context_is_captured_on_the_calling_thread_at_call_time() -> None:
    """A field bound on a thread reaches that thread's records only, with its value at call time."""
    with capture_logs() as (logger, exporter):

        def work(n: int) -> None:
            logger.bind(request_id=f"r{n}")
            logger.info("start", n=n)
            logger.bind(request_id=f"r{n}-later")
            logger.clear_context()
            logger.info("end", n=n)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    for env in exporter.envelopes():
        n = env["log"]["data"]["n"]
        if env["log"]["message"] == "start":
            assert env["log"]["context"]["request_id"] == f"r{n}"
        else:
            assert "request_id" not in env["log"]["context"]


def test_request_id_in_an_asyncio_task_reaches_the_output() -> None:
    """A request_id bound inside an asyncio task appears in that task's records."""
    exporter = CaptureExporter()

    async def handler(rid: str) -> None:
        logger = await get_async_logger("api", sinks=[exporter])
        logger.bind(request_id=rid)
        await asyncio.sleep(0)
        await logger.info("handled", rid=rid)

    async def main() -> None:
        await asyncio.gather(*(handler(f"req-{i}") for i in range(20)))
        await (await get_async_logger("api", sinks=[exporter])).drain()

    asyncio.run(main())
    envs = exporter.envelopes()
    assert len(envs) == 20
    for env in envs:
        assert env["log"]["context"]["request_id"] == env["log"]["data"]["rid"]


def test_default_bound_context_is_on_every_record() -> None:
    """core.default_bound_context fields reach every record; bound fields override them."""
    from fapilog import Settings

    settings = Settings(core={"default_bound_context": {"region": "eu", "request_id": "none"}})
    with capture_logs(settings=settings) as (logger, exporter):
        logger.info("a")
        logger.bind(request_id="r1").info("b")
        logger.clear_context()
    a, b = exporter.envelopes()
    assert a["log"]["context"] == {"region": "eu", "request_id": "none"}
    assert b["log"]["context"] == {"region": "eu", "request_id": "r1"}


def test_call_fields_override_bound_context() -> None:
    """A field passed to the call wins over the same key bound in context."""
    with capture_logs() as (logger, exporter):
        logger.bind(user_id="bound")
        logger.info("x", user_id="explicit")
        logger.unbind("user_id")
        logger.info("y")
    x, y = (dict(r.log_record.attributes or {}) for r in exporter.records)
    assert x["user_id"] == "explicit"
    assert "user_id" not in y


def test_unknown_level_in_log_is_logged_not_raised() -> None:
    """log() with an unknown level name logs at INFO and records the name it was given."""
    with capture_logs() as (logger, exporter):
        logger.log("VERBOSE", "x")
    (record,) = exporter.records
    assert record.log_record.severity_text == "INFO"
    assert (record.log_record.attributes or {})["fapilog.unknown_level"] == "VERBOSE"


def test_set_level_changes_what_is_emitted() -> None:
    """set_level raises or lowers the threshold of one logger."""
    with capture_logs() as (logger, exporter):
        logger.set_level("ERROR")
        logger.warning("hidden")
        logger.error("shown")
        assert logger.level == "ERROR"
        assert logger.is_enabled_for("CRITICAL")
        assert not logger.is_enabled_for("INFO")
    assert exporter.messages() == ["shown"]


def test_disabled_level_keeps_nothing() -> None:
    """A call below the level is one comparison: nothing is queued, counted or kept in memory."""
    import tracemalloc

    with capture_logs() as (logger, _exporter):
        logger.debug("warm up")
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        for _ in range(10_000):
            logger.debug("disabled", n=1)
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        grown = sum(s.size_diff for s in after.compare_to(before, "filename") if s.size_diff > 0)
        assert logger.stats().submitted == 0
    assert grown < 4_096  # the snapshots' own bookkeeping; 10,000 kept calls would be megabytes


def test_the_record_itself_carries_coerced_values_whatever_the_caller_found() -> None:
    """The caller vouches for plain values (the worker then skips its check); anything else, including an
    int past 64 bits or a str subclass, is still coerced in the OTel record that every exporter gets."""

    class Name(str):
        pass

    with capture_logs() as (logger, exporter):
        logger.info("plain", n=5, low=-(2**63), high=2**63 - 1, ratio=0.5, ok=True, none=None, s="x")
        logger.info("odd", big=2**63, small=-(2**63) - 1, name=Name("n"), when=datetime.date(2026, 1, 2))
    plain, odd = (record.log_record.attributes for record in exporter.records)
    assert plain == {"n": 5, "low": -(2**63), "high": 2**63 - 1, "ratio": 0.5, "ok": True, "none": None, "s": "x"}
    assert odd == {"big": str(2**63), "small": str(-(2**63) - 1), "name": "n", "when": "2026-01-02"}
    assert type(odd["name"]) is str
