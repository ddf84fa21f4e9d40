"""The FastAPI integration, driven over real HTTP against a uvicorn server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated, Any

import httpx
import pytest
import uvicorn
from fastapi import BackgroundTasks, Depends, FastAPI
from fastapi.responses import StreamingResponse
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import INVALID_SPAN_CONTEXT, SpanKind

import fapilog.fastapi
import fapilog.instrumentation.fastapi
from fapilog import get_logger, run_in_executor_with_context
from fapilog.fastapi import RequestLogger, get_request_logger, setup_logging
from fapilog.fastapi.context import RequestContextMiddleware
from fapilog.fastapi.logging import LoggingMiddleware
from fapilog.instrumentation._fastapi_access import Sampler
from fapilog.instrumentation._fastapi_ids import clean_id, parse_traceparent
from fapilog.testing import CaptureExporter
from tests.test_seed_snippets import README_FASTAPI as SEED_LIFESPAN
from tests.test_seed_snippets import README_FASTAPI_MIDDLEWARE as SEED_MIDDLEWARE

RequestLog = Annotated[RequestLogger, Depends(get_request_logger)]

# ---- harness --------------------------------------------------------------------------------------------------


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run ``app`` under a real uvicorn server on a free loopback port; yields its base URL, stops it after."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, lifespan="on", log_config=None, log_level="critical", ws="none", http="h11"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        assert not thread.is_alive(), "uvicorn did not stop"


def logs(capture: CaptureExporter, message: str | None = None) -> list[dict[str, Any]]:
    """The captured envelopes' ``log`` parts (only those with ``message``, when given)."""
    found = [e["log"] for e in capture.envelopes()]
    return [e for e in found if message is None or e["message"] == message]


def make_app(capture: CaptureExporter, **options: Any) -> FastAPI:
    """An app with the routes most tests use, logging into ``capture``."""
    app = FastAPI(lifespan=setup_logging(sinks=[capture], **options))

    @app.get("/items/{item_id}")
    async def item(item_id: str, logger: RequestLog) -> dict[str, str]:
        await logger.info("handling item", item=item_id)
        return {"item": item_id}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/static/app.js")
    async def static() -> dict[str, str]:
        return {"js": "1"}

    @app.get("/boom")
    async def boom(logger: RequestLog) -> None:
        await logger.info("about to fail")
        raise RuntimeError("kaboom")

    return app


# ---- ids ------------------------------------------------------------------------------------------------------


def test_request_id_is_taken_echoed_and_on_every_record(capture: CaptureExporter) -> None:
    """A safe X-Request-ID is echoed and carried by the handler's record and request_completed."""
    with serve(make_app(capture)) as url:
        given = httpx.get(f"{url}/items/7", headers={"X-Request-ID": "req-abc.1:2_3-4"})
        fresh = httpx.get(f"{url}/items/8")
    assert given.headers["x-request-id"] == "req-abc.1:2_3-4"
    generated = fresh.headers["x-request-id"]
    assert len(generated) == 32
    assert int(generated, 16) >= 0
    by_item = {e["data"].get("item"): e for e in logs(capture, "handling item")}
    assert by_item["7"]["context"]["request_id"] == "req-abc.1:2_3-4"
    assert by_item["8"]["context"]["request_id"] == generated
    completed = {e["data"]["path"]: e for e in logs(capture, "request_completed")}
    assert completed["/items/7"]["context"]["request_id"] == "req-abc.1:2_3-4"
    assert completed["/items/8"]["context"]["request_id"] == generated


@pytest.mark.parametrize("hostile", ["a b", "x" * 129, "<script>", "id;drop", "\u00e9t\u00e9", "x" * 5000])
def test_hostile_request_id_is_replaced_and_never_logged(capture: CaptureExporter, hostile: str) -> None:
    """An unsafe X-Request-ID is replaced by a generated one; the raw value reaches no record's id."""
    with serve(make_app(capture, log_headers=False)) as url:
        response = httpx.get(f"{url}/items/1", headers={b"X-Request-ID": hostile.encode("utf-8")})
    replaced = response.headers["x-request-id"]
    assert replaced != hostile
    assert len(replaced) == 32
    assert all(e["context"]["request_id"] == replaced for e in logs(capture))
    assert hostile not in json.dumps(capture.envelopes())


