"""The stdlib logging bridge: records from ``logging`` enter fapilog's pipeline complete, once, and safely."""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggingHandler
from opentelemetry.sdk.trace import TracerProvider

from fapilog import Settings, configure
from fapilog._otel import LogRecordExportResult, ReadableLogRecord
from fapilog._pipeline import Pipeline
from fapilog.instrumentation import logging as bridge
from fapilog.testing import CaptureExporter


@pytest.fixture
def isolated() -> Iterator[logging.Logger]:
    """A logger outside logging's hierarchy (pytest's own capture handlers never see its records)."""
    logger = logging.Logger("isolated", logging.DEBUG)
    yield logger
    bridge.uninstall()


@pytest.fixture
def root() -> Iterator[logging.Logger]:
    """The root logger at DEBUG, restored (and the bridge uninstalled) afterwards."""
    logger = logging.getLogger()
    level, handlers = logger.level, list(logger.handlers)
    logger.setLevel(logging.DEBUG)
    yield logger
    bridge.uninstall()
    logger.setLevel(level)
    logger.handlers[:] = handlers


def _pipeline(*sinks: Any, level: str = "DEBUG") -> Pipeline:
    return configure(Settings.model_validate({"core": {"log_level": level}}), sinks=list(sinks))


def _attrs(record: ReadableLogRecord) -> dict[str, Any]:
    return dict(record.log_record.attributes or {})


def _one(capture: CaptureExporter) -> ReadableLogRecord:
    assert len(capture.records) == 1, capture.messages()
    return capture.records[0]


