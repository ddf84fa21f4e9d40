"""``setup_logging``: a FastAPI lifespan that starts request logging and drains it on shutdown.

``FastAPI(lifespan=setup_logging(...))`` hands us the app only when it starts, after Starlette has built its
middleware stack for the lifespan message itself. So the lifespan puts the two middlewares at the front of
``app.user_middleware`` and clears ``app.middleware_stack``: the first request rebuilds the stack with them
(wrappers such as ``FastAPIInstrumentor``'s are rebuilt too, and stay outermost). Servers send no request
before startup completes, so no request ever sees the old stack.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Literal

from starlette.requests import Request

from fapilog._api import get_logger
from fapilog._settings import Settings
from fapilog.instrumentation._fastapi_context import RequestContextMiddleware, establish
from fapilog.instrumentation._fastapi_logger import LoggerSource, RequestLogger
from fapilog.instrumentation._fastapi_logging import _FALLBACK, LoggingMiddleware
from fapilog.instrumentation._fastapi_state import (
    SCOPE_KEY,
    STATE_ATTRIBUTE,
    AppLogging,
    ContextOptions,
    LoggingOptions,
    RequestState,
    runtime_for,
)

__all__ = ["Lifespan", "get_request_logger", "install_middleware", "setup_logging"]

Lifespan = Callable[[Any], AbstractAsyncContextManager[Any]]


def install_middleware(app: Any) -> bool:
    """Put ``RequestContextMiddleware`` (outermost) and ``LoggingMiddleware`` in front of the app's own
    middleware, unless they are there already; True when the stack changed."""
    from starlette.middleware import Middleware

    stack = getattr(app, "user_middleware", None)
    if not isinstance(stack, list):
        return False
    present = {getattr(m, "cls", None) for m in stack}
    missing = [Middleware(c) for c in (RequestContextMiddleware, LoggingMiddleware) if c not in present]
    if not missing:
        return False
    stack[0:0] = missing
    app.middleware_stack = None  # rebuilt, with them, on the next request
    return True


def setup_logging(
    app: Any = None,
    *,
    preset: str | None = None,
    settings: Settings | None = None,
    sinks: Sequence[Any] | None = None,
    format: Literal["json", "pretty", "auto"] | None = None,
    logger_name: str = "fapilog.fastapi",
    sample_rate: float = 1.0,
    redact_headers: Sequence[str] = (),
    skip_paths: Sequence[str] = (),
    log_headers: bool | Sequence[str] = True,
    request_id_header: str = "X-Request-ID",
    user_id_header: str | None = None,
    tenant_id_header: str | None = None,
    trace_context: bool = True,
    debug_on_error: bool = False,
    debug_buffer_size: int = 200,
    auto_middleware: bool = True,
    lifespan: Lifespan | None = None,
    drain_timeout: float | None = None,
) -> Lifespan:
    """Request logging for a FastAPI (or Starlette) app, as a lifespan: ``FastAPI(lifespan=setup_logging())``.

    At startup it sets up the logger the middlewares and ``get_request_logger`` use (a pipeline of its own
    when ``preset``, ``settings``, ``sinks`` or ``format`` is given, else the process-wide one that
    ``fapilog.configure`` sets up), adds ``RequestContextMiddleware`` and ``LoggingMiddleware`` unless
    ``auto_middleware=False``, then runs ``lifespan`` (your own, if any). At shutdown it runs the rest of
    ``lifespan`` and drains the pipeline (closing it when it is the app's own).

    Given ``app``, it installs everything on that app at once (middleware, and this lifespan around the app's
    own), so there is nothing else to pass.
    """
    context = ContextOptions(request_id_header, user_id_header, tenant_id_header, trace_context)
    options = LoggingOptions(
        sample_rate=sample_rate,
        skip_paths=tuple(skip_paths),
        redact_headers=tuple(redact_headers),
        log_headers=log_headers if isinstance(log_headers, bool) else tuple(log_headers),
        debug_on_error=debug_on_error,
        debug_buffer_size=debug_buffer_size,
    )
    own = (preset, settings, sinks, format) != (None, None, None, None)

    @asynccontextmanager
    async def run(target: Any) -> AsyncIterator[Any]:
        pipeline = None
        if own:
            chosen = get_logger(logger_name, preset=preset, settings=settings, sinks=sinks, format=format, reuse=False)
            pipeline = chosen._pipeline
        runtime = AppLogging(LoggerSource(logger_name, pipeline), context, options)
        setattr(target.state, STATE_ATTRIBUTE, runtime)
        if auto_middleware:
            install_middleware(target)
        try:
            if lifespan is None:
                yield None
            else:
                async with lifespan(target) as state:
                    yield state
        finally:
            used = pipeline if pipeline is not None else runtime.source.logger()._pipeline
            runtime.last_drain = await used.drain_async(drain_timeout, close=pipeline is not None)

    if app is None:
        return run
    if auto_middleware:
        install_middleware(app)
    router = app.router
    inner: Lifespan = router.lifespan_context

    @asynccontextmanager
    async def installed(target: Any) -> AsyncIterator[Any]:
        async with run(target), inner(target) as state:
            yield state

    router.lifespan_context = installed
    return installed


async def get_request_logger(request: Request) -> RequestLogger:
    """FastAPI dependency: ``logger=Depends(get_request_logger)``, then ``await logger.info(...)``.

    Records carry the request's ``request_id`` (and user, tenant and trace ids) through fapilog's context.
    Without ``RequestContextMiddleware`` the dependency binds the request id itself.
    """
    scope = request.scope
    runtime = runtime_for(scope)
    state = scope.get(SCOPE_KEY)
    if not (isinstance(state, RequestState) and state.established):
        from fapilog._context import bind_context

        state = RequestState()
        establish(state, scope, runtime.context if runtime is not None else ContextOptions(trace_context=False))
        bind_context(**state.fields)
    return (runtime.source if runtime is not None else _FALLBACK).logger()