@pytest.mark.parametrize(
    "value", ["a\nb", "a\r\nX-Evil: 1", "\x00", "\x1b[31m", "a\tb", "x" * 129, "", "caf\u00e9", "/../"]
)
def test_clean_id_refuses_control_characters_and_long_values(value: str) -> None:
    """Request ids with control characters, newlines, other characters or over 128 characters are refused."""
    assert clean_id(value) is None


def test_traceparent_parsing_follows_the_w3c_format() -> None:
    """A valid traceparent parses; bad versions, zero ids, wrong lengths and upper case do not."""
    trace, span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    parsed = parse_traceparent(f"00-{trace}-{span}-01")
    assert parsed is not None
    assert (parsed.trace_id, parsed.span_id, int(parsed.trace_flags)) == (int(trace, 16), int(span, 16), 1)
    assert parsed.is_remote
    assert parse_traceparent(f"01-{trace}-{span}-00-future") is not None  # later versions may add fields
    for bad in (
        f"ff-{trace}-{span}-01",
        f"00-{'0' * 32}-{span}-01",
        f"00-{trace}-{'0' * 16}-01",
        f"00-{trace.upper()}-{span}-01",
        f"00-{trace}-{span}-01-extra",
        f"00-{trace[:-1]}-{span}-01",
        "garbage",
        None,
    ):
        assert parse_traceparent(bad) is None, bad


def test_user_and_tenant_ids_come_from_configured_headers(capture: CaptureExporter) -> None:
    """With user and tenant headers configured, their (safe) values are bound for the request."""
    app = make_app(capture, user_id_header="X-User", tenant_id_header="X-Tenant")
    with serve(app) as url:
        httpx.get(f"{url}/items/1", headers={"X-User": "alice@example.com", "X-Tenant": "acme"})
        httpx.get(f"{url}/items/2", headers={"X-User": "bad user\x7f", "X-Tenant": "t" * 200})
    by_item = {e["data"]["item"]: e["context"] for e in logs(capture, "handling item")}
    assert (by_item["1"]["user_id"], by_item["1"]["tenant_id"]) == ("alice@example.com", "acme")
    assert "user_id" not in by_item["2"]
    assert "tenant_id" not in by_item["2"]


# ---- the access record ----------------------------------------------------------------------------------------


def test_request_completed_fields_and_masked_headers(capture: CaptureExporter) -> None:
    """request_completed has method, path, route template, status, latency, client, user agent and masked headers."""
    with serve(make_app(capture, redact_headers=["X-Internal-Token"])) as url:
        httpx.get(
            f"{url}/items/42",
            headers={
                "Authorization": "Bearer sekret-token",
                "Cookie": "session=sekret-cookie",
                "X-API-Key": "sekret-key",
                "X-Internal-Token": "sekret-internal",
                "User-Agent": "probe/1.0",
                "Accept": "application/json",
            },
        )
    (record,) = logs(capture, "request_completed")
    data = record["data"]
    assert record["level"] == "INFO"
    assert (data["method"], data["path"], data["route"], data["status_code"]) == (
        "GET",
        "/items/42",
        "/items/{item_id}",
        200,
    )
    assert data["latency_ms"] > 0
    assert data["client_ip"] == "127.0.0.1"
    assert data["user_agent"] == "probe/1.0"
    headers = data["headers"]
    for name in ("authorization", "cookie", "x-api-key", "x-internal-token"):
        assert headers[name] == "***"
    assert headers["accept"] == "application/json"
    assert "sekret" not in json.dumps(capture.envelopes())


def test_skip_paths_exact_and_glob(capture: CaptureExporter) -> None:
    """Skipped paths (exact and glob) log no request_completed; other paths do."""
    with serve(make_app(capture, skip_paths=["/healthz", "/static/*"])) as url:
        for path in ("/healthz", "/static/app.js", "/items/1"):
            assert httpx.get(f"{url}{path}").status_code == 200
    assert [e["data"]["path"] for e in logs(capture, "request_completed")] == ["/items/1"]


