"""The request logger, and the per-request DEBUG buffer behind debug-on-error.

``RequestLogger`` is an ordinary async fapilog logger, except that its ``debug`` keeps what it would have
dropped (DEBUG below the pipeline's level) in the current request's ``DebugBuffer``, when there is one. The
buffer holds the last ``size`` captures; if the request fails, ``LoggingMiddleware`` replays them with their
original timestamps, context and trace ids, so the failure arrives with its story, and otherwise they vanish.
"""

from __future__ import annotations

import contextvars
from collections import deque
from time import time_ns
from typing import TYPE_CHECKING, Any

from fapilog._api import get_logger
from fapilog._context import current_context
from fapilog._entries import measure
from fapilog._exceptions import resolve_exc_info
from fapilog._facade import AsyncLoggerFacade
from fapilog._levels import level_for
from fapilog._otel import current_span_context

if TYPE_CHECKING:
    from fapilog._pipeline import Pipeline

__all__ = ["BUFFER", "DebugBuffer", "LoggerSource", "RequestLogger"]

_DEBUG = level_for("DEBUG")
_Captured = tuple[int, Any, dict[str, Any], Any, Any, Any]  # time, message, fields, span ctx, exc, context


class DebugBuffer:
    """The last ``size`` DEBUG captures of one request, and how many were seen in all."""

    __slots__ = ("entries", "seen")

    def __init__(self, size: int) -> None:
        self.entries: deque[_Captured] = deque(maxlen=size)
        self.seen = 0

    def add(self, captured: _Captured) -> None:
        self.seen += 1
        self.entries.append(captured)

    @property
    def cut(self) -> int:
        """How many captures were pushed out by later ones (the oldest go first)."""
        return max(self.seen - len(self.entries), 0)


BUFFER: contextvars.ContextVar[DebugBuffer | None] = contextvars.ContextVar("fapilog_debug_buffer", default=None)


class RequestLogger(AsyncLoggerFacade):
    """The logger ``get_request_logger`` hands to a handler: ``await logger.info(...)``.

    Fields bound for the request (``request_id``...) reach every record through fapilog's context. With
    debug-on-error on, ``debug`` calls below the pipeline's level are buffered for the request instead of dropped.
    """

    __slots__ = ()

    async def debug(self, message: Any, /, *, exc: Any = None, exc_info: Any = None, **fields: Any) -> None:
        if self._threshold <= 10:
            self._log(_DEBUG, message, exc, exc_info, fields)
            return
        buffer = BUFFER.get()
        if buffer is not None:
            try:
                error = resolve_exc_info(exc, exc_info) if exc is not None or exc_info else None
                span = current_span_context()
                buffer.add((time_ns(), message, fields, span, error, current_context()))
            except Exception:  # never into the application
                self._pipeline.handoff.count_drop("capture_error")

    def replay(self, buffer: DebugBuffer) -> int:
        """Emit the buffered DEBUG records (marked ``deferred=True``); returns how many were emitted."""
        emitted = 0
        for ts, message, given, span, error, context in buffer.entries:
            fields = {**given, "deferred": True}
            size, checked = measure(message, fields)
            capture = (
                ts,
                _DEBUG.severity,
                _DEBUG.name,
                message,
                fields,
                self._scope,
                span,
                error,
                context,
                checked,
                size,
            )
            try:
                self._emit(capture, size)
                emitted += 1
            except Exception:
                self._pipeline.handoff.count_drop("capture_error")
        buffer.entries.clear()
        return emitted


class LoggerSource:
    """Where an app's request logger comes from: a pipeline of its own, or the process-wide one.

    The process-wide pipeline can be replaced by ``fapilog.configure``; the logger follows it.
    """

    __slots__ = ("_logger", "_name", "_own")

    def __init__(self, name: str, own: Pipeline | None = None) -> None:
        self._name = name
        self._own = own
        self._logger: RequestLogger | None = None

    @property
    def own(self) -> Pipeline | None:
        return self._own

    def logger(self) -> RequestLogger:
        pipeline = self._own if self._own is not None else get_logger(self._name)._pipeline
        logger = self._logger
        if logger is None or logger._pipeline is not pipeline:
            logger = self._logger = RequestLogger(self._name, pipeline)
        return logger
