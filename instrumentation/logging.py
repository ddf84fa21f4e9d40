"""The stdlib ``logging`` bridge: records from ``logging`` (uvicorn, SQLAlchemy, any library) enter a fapilog
pipeline, with their level, logger name, message, exception, extras, code location and trace context.

``FapilogHandler`` is a ``logging.Handler``. Its ``emit`` runs on the thread that logged and does what a
fapilog logger call does: the level check, the message (``record.getMessage()``), the active span's ids,
the bound context, and one hand-off to the pipeline's queue; coercion, exception formatting, redaction and
export happen on the pipeline's worker. It never raises into the caller (a record that cannot be captured is
counted as a drop and reported on fapilog's diagnostics channel) and it takes no handler lock.

Mapping, ``logging.LogRecord`` -> OpenTelemetry record:

* ``levelno``/``levelname`` -> the fapilog level (a level registered with ``register_level`` by that name, a
  built-in one by number, or a custom number mapped into the nearest OpenTelemetry severity range);
* ``name`` -> instrumentation scope (``logger`` in the JSON envelope); ``created`` -> timestamp;
* ``getMessage()`` -> body (a non-string ``msg`` without args stays structured). A message whose arguments do
  not fit its format is logged with the raw ``msg`` as body and ``logging.args`` / ``logging.format_error``;
* ``exc_info`` -> the exception (``exception.*`` attributes); ``stack_info`` -> ``code.stacktrace``;
* every non-standard attribute (``extra={...}``) -> an attribute of its own;
* ``pathname``/``lineno``/``funcName`` -> ``code.file.path``/``code.line.number``/``code.function.name`` and
  ``threadName``/``thread`` -> ``thread.name``/``thread.id`` (current OpenTelemetry semantic conventions);
* the span active on the logging thread -> trace id, span id and flags.

Recursion: records logged while the bridge itself is handing a record off, and every record logged on
fapilog's worker thread (an exporter's HTTP client, asyncio, botocore...), are skipped, so the pipeline's
own activity never comes back into it.

Duplicates: OpenTelemetry's own ``LoggingHandler`` (SDK or ``opentelemetry-instrumentation-logging``) would
send each record again. ``install()`` by default *replaces* it: removes it from the logger, and silences one
attached later (with a filter that rejects everything; ``uninstall()`` undoes both). With
``replace_otel_handler=False`` the bridge *defers*: while an OpenTelemetry handler is attached, the bridge
skips every record and OpenTelemetry's handler is the one that sends it.
"""

from __future__ import annotations

import logging
import threading
from time import time_ns
from typing import TYPE_CHECKING, Any

from fapilog import _api
from fapilog._context import current_context
from fapilog._entries import estimate_size
from fapilog._levels import Level, level_for
from fapilog._otel import InstrumentationScope, current_span_context
from fapilog.instrumentation import _rivals

if TYPE_CHECKING:
    from fapilog._pipeline import Pipeline

__all__ = ["FapilogHandler", "install", "installed_handler", "uninstall"]

_WORKER_THREAD = "fapilog-worker"
# What every LogRecord has (and what formatters add), plus the ids opentelemetry-instrumentation-logging
# injects (the record carries the trace context natively): none of it is an "extra".
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "otelSpanID",
    "otelTraceID",
    "otelTraceSampled",
    "otelServiceName",
}
_MAX_SCOPES = 10_000
_guard = threading.local()