def test_a_failing_skipped_path_is_still_logged(capture: CaptureExporter) -> None:
    """skip_paths quiets successes only: an exception on a skipped path is logged."""
    with serve(make_app(capture, skip_paths=["/boom"])) as url:
        assert httpx.get(f"{url}/boom").status_code == 500
    assert len(logs(capture, "request_failed")) == 1


def test_sampling_drops_successes_but_never_errors(capture: CaptureExporter) -> None:
    """With sample_rate=0 successes are not logged; 4xx (WARNING) and failures (ERROR) always are."""
    with serve(make_app(capture, sample_rate=0.0)) as url:
        for _ in range(5):
            httpx.get(f"{url}/items/1")
        assert httpx.get(f"{url}/nowhere").status_code == 404
        assert httpx.get(f"{url}/boom").status_code == 500
    completed = logs(capture, "request_completed")
    assert [(e["data"]["status_code"], e["level"]) for e in completed] == [(404, "WARNING")]
    assert len(logs(capture, "request_failed")) == 1
    assert len(logs(capture, "handling item")) == 5  # sampling is about the access record only


def test_sampling_keeps_about_the_rate(capture: CaptureExporter) -> None:
    """A sample_rate of 0.5 keeps some but not all of many successful requests."""

    async def hammer(url: str) -> None:
        async with httpx.AsyncClient(base_url=url) as client:
            await asyncio.gather(*(client.get("/healthz") for _ in range(200)))

    with serve(make_app(capture, sample_rate=0.5)) as url:
        asyncio.run(hammer(url))
    kept = len(logs(capture, "request_completed"))
    assert 40 < kept < 160, kept


def test_sampling_never_draws_from_the_random_modules_state() -> None:
    """Requests without a trace are sampled with the sampler's own generator: an application that seeds
    ``random`` gets the same numbers whether or not requests were sampled meanwhile."""
    sampler = Sampler(0.5)
    state = random.getstate()
    kept = sum(sampler(INVALID_SPAN_CONTEXT) for _ in range(1000))
    assert 300 < kept < 700, kept
    assert random.getstate() == state


def test_an_exception_is_logged_once_with_traceback_and_answers_500(capture: CaptureExporter) -> None:
    """An unhandled exception: one request_failed at ERROR with the traceback, re-raised so the server says 500."""
    with serve(make_app(capture)) as url:
        response = httpx.get(f"{url}/boom", headers={"X-Request-ID": "fail-1"})
    assert response.status_code == 500
    failed = logs(capture, "request_failed")
    assert len(failed) == 1
    (record,) = failed
    assert record["level"] == "ERROR"
    assert record["context"]["request_id"] == "fail-1"
    assert record["data"]["status_code"] == 500
    assert record["data"]["route"] == "/boom"
    error = record["diagnostics"]["exception"]
    assert error["error.type"] == "RuntimeError"
    assert error["error.message"] == "kaboom"
    assert "Traceback" in error["error.stack"]
    assert "in boom" in error["error.stack"]
    assert not logs(capture, "request_completed")
    assert [e for e in logs(capture) if e["level"] == "ERROR"] == failed


def test_streaming_response_is_timed_to_its_last_byte(capture: CaptureExporter) -> None:
    """A streaming response's latency covers the whole body, not only the handler."""
    app = make_app(capture)

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(3):
            await asyncio.sleep(0.1)
            yield f"chunk {i}\n".encode()

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        return StreamingResponse(chunks(), media_type="text/plain")

    with serve(app) as url:
        body = httpx.get(f"{url}/stream").text
    assert body == "chunk 0\nchunk 1\nchunk 2\n"
    (record,) = logs(capture, "request_completed")
    assert record["data"]["latency_ms"] >= 290


# ---- context reaches everything ---------------------------------------------------------------------------------


