"""What the FastAPI middlewares share: their options, the per-request state, and the app's logging runtime.

A request's state lives in the ASGI scope under ``SCOPE_KEY`` so that ``RequestContextMiddleware`` and
``LoggingMiddleware`` cooperate in either order: whichever runs first creates it, the context middleware fills
it (request id, user and tenant ids, trace context), and the logging middleware re-activates it for its own
records if the context middleware, running inside it, has already restored the context on the way out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace

from fapilog._context import bind_context, clear_context, current_context

if TYPE_CHECKING:
    from fapilog._drain import DrainResult
    from fapilog.instrumentation._fastapi_logger import LoggerSource

__all__ = [
    "SCOPE_KEY",
    "STATE_ATTRIBUTE",
    "AppLogging",
    "ContextOptions",
    "LoggingOptions",
    "RequestState",
    "activated",
    "restore_context",
    "runtime_for",
]

SCOPE_KEY = "fapilog.request"
STATE_ATTRIBUTE = "fapilog"  # app.state.fapilog: the AppLogging that setup_logging's lifespan installed

SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})


@dataclass(frozen=True, slots=True)
class ContextOptions:
    """How ``RequestContextMiddleware`` reads a request's identity (header names are case-insensitive)."""

    request_id_header: str = "X-Request-ID"
    user_id_header: str | None = None
    tenant_id_header: str | None = None
    trace_context: bool = True  # traceparent, or fresh ids, when no OpenTelemetry span is active


@dataclass(frozen=True, slots=True)
class LoggingOptions:
    """What ``LoggingMiddleware`` logs about each request."""

    sample_rate: float = 1.0
    skip_paths: tuple[str, ...] = ()
    redact_headers: tuple[str, ...] = ()
    log_headers: bool | tuple[str, ...] = True
    debug_on_error: bool = False
    debug_buffer_size: int = 200

    def __post_init__(self) -> None:
        if not 0.0 <= self.sample_rate <= 1.0:
            raise ValueError(f"sample_rate must be between 0 and 1, not {self.sample_rate!r}")
        if self.debug_buffer_size < 1:
            raise ValueError(f"debug_buffer_size must be at least 1, not {self.debug_buffer_size!r}")


@dataclass(slots=True)
class AppLogging:
    """The logging runtime of one app: installed on ``app.state.fapilog`` by ``setup_logging``'s lifespan."""

    source: LoggerSource
    context: ContextOptions
    logging: LoggingOptions
    last_drain: DrainResult | None = None


@dataclass(slots=True)
class RequestState:
    """One request's identity, as bound in fapilog's context while the request runs."""

    fields: dict[str, Any] = field(default_factory=dict)
    span_context: trace.SpanContext | None = None  # the trace context fapilog attached (not a server span's)
    established: bool = False

    @property
    def request_id(self) -> str | None:
        value = self.fields.get("request_id")
        return value if isinstance(value, str) else None


def runtime_for(scope: Mapping[str, Any]) -> AppLogging | None:
    """The ``AppLogging`` of the app serving ``scope``, if ``setup_logging``'s lifespan has started."""
    state = getattr(scope.get("app"), "state", None)
    runtime = getattr(state, STATE_ATTRIBUTE, None) if state is not None else None
    return runtime if isinstance(runtime, AppLogging) else None


def restore_context(before: Mapping[str, Any]) -> None:
    """Make ``before`` the bound context of the current task again."""
    clear_context()
    bind_context(**before)


@contextmanager
def activated(state: RequestState | None) -> Iterator[None]:
    """Bind ``state``'s fields and trace context for the block, unless they are already current."""
    if state is None or not state.established:
        yield
        return
    before = current_context()
    rebind = any(before.get(k) != v for k, v in state.fields.items())
    if rebind:
        bind_context(**state.fields)
    token = None
    sc = state.span_context
    if sc is not None and trace.get_current_span().get_span_context() != sc:
        token = otel_context.attach(trace.set_span_in_context(trace.NonRecordingSpan(sc)))
    try:
        yield
    finally:
        if token is not None:
            otel_context.detach(token)
        if rebind:
            restore_context(before)
