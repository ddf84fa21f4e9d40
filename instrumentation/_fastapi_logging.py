"""``LoggingMiddleware``: one ``request_completed`` or ``request_failed`` record per request.

Plain ASGI: the response streams through untouched, and latency is measured to its last byte (the final
``http.response.body`` message), not to the moment the handler returned. An exception is logged once, at
ERROR with its traceback, and re-raised so the server still answers 500.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from opentelemetry.trace import get_current_span

from fapilog._levels import level_for
from fapilog.instrumentation._fastapi_access import HeaderPicker, PathSkipper, Sampler, clip, route_template
from fapilog.instrumentation._fastapi_logger import BUFFER, DebugBuffer, LoggerSource, RequestLogger
from fapilog.instrumentation._fastapi_state import SCOPE_KEY, LoggingOptions, RequestState, activated, runtime_for

__all__ = ["LoggingMiddleware"]

_DEFAULT = LoggingOptions()
_FALLBACK = LoggerSource("fapilog.fastapi")  # without setup_logging: the process-wide pipeline
_INFO, _WARNING, _ERROR = (level_for(n) for n in ("INFO", "WARNING", "ERROR"))


class _Plan:
    """``LoggingOptions`` compiled for use on every request."""

    __slots__ = ("debug_size", "headers", "options", "sample", "skip")

    def __init__(self, options: LoggingOptions) -> None:
        self.options = options
        self.skip = PathSkipper(options.skip_paths)
        self.sample = Sampler(options.sample_rate)
        self.headers = HeaderPicker(options.log_headers, options.redact_headers)
        self.debug_size = options.debug_buffer_size if options.debug_on_error else 0


class _Exchange:
    """What the middleware saw of the response."""

    __slots__ = ("end", "start", "status")

    def __init__(self) -> None:
        self.start = time.perf_counter_ns()
        self.end: int | None = None
        self.status: int | None = None

    def latency_ms(self) -> float:
        return round(((self.end or time.perf_counter_ns()) - self.start) / 1e6, 3)


class LoggingMiddleware:
    """Logs each HTTP request once: method, path, route template, status, latency, client, user agent, headers.

    Successes (status below 400) are kept at ``sample_rate``; 4xx are logged at WARNING and 5xx at ERROR,
    always; an exception becomes ``request_failed`` with the traceback. Paths matching ``skip_paths`` log nothing
    unless they fail. Sensitive headers (authorization, cookie, set-cookie, x-api-key, proxy-authorization and
    ``redact_headers``) are masked. Options left as None come from ``setup_logging`` (or the defaults).
    """

    def __init__(
        self,
        app: Any,
        *,
        logger: RequestLogger | None = None,
        sample_rate: float | None = None,
        skip_paths: list[str] | tuple[str, ...] | None = None,
        redact_headers: list[str] | tuple[str, ...] | None = None,
        log_headers: bool | list[str] | tuple[str, ...] | None = None,
        debug_on_error: bool | None = None,
        debug_buffer_size: int | None = None,
    ) -> None:
        self.app = app
        given: dict[str, Any] = {
            "sample_rate": sample_rate,
            "skip_paths": tuple(skip_paths) if skip_paths is not None else None,
            "redact_headers": tuple(redact_headers) if redact_headers is not None else None,
            "log_headers": log_headers if isinstance(log_headers, bool | None) else tuple(log_headers),
            "debug_on_error": debug_on_error,
            "debug_buffer_size": debug_buffer_size,
        }
        self._overrides = {k: v for k, v in given.items() if v is not None}
        self._logger = logger
        self._base: LoggingOptions | None = None
        self._plan = _Plan(replace(_DEFAULT, **self._overrides))  # checks the overrides now

    def _resolve(self, scope: dict[str, Any]) -> tuple[_Plan, RequestLogger]:
        runtime = runtime_for(scope)
        base = runtime.logging if runtime is not None else _DEFAULT
        if base is not self._base:
            self._base, self._plan = base, _Plan(replace(base, **self._overrides))
        logger = self._logger or (runtime.source if runtime is not None else _FALLBACK).logger()
        return self._plan, logger

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        plan, logger = self._resolve(scope)
        state = scope.get(SCOPE_KEY)
        if not isinstance(state, RequestState):
            state = scope[SCOPE_KEY] = RequestState()
        seen = _Exchange()

        async def watch(message: dict[str, Any]) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                seen.status = int(message["status"])
            elif kind == "http.response.body" and not message.get("more_body", False):
                seen.end = time.perf_counter_ns()
            await send(message)

        buffer = DebugBuffer(plan.debug_size) if plan.debug_size else None
        token = BUFFER.set(buffer) if buffer is not None else None
        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            with activated(state):
                self._failed(plan, logger, scope, seen, exc=exc, buffer=buffer)
            raise
        else:
            with activated(state):
                self._completed(plan, logger, scope, seen, buffer=buffer)
        finally:
            if token is not None:
                BUFFER.reset(token)

    def _fields(self, plan: _Plan, scope: dict[str, Any], seen: _Exchange, status: int) -> dict[str, Any]:
        headers = scope.get("headers") or ()
        client = scope.get("client")
        user_agent = next((v for k, v in headers if k.lower() == b"user-agent"), None)
        fields: dict[str, Any] = {
            "method": scope.get("method"),
            "path": clip(scope.get("path") or "/"),
            "route": route_template(scope),
            "status_code": status,
            "latency_ms": seen.latency_ms(),
            "client_ip": client[0] if client else None,
            "user_agent": clip(user_agent.decode("latin-1")) if user_agent is not None else None,
        }
        if plan.headers.enabled:
            fields["headers"] = plan.headers(headers)
        return fields

    def _completed(
        self, plan: _Plan, logger: RequestLogger, scope: dict[str, Any], seen: _Exchange, *, buffer: DebugBuffer | None
    ) -> None:
        status = seen.status if seen.status is not None else 500
        if status < 500:
            if plan.skip(scope.get("path") or "/"):
                return
            if status < 400 and not plan.sample(get_current_span().get_span_context()):
                return
        fields = self._fields(plan, scope, seen, status)
        if status >= 500 and buffer is not None:
            self._replay(logger, buffer, fields)
        level = _INFO if status < 400 else _WARNING if status < 500 else _ERROR
        if logger.is_enabled_for(level.priority):
            logger._log(level, "request_completed", None, None, fields)

    def _failed(
        self,
        plan: _Plan,
        logger: RequestLogger,
        scope: dict[str, Any],
        seen: _Exchange,
        *,
        exc: Exception,
        buffer: DebugBuffer | None,
    ) -> None:
        fields = self._fields(plan, scope, seen, seen.status if seen.status is not None else 500)
        fields["response_started"] = seen.status is not None
        if buffer is not None:
            self._replay(logger, buffer, fields)
        if logger.is_enabled_for(_ERROR.priority):
            logger._log(_ERROR, "request_failed", exc, None, fields)

    @staticmethod
    def _replay(logger: RequestLogger, buffer: DebugBuffer, fields: dict[str, Any]) -> None:
        cut = buffer.cut
        fields["debug_records"] = logger.replay(buffer)
        if cut:
            fields["debug_records_cut"] = cut