def test_concurrent_requests_never_mix_contexts(capture: CaptureExporter) -> None:
    """Fifty requests in parallel, each with its own id: every record carries its own request's id."""
    app = make_app(capture)

    @app.get("/slow/{n}")
    async def slow(n: int, logger: RequestLog) -> dict[str, int]:
        await logger.info("before sleep", n=n)
        await asyncio.sleep(0.001 * (n % 7))
        await logger.info("after sleep", n=n)
        return {"n": n}

    async def fire(url: str) -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=url, limits=httpx.Limits(max_connections=50)) as client:
            return await asyncio.gather(
                *(client.get(f"/slow/{n}", headers={"X-Request-ID": f"r-{n}"}) for n in range(50))
            )

    with serve(app) as url:
        responses = asyncio.run(fire(url))
    assert [r.headers["x-request-id"] for r in responses] == [f"r-{n}" for n in range(50)]
    handled = [e for e in logs(capture) if e["message"] in ("before sleep", "after sleep")]
    assert len(handled) == 100
    for record in handled:
        assert record["context"]["request_id"] == f"r-{record['data']['n']}"
    completed = logs(capture, "request_completed")
    assert len(completed) == 50
    for record in completed:
        assert record["data"]["path"] == f"/slow/{record['context']['request_id'][2:]}"


def test_background_tasks_and_threads_carry_the_request_id(capture: CaptureExporter) -> None:
    """Background tasks and threads started with fapilog's context helpers log with the request's id."""
    app = make_app(capture)
    threaded = get_logger("threaded", sinks=[capture], reuse=False)

    async def after_response(logger: RequestLogger) -> None:
        await logger.info("in background")

    def in_thread() -> str:
        threaded.info("in thread")
        return threading.current_thread().name

    @app.get("/work")
    async def work(background: BackgroundTasks, logger: RequestLog) -> dict[str, str]:
        background.add_task(after_response, logger)
        name = await run_in_executor_with_context(in_thread)
        return {"thread": name}

    with serve(app) as url:
        response = httpx.get(f"{url}/work", headers={"X-Request-ID": "bg-1"})
    threaded.drain()
    assert response.json()["thread"] != "uvicorn-test"
    for message in ("in background", "in thread", "request_completed"):
        (record,) = logs(capture, message)
        assert record["context"]["request_id"] == "bg-1", message


def test_context_is_reset_after_the_request(capture: CaptureExporter) -> None:
    """Nothing a request bound is left in the context of what runs after it."""
    app = make_app(capture)
    seen: list[dict[str, Any]] = []

    @app.get("/peek")
    async def peek() -> dict[str, str]:
        from fapilog._context import current_context

        seen.append(dict(current_context()))
        return {}

    with serve(app) as url, httpx.Client(base_url=url) as client:  # one connection, kept alive
        client.get("/peek", headers={"X-Request-ID": "first"})
        client.get("/peek")
    assert seen[0]["request_id"] == "first"
    assert seen[1]["request_id"] != "first"


# ---- OpenTelemetry correlation -----------------------------------------------------------------------------------


def test_logs_carry_the_fastapi_instrumentor_server_span(capture: CaptureExporter) -> None:
    """With FastAPIInstrumentor, every record of a request has its server span's trace id and span id."""
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    app = make_app(capture)
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider)
    try:
        with serve(app) as url:
            for n in range(3):
                assert httpx.get(f"{url}/items/{n}").status_code == 200
    finally:
        FastAPIInstrumentor.uninstrument_app(app)
    servers = {f"{s.context.trace_id:032x}": s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER}
    assert len(servers) == 3
    records = [e for e in logs(capture) if e["message"] in ("handling item", "request_completed")]
    assert len(records) == 6
    for record in records:
        span = servers[record["context"]["trace_id"]]
        assert record["context"]["span_id"] == f"{span.context.span_id:016x}"