class FapilogHandler(logging.Handler):
    """A ``logging.Handler`` that hands each record to a fapilog pipeline (default: the process-wide one).

    ``pipeline=None`` follows the process-wide pipeline, also after ``fapilog.configure`` replaces it. Both
    the handler's ``level`` and the pipeline's log level apply.
    """

    def __init__(self, pipeline: Pipeline | None = None, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.pipeline = pipeline
        self.defer_to_otel = False
        self.home: logging.Logger | None = None  # the logger install() attached it to
        self._scopes: dict[str, InstrumentationScope] = {}
        self._levels: dict[tuple[int, str], Level] = {}

    def handle(self, record: logging.LogRecord) -> bool | logging.LogRecord:  # type: ignore[override]
        """Filter and emit without the handler lock: ``emit`` is thread-safe and must not serialize callers."""
        result: Any = self.filter(record)  # Python 3.12+ filters may return a replacement record
        if isinstance(result, logging.LogRecord):
            record = result
        if result:
            self.emit(record)
        return record if isinstance(result, logging.LogRecord) else bool(result)

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(_guard, "busy", False) or threading.current_thread().name == _WORKER_THREAD:
            return
        if self._otel_handler_present():
            return
        pipeline = self.pipeline or _api._default or _api._default_pipeline()
        _guard.busy = True
        try:
            self._capture(record, pipeline)
        except Exception as exc:  # never into the application
            pipeline.handoff.count_drop("capture_error")
            pipeline.diagnostics.warn("logging", "stdlib record could not be captured", error=exc)
        finally:
            _guard.busy = False

    def _otel_handler_present(self) -> bool:
        """Whether OpenTelemetry's handler takes this record (deferring), silencing it otherwise."""
        home = self.home or logging.getLogger()
        for handler in home.handlers:
            if handler is not self and _rivals.is_otel_handler(handler):
                if self.defer_to_otel:
                    return True
                _rivals.silence(handler)
        return False

    def _capture(self, record: logging.LogRecord, pipeline: Pipeline) -> None:
        level = self._level(record)
        if level.priority < pipeline.level.priority:
            return
        attributes = _attributes(record)
        if record.args or isinstance(record.msg, str):
            try:
                body: Any = record.getMessage()
            except Exception as exc:  # a format string and arguments that do not fit
                body = str(record.msg)
                attributes["logging.args"] = record.args
                attributes["logging.format_error"] = f"{type(exc).__name__}: {exc}"
        else:
            body = record.msg  # a dict, a list...: kept structured (coerced on the worker)
        exc_info = record.exc_info
        exception = exc_info[1] if exc_info else None
        size = estimate_size(body, attributes)
        pipeline.handoff.offer(
            (
                int(record.created * 1e9) if record.created else time_ns(),
                level.severity,
                level.name,
                body,
                attributes,
                self._scope(record.name),
                current_span_context(),
                exception,
                current_context(),
                False,  # extra= may bring any key: the worker checks the attributes
                size,
            ),
            size,
        )

    def _level(self, record: logging.LogRecord) -> Level:
        key = (record.levelno, record.levelname)
        level = self._levels.get(key)
        if level is None:
            level = _level_of(record.levelno, record.levelname)
            self._levels[key] = level
        return level

    def _scope(self, name: str) -> InstrumentationScope:
        scope = self._scopes.get(name)
        if scope is None:
            scope = InstrumentationScope(name or "root")
            if len(self._scopes) < _MAX_SCOPES:
                self._scopes[name] = scope
        return scope

    def flush(self) -> None:
        """Nothing to do here: the pipeline exports on its worker and drains at exit (``fapilog`` flush/drain
        block until everything is exported)."""


def _level_of(levelno: int, levelname: str) -> Level:
    """The fapilog level of a stdlib record: registered by name, built in by number, or a custom number."""
    try:
        named = level_for(levelname)
    except ValueError:
        named = None
    if named is not None and named.priority == levelno:
        return named
    by_number = level_for(levelno)
    if by_number.name.startswith("LEVEL") and levelname and not levelname.startswith("Level "):
        return Level(levelname, levelno, by_number.severity)  # logging.addLevelName(25, "NOTICE")
    return by_number


def _attributes(record: logging.LogRecord) -> dict[str, Any]:
    fields = vars(record)
    attributes: dict[str, Any] = {}
    extra = fields.keys() - _STANDARD
    if extra:
        for key in extra:
            attributes[key] = fields[key]
    attributes["code.file.path"] = record.pathname
    attributes["code.line.number"] = record.lineno
    attributes["code.function.name"] = record.funcName
    attributes["thread.name"] = record.threadName
    attributes["thread.id"] = record.thread
    if record.stack_info:
        attributes["code.stacktrace"] = record.stack_info
    return attributes


_lock = threading.Lock()
_installed: dict[str, FapilogHandler] = {}  # logger name ("" = root) -> its bridge
_removed: dict[str, list[logging.Handler]] = {}  # OpenTelemetry handlers install() took off, per logger


def install(
    pipeline: Pipeline | None = None,
    *,
    level: int = logging.NOTSET,
    logger: logging.Logger | str | None = None,
    replace_otel_handler: bool = True,
) -> FapilogHandler:
    """Attach the bridge to ``logger`` (default: the root logger, which every library logger propagates to).

    Idempotent: installing again returns the same handler, updated with the new arguments. With
    ``replace_otel_handler`` (the default) OpenTelemetry's ``LoggingHandler`` is taken off the logger (and one
    added later is silenced); with ``False`` the bridge defers to it while it is attached.
    """
    target = logger if isinstance(logger, logging.Logger) else logging.getLogger(logger or None)
    key = "" if target is logging.getLogger() else target.name
    with _lock:
        handler = _installed.get(key)
        if handler is None:
            handler = FapilogHandler(pipeline, level)
            handler.home = target
            _installed[key] = handler
        else:
            handler.pipeline = pipeline
            handler.setLevel(level)
        handler.defer_to_otel = not replace_otel_handler
        if replace_otel_handler:
            for rival in _rivals.otel_handlers(target):
                target.removeHandler(rival)
                _removed.setdefault(key, []).append(rival)
        if handler not in target.handlers:
            target.addHandler(handler)
    return handler


def installed_handler(logger: logging.Logger | str | None = None) -> FapilogHandler | None:
    """The bridge ``install`` attached to ``logger`` (default: root), if any."""
    target = logger if isinstance(logger, logging.Logger) else logging.getLogger(logger or None)
    with _lock:
        return _installed.get("" if target is logging.getLogger() else target.name)


def uninstall() -> None:
    """Detach every bridge ``install`` attached, and give OpenTelemetry's handlers back what it took."""
    with _lock:
        for key, handler in _installed.items():
            target = handler.home or logging.getLogger(key or None)
            target.removeHandler(handler)
            for rival in _removed.pop(key, []):
                if rival not in target.handlers:
                    target.addHandler(rival)
        _installed.clear()
        _removed.clear()
        _rivals.unsilence_all()