def _propagating(*names: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Library loggers as they are before any library configures them (other tests may have run uvicorn)."""
    for name in names:
        logger = logging.getLogger(name)
        monkeypatch.setattr(logger, "propagate", True)
        monkeypatch.setattr(logger, "disabled", False)
        monkeypatch.setattr(logger, "handlers", [])
        monkeypatch.setattr(logger, "level", logging.NOTSET)
    logging.getLogger().manager._clear_cache()  # type: ignore[attr-defined]  # the isEnabledFor cache


def test_named_library_loggers_become_scopes_with_formatted_messages(
    root: logging.Logger, capture: CaptureExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn/SQLAlchemy-style loggers keep their names as scope, and %-args are applied to the message."""
    pipeline = _pipeline(capture)
    _propagating("uvicorn", "uvicorn.access", "sqlalchemy.engine.Engine", monkeypatch=monkeypatch)
    bridge.install()
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/1.1" %d', "127.0.0.1", "GET", "/items", 200)
    logging.getLogger("sqlalchemy.engine.Engine").info("SELECT %(n)s", {"n": 1})
    pipeline.flush()
    scopes = [r.instrumentation_scope.name for r in capture.records if r.instrumentation_scope]
    assert scopes == ["uvicorn.access", "sqlalchemy.engine.Engine"]
    assert capture.messages() == ['127.0.0.1 - "GET /items HTTP/1.1" 200', "SELECT 1"]
    envelope = capture.envelopes()[0]["log"]
    assert (envelope["logger"], envelope["level"]) == ("uvicorn.access", "INFO")


def test_extra_code_location_and_thread_become_attributes(root: logging.Logger, capture: CaptureExporter) -> None:
    """Every extra field is an attribute, next to code.* and thread.* from the LogRecord."""
    pipeline = _pipeline(capture)
    bridge.install()
    logging.getLogger("app").warning("paid", extra={"order": "A-1", "amount": 12.5})
    line = 1 + test_extra_code_location_and_thread_become_attributes.__code__.co_firstlineno + 3
    pipeline.flush()
    attrs = _attrs(_one(capture))
    assert attrs["order"] == "A-1"
    assert attrs["amount"] == 12.5
    assert attrs["code.file.path"] == __file__
    assert attrs["code.line.number"] == line
    assert attrs["code.function.name"] == "test_extra_code_location_and_thread_become_attributes"
    assert attrs["thread.name"] == threading.current_thread().name
    assert not {"msg", "args", "levelname", "pathname", "exc_info"} & attrs.keys()


def test_exc_info_is_attached_as_an_exception(root: logging.Logger, capture: CaptureExporter) -> None:
    """logger.exception() carries exception.type/message/stacktrace, like fapilog's exc=."""
    pipeline = _pipeline(capture)
    bridge.install()
    try:
        raise KeyError("missing")
    except KeyError:
        logging.getLogger("app").exception("lookup failed")
    pipeline.flush()
    record = _one(capture)
    attrs = _attrs(record)
    assert record.log_record.body == "lookup failed"
    assert attrs["exception.type"] == "KeyError"
    assert "missing" in attrs["exception.message"]
    assert 'raise KeyError("missing")' in attrs["exception.stacktrace"]


def test_record_inside_a_span_carries_its_trace_and_span_ids(root: logging.Logger, capture: CaptureExporter) -> None:
    """The span active on the logging thread gives the record its trace id, span id and flags."""
    pipeline = _pipeline(capture)
    bridge.install()
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("handler") as span:
        logging.getLogger("app").info("inside")
    logging.getLogger("app").info("outside")
    pipeline.flush()
    inside, outside = capture.records
    ctx = span.get_span_context()
    assert (inside.log_record.trace_id, inside.log_record.span_id) == (ctx.trace_id, ctx.span_id)
    assert int(inside.log_record.trace_flags or 0) == int(ctx.trace_flags)
    assert outside.log_record.trace_id == 0
    assert capture.envelopes()[0]["log"]["context"]["trace_id"] == f"{ctx.trace_id:032x}"


def test_levels_map_to_fapilog_levels_and_severities(root: logging.Logger, capture: CaptureExporter) -> None:
    """Standard levels, a named custom level and an unnamed number each get a level name and severity."""
    pipeline = _pipeline(capture)
    bridge.install()
    logging.addLevelName(25, "NOTICE")
    log = logging.getLogger("levels")
    for levelno in (logging.DEBUG, logging.INFO, 25, logging.WARNING, logging.ERROR, logging.CRITICAL, 45):
        log.log(levelno, "at %d", levelno)
    pipeline.flush()
    got = [(r.log_record.severity_text, r.log_record.severity_number) for r in capture.records]
    assert got == [
        ("DEBUG", SeverityNumber.DEBUG),
        ("INFO", SeverityNumber.INFO),
        ("NOTICE", SeverityNumber.INFO3),
        ("WARNING", SeverityNumber.WARN),
        ("ERROR", SeverityNumber.ERROR),
        ("CRITICAL", SeverityNumber.FATAL),
        ("LEVEL45", SeverityNumber.ERROR3),
    ]


def test_pipeline_level_applies_to_stdlib_records(root: logging.Logger, capture: CaptureExporter) -> None:
    """A record below the pipeline's log level is not captured, whatever the stdlib logger allows."""
    pipeline = _pipeline(capture, level="WARNING")
    bridge.install()
    logging.getLogger("app").info("quiet")
    logging.getLogger("app").warning("loud")
    pipeline.flush()
    assert capture.messages() == ["loud"]


def test_bad_format_string_is_logged_with_raw_message_and_args(
    isolated: logging.Logger, capture: CaptureExporter
) -> None:
    """Arguments that do not fit the format never raise: the raw msg is the body, the args are attached."""
    pipeline = _pipeline(capture)
    bridge.install(logger=isolated)
    isolated.error("%d items", "three")
    isolated.error("%s and %s", "one")
    pipeline.flush()
    first, second = capture.records
    assert first.log_record.body == "%d items"
    attrs = _attrs(first)
    assert attrs["logging.args"] == ["three"]
    assert attrs["logging.format_error"].startswith("TypeError")
    assert second.log_record.body == "%s and %s"


def test_structured_message_stays_structured(root: logging.Logger, capture: CaptureExporter) -> None:
    """A dict logged as the message (no args) is kept as a structured body."""
    pipeline = _pipeline(capture)
    bridge.install()
    logging.getLogger("app").info({"event": "signup", "plan": "pro"})
    pipeline.flush()
    assert _one(capture).log_record.body == {"event": "signup", "plan": "pro"}


class _ChattyExporter(CaptureExporter):
    """An exporter whose HTTP client logs through ``logging`` while it exports, as urllib3 does."""

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        logging.getLogger("urllib3.connectionpool").warning("Retrying (%d attempts left)", 2)
        return super().export(batch)


def test_logging_from_the_worker_never_loops_back(root: logging.Logger) -> None:
    """Records an exporter logs on fapilog's worker thread are not bridged back into the pipeline."""
    chatty = _ChattyExporter()
    pipeline = _pipeline(chatty)
    bridge.install()
    logging.getLogger("app").info("one")
    pipeline.flush()
    logging.getLogger("app").info("two")
    pipeline.flush()
    assert chatty.messages() == ["one", "two"]
    assert chatty.batches == 2


class _LoudMessage:
    """A message object whose ``str`` logs (re-entering the handler while it captures)."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def __str__(self) -> str:
        self.logger.warning("while formatting")
        return "outer message"


def test_logging_while_capturing_is_skipped(isolated: logging.Logger, capture: CaptureExporter) -> None:
    """A record logged on the caller thread while the bridge captures another is not bridged (no recursion)."""
    pipeline = _pipeline(capture)
    bridge.install(logger=isolated)
    isolated.info("%s", _LoudMessage(isolated))
    pipeline.flush()
    assert capture.messages() == ["outer message"]


def _otel_handler(pipeline: Pipeline) -> logging.Handler:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the SDK's handler is deprecated upstream
        return LoggingHandler(logger_provider=pipeline.provider)


def test_install_replaces_opentelemetrys_handler(root: logging.Logger, capture: CaptureExporter) -> None:
    """With OpenTelemetry's LoggingHandler on root, install() takes it off: each record arrives once."""
    pipeline = _pipeline(capture)
    otel = _otel_handler(pipeline)
    root.addHandler(otel)
    handler = bridge.install()
    assert otel not in root.handlers
    assert handler in root.handlers
    logging.getLogger("app").info("once")
    pipeline.flush()
    assert capture.messages() == ["once"]
    assert "code.file.path" in _attrs(_one(capture))  # the bridge's record, not OTel's
    bridge.uninstall()
    assert otel in root.handlers
    assert handler not in root.handlers


def test_opentelemetry_handler_attached_later_is_silenced(root: logging.Logger, capture: CaptureExporter) -> None:
    """An OpenTelemetry handler added after install() (e.g. by an instrumentor) sends nothing."""
    pipeline = _pipeline(capture)
    bridge.install()
    otel = _otel_handler(pipeline)
    root.addHandler(otel)
    logging.getLogger("app").info("first")
    logging.getLogger("app").info("second")
    pipeline.flush()
    assert capture.messages() == ["first", "second"]
    bridge.uninstall()
    assert not otel.filters


def test_bridge_defers_to_opentelemetry_handler_when_asked(root: logging.Logger, capture: CaptureExporter) -> None:
    """With replace_otel_handler=False the OpenTelemetry handler sends the record and the bridge stands down."""
    root.setLevel(logging.INFO)  # OTel's handler has no guard against the worker's own (DEBUG) asyncio records
    pipeline = _pipeline(capture)
    otel = _otel_handler(pipeline)
    root.addHandler(otel)
    bridge.install(replace_otel_handler=False)
    assert otel in root.handlers
    logging.getLogger("app").info("once")
    pipeline.flush()
    assert capture.messages() == ["once"]
    assert "code.file.path" in _attrs(_one(capture))
    root.removeHandler(otel)
    logging.getLogger("app").info("bridged")
    pipeline.flush()
    assert capture.messages() == ["once", "bridged"]


def test_install_is_idempotent_and_follows_configure(root: logging.Logger) -> None:
    """install() twice attaches one handler; with no pipeline given it follows the process-wide one."""
    first, second = CaptureExporter(), CaptureExporter()
    old = _pipeline(first)
    handler = bridge.install()
    assert bridge.install() is handler
    assert root.handlers.count(handler) == 1
    assert bridge.installed_handler() is handler
    logging.getLogger("app").info("to first")
    old.flush()
    new = _pipeline(second, level="INFO")
    logging.getLogger("app").info("to second")
    new.flush()
    assert first.messages() == ["to first"]
    assert second.messages() == ["to second"]


def test_bridge_on_a_non_propagating_library_logger(
    root: logging.Logger, capture: CaptureExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn's default log config stops its loggers propagating to root; installing on them bridges them."""
    _propagating("uvicorn", "uvicorn.access", monkeypatch=monkeypatch)
    monkeypatch.setattr(logging.getLogger("uvicorn.access"), "propagate", False)
    pipeline = _pipeline(capture)
    bridge.install()
    logging.getLogger("uvicorn.access").info("not seen by root")
    bridge.install(logger="uvicorn.access")
    logging.getLogger("uvicorn.access").info("GET /items 200")
    pipeline.flush()
    assert capture.messages() == ["GET /items 200"]


def test_explicit_pipeline_and_logger(root: logging.Logger, capture: CaptureExporter) -> None:
    """A handler installed on a named logger feeds the pipeline it was given, for that logger's records."""
    pipeline = Pipeline(Settings(), sinks=[capture])
    bridge.install(pipeline, logger="payments")
    logging.getLogger("payments.api").info("charged")
    logging.getLogger("other").info("elsewhere")
    pipeline.drain(close=True)
    assert capture.messages() == ["charged"]


def test_many_records_from_many_threads_all_arrive(root: logging.Logger, capture: CaptureExporter) -> None:
    """Performance sanity: 8 threads x 1,000 records through the bridge; all delivered, counts add up."""
    pipeline = _pipeline(capture)
    bridge.install()

    def work(n: int) -> None:
        log = logging.getLogger(f"worker.{n}")
        for i in range(1000):
            log.info("request %d handled", i, extra={"user_id": i, "path": "/api/items"})

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = pipeline.drain()
    assert result.submitted == result.processed + result.dropped
    assert len(capture.records) + result.dropped == 8000
    assert len(capture.records) == 8000