def test_traceparent_is_honoured_without_the_instrumentor(capture: CaptureExporter) -> None:
    """Without an OpenTelemetry span, a valid traceparent is the request's trace context; else fresh ids."""
    trace, span = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    with serve(make_app(capture)) as url:
        httpx.get(f"{url}/items/1", headers={"traceparent": f"00-{trace}-{span}-01"})
        httpx.get(f"{url}/items/2", headers={"traceparent": "00-not-a-trace-01"})
        httpx.get(f"{url}/items/3")
    by_item = {e["data"]["item"]: e["context"] for e in logs(capture, "handling item")}
    assert (by_item["1"]["trace_id"], by_item["1"]["span_id"]) == (trace, span)
    assert by_item["2"]["trace_id"] != trace
    assert len({by_item[i]["trace_id"] for i in "123"}) == 3
    completed = {e["data"]["path"]: e["context"] for e in logs(capture, "request_completed")}
    assert completed["/items/1"]["trace_id"] == trace


# ---- debug-on-error --------------------------------------------------------------------------------------------


def test_debug_on_error_replays_a_failed_requests_debug_records(capture: CaptureExporter) -> None:
    """A failed request's DEBUG records (the last N) are emitted with the failure; a good request's never are."""
    app = make_app(capture, debug_on_error=True, debug_buffer_size=3)

    @app.get("/story/{fail}")
    async def story(fail: int, logger: RequestLog) -> dict[str, int]:
        for step in range(5):
            await logger.debug("step", step=step)
        if fail:
            raise ValueError("the end")
        return {"ok": 1}

    with serve(app) as url:
        assert httpx.get(f"{url}/story/0", headers={"X-Request-ID": "quiet"}).status_code == 200
        assert httpx.get(f"{url}/story/1", headers={"X-Request-ID": "loud"}).status_code == 500
    steps = logs(capture, "step")
    assert [e["data"]["step"] for e in steps] == [2, 3, 4]
    for record in steps:
        assert record["level"] == "DEBUG"
        assert record["data"]["deferred"] is True
        assert record["context"]["request_id"] == "loud"
    (failed,) = logs(capture, "request_failed")
    assert (failed["data"]["debug_records"], failed["data"]["debug_records_cut"]) == (3, 2)
    assert steps[-1]["timestamp"] < failed["timestamp"]


def test_debug_records_are_dropped_without_debug_on_error(capture: CaptureExporter) -> None:
    """Without the option, DEBUG below the level is dropped as usual, failure or not."""
    app = make_app(capture)

    @app.get("/quiet")
    async def quiet(logger: RequestLog) -> None:
        await logger.debug("hidden")
        raise ValueError("x")

    with serve(app) as url:
        httpx.get(f"{url}/quiet")
    assert not logs(capture, "hidden")
    assert "debug_records" not in logs(capture, "request_failed")[0]["data"]


# ---- setup forms -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("context_first", [True, False])
def test_manual_middleware_works_in_either_order(capture: CaptureExporter, context_first: bool) -> None:
    """Added by hand, in either order, the middlewares still put the request id on request_completed."""
    app = FastAPI(lifespan=setup_logging(sinks=[capture], auto_middleware=False))
    first, second = (
        (RequestContextMiddleware, LoggingMiddleware)
        if context_first
        else (LoggingMiddleware, RequestContextMiddleware)
    )
    app.add_middleware(first)
    app.add_middleware(second)

    @app.get("/")
    async def root() -> dict[str, str]:
        raise RuntimeError("manual")

    @app.get("/ok")
    async def ok() -> dict[str, str]:
        return {}

    with serve(app) as url:
        assert httpx.get(f"{url}/ok", headers={"X-Request-ID": "m-1"}).headers["x-request-id"] == "m-1"
        assert httpx.get(f"{url}/", headers={"X-Request-ID": "m-2"}).status_code == 500
    assert [e["context"]["request_id"] for e in logs(capture, "request_completed")] == ["m-1"]
    assert [e["context"]["request_id"] for e in logs(capture, "request_failed")] == ["m-2"]


def test_setup_logging_wraps_the_users_lifespan_and_drains(capture: CaptureExporter) -> None:
    """The user's lifespan runs inside setup_logging's; its state reaches requests; shutdown drains the pipeline."""
    events: list[str] = []

    @asynccontextmanager
    async def mine(app: FastAPI) -> AsyncIterator[dict[str, str]]:
        events.append("start")
        yield {"greeting": "hello"}
        events.append("stop")

    app = FastAPI(lifespan=setup_logging(sinks=[capture], lifespan=mine))

    @app.get("/")
    async def root(logger: RequestLog) -> dict[str, str]:
        await logger.info("root")
        return {}

    with serve(app) as url:
        assert httpx.get(url).status_code == 200
    assert events == ["start", "stop"]
    runtime = app.state.fapilog
    assert runtime.last_drain is not None
    assert capture.shut_down  # the app's own pipeline was closed
    assert logs(capture, "root")


