"""``RequestContextMiddleware``: who and what a request is, bound in fapilog's context while it runs.

Plain ASGI (no ``BaseHTTPMiddleware``): the app runs in the request's own task, so the binding reaches the
handler, its dependencies, FastAPI background tasks (they run after the response, in the same task) and
threads started with fapilog's context helpers; streaming responses pass through untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace

from fapilog._context import bind_context, current_context
from fapilog.instrumentation._fastapi_ids import (
    clean_id,
    header_value,
    new_request_id,
    new_span_context,
    parse_traceparent,
)
from fapilog.instrumentation._fastapi_state import (
    SCOPE_KEY,
    ContextOptions,
    RequestState,
    restore_context,
    runtime_for,
)

__all__ = ["RequestContextMiddleware", "establish"]

_DEFAULT = ContextOptions()
ASGIApp = Any  # (scope, receive, send) -> awaitable; typed loosely to keep Starlette optional here


def establish(state: RequestState, scope: Mapping[str, Any], options: ContextOptions) -> None:
    """Fill ``state`` from the request's headers: request id, user and tenant ids, trace context."""
    headers = scope.get("headers") or ()
    request_id = clean_id(header_value(headers, options.request_id_header.lower().encode("latin-1")))
    state.fields["request_id"] = request_id or new_request_id()
    for key, name in (("user_id", options.user_id_header), ("tenant_id", options.tenant_id_header)):
        if name:
            value = clean_id(header_value(headers, name.lower().encode("latin-1")), strict=False)
            if value is not None:
                state.fields[key] = value
    if options.trace_context and not trace.get_current_span().get_span_context().is_valid:
        state.span_context = parse_traceparent(header_value(headers, b"traceparent")) or new_span_context()
    state.established = True


class RequestContextMiddleware:
    """Binds ``request_id`` (and ``user_id`` / ``tenant_id`` when configured) for every log of a request.

    The request id comes from the ``X-Request-ID`` header when it is safe (at most 128 characters of
    ``[A-Za-z0-9._:-]``), otherwise a fresh one replaces it; the response carries it back in the same header.
    With no OpenTelemetry span active (no ``FastAPIInstrumentor``), a valid W3C ``traceparent`` becomes the
    request's trace context, and without one the request gets fresh trace ids, so its logs always correlate.
    Options left as None come from ``setup_logging`` (or the defaults).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        request_id_header: str | None = None,
        user_id_header: str | None = None,
        tenant_id_header: str | None = None,
        trace_context: bool | None = None,
    ) -> None:
        self.app = app
        given = {
            "request_id_header": request_id_header,
            "user_id_header": user_id_header,
            "tenant_id_header": tenant_id_header,
            "trace_context": trace_context,
        }
        self._overrides: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
        self._base: ContextOptions | None = None
        self._options = _DEFAULT

    def _resolve(self, scope: dict[str, Any]) -> ContextOptions:
        runtime = runtime_for(scope)
        base = runtime.context if runtime is not None else _DEFAULT
        if base is not self._base:
            self._base, self._options = base, replace(base, **self._overrides)
        return self._options

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        state = scope.get(SCOPE_KEY)
        if isinstance(state, RequestState) and state.established:  # an outer instance did the work
            await self.app(scope, receive, send)
            return
        if not isinstance(state, RequestState):
            state = scope[SCOPE_KEY] = RequestState()
        options = self._resolve(scope)
        establish(state, scope, options)
        before = current_context()
        bind_context(**state.fields)
        token = None
        if state.span_context is not None:
            token = otel_context.attach(trace.set_span_in_context(trace.NonRecordingSpan(state.span_context)))
        header = options.request_id_header.lower().encode("latin-1")
        echo = str(state.fields["request_id"]).encode("latin-1")

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or ())
                if all(k.lower() != header for k, _ in headers):
                    headers.append((header, echo))
                    message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id if scope["type"] == "http" else send)
        finally:
            if token is not None:
                otel_context.detach(token)
            restore_context(before)