def test_setup_logging_given_the_app_installs_everything(capture: CaptureExporter) -> None:
    """setup_logging(app) adds the middleware and wraps the app's existing lifespan: nothing else to pass."""
    events: list[str] = []

    @asynccontextmanager
    async def mine(app: FastAPI) -> AsyncIterator[None]:
        events.append("start")
        yield
        events.append("stop")

    app = FastAPI(lifespan=mine)
    setup_logging(app, sinks=[capture])

    @app.get("/")
    async def root() -> dict[str, str]:
        return {}

    with serve(app) as url:
        assert httpx.get(url, headers={"X-Request-ID": "direct"}).headers["x-request-id"] == "direct"
    assert events == ["start", "stop"]
    assert [e["context"]["request_id"] for e in logs(capture, "request_completed")] == ["direct"]


def test_setup_logging_checks_its_options() -> None:
    """Out-of-range options fail when setup_logging is called, not on the first request."""
    with pytest.raises(ValueError, match="sample_rate"):
        setup_logging(sample_rate=1.5)
    with pytest.raises(ValueError, match="debug_buffer_size"):
        setup_logging(debug_on_error=True, debug_buffer_size=0)


def test_public_names_are_sorted_and_match() -> None:
    """fapilog.fastapi re-exports exactly fapilog.instrumentation.fastapi's sorted __all__."""
    names = fapilog.instrumentation.fastapi.__all__
    assert names == sorted(names)
    assert fapilog.fastapi.__all__ == names
    for name in names:
        assert getattr(fapilog.fastapi, name) is getattr(fapilog.instrumentation.fastapi, name)


# ---- the seed's snippets, verbatim, under a real server ---------------------------------------------------------


def _stdout_records(text: str) -> list[dict[str, Any]]:
    return [json.loads(line)["log"] for line in text.splitlines() if line.startswith('{"log"')]


def test_seed_lifespan_snippet_under_a_real_server(capfd: pytest.CaptureFixture[str]) -> None:
    """The seed's lifespan form serves, includes the request id, masks authorization and skips /healthz."""
    namespace: dict[str, Any] = {}
    exec(compile(SEED_LIFESPAN, "<seed>", "exec"), namespace)
    with serve(namespace["app"]) as url:
        response = httpx.get(url, headers={"X-Request-ID": "seed-1", "Authorization": "Bearer hidden"})
        assert httpx.get(f"{url}/healthz").status_code == 404
    assert response.json() == {"message": "Hello World"}
    assert response.headers["x-request-id"] == "seed-1"
    records = _stdout_records(capfd.readouterr().out)
    (root,) = [r for r in records if r["message"] == "Root endpoint accessed"]
    assert root["context"]["request_id"] == "seed-1"
    completed = [r for r in records if r["message"] == "request_completed"]
    assert [r["data"]["path"] for r in completed] == ["/"]  # below 500, a skipped path logs nothing
    assert "hidden" not in json.dumps(records)


def test_seed_middleware_snippet_under_a_real_server(capfd: pytest.CaptureFixture[str]) -> None:
    """The seed's manual form: correlation ids in and out, request_completed on stdout."""
    namespace: dict[str, Any] = {}
    exec(compile(SEED_MIDDLEWARE, "<seed>", "exec"), namespace)
    with serve(namespace["app"]) as url:
        response = httpx.get(f"{url}/missing", headers={"X-Request-ID": "seed-2"})
    assert response.status_code == 404
    assert response.headers["x-request-id"] == "seed-2"
    records = _stdout_records(capfd.readouterr().out)
    (completed,) = [r for r in records if r["message"] == "request_completed"]
    assert completed["context"]["request_id"] == "seed-2"
    assert completed["data"]["status_code"] == 404
