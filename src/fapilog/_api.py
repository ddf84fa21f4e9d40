"""The entry points: ``get_logger``, ``get_async_logger``, ``runtime``, ``runtime_async``, ``configure``."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Literal, TypeVar

from opentelemetry import _logs as otel_logs

from fapilog import _shutdown  # noqa: F401 - registers the drain at exit
from fapilog._environment import detect_environment, environment_overrides
from fapilog._facade import AsyncLoggerFacade, SyncLoggerFacade
from fapilog._global import DelegatingLoggerProvider
from fapilog._pipeline import Pipeline
from fapilog._presets import settings_for_preset
from fapilog._settings import Settings

__all__ = [
    "clear_logger_cache",
    "configure",
    "get_async_logger",
    "get_cached_loggers",
    "get_logger",
    "runtime",
    "runtime_async",
]

Format = Literal["json", "pretty", "auto"]
F = TypeVar("F", SyncLoggerFacade, AsyncLoggerFacade)

_lock = threading.RLock()
_cache: dict[tuple[Any, ...], SyncLoggerFacade | AsyncLoggerFacade] = {}
_default: Pipeline | None = None
_configured_with: tuple[Any, ...] | None = None


def _check_conflicts(
    *, preset: str | None, format: str | None, settings: Settings | None, environment: str | None
) -> None:
    pairs = (
        ("format", format, "settings", settings),
        ("preset", preset, "settings", settings),
        ("environment", environment, "settings", settings),
        ("environment", environment, "preset", preset),
    )
    for a, va, b, vb in pairs:
        if va is not None and vb is not None:
            raise ValueError(f"cannot give both {a!r} and {b!r}: choose one way to configure the logger")


def _settings_for(
    *, preset: str | None, settings: Settings | None, environment: str | None, auto_detect: bool
) -> Settings:
    if settings is not None:
        return settings
    if preset is not None:
        return settings_for_preset(preset)
    if environment is not None:
        return settings_for_preset(None, environment_overrides(environment))
    if auto_detect:
        return settings_for_preset(None, environment_overrides(detect_environment()))
    return Settings()


def _default_pipeline() -> Pipeline:
    global _default
    with _lock:
        if _default is None:
            _default = Pipeline(_settings_for(preset=None, settings=None, environment=None, auto_detect=True))
        return _default


def _make(
    kind: type[F],
    name: str | None,
    *,
    preset: str | None,
    format: Format | None,
    settings: Settings | None,
    sinks: Sequence[Any] | None,
    auto_detect: bool,
    environment: str | None,
    reuse: bool,
) -> F:
    _check_conflicts(preset=preset, format=format, settings=settings, environment=environment)
    name = name or "root"
    key = (
        kind.__name__,
        name,
        preset,
        format,
        environment,
        id(settings) if settings is not None else None,
        tuple(id(s) if not isinstance(s, str) else s for s in sinks) if sinks is not None else None,
    )
    with _lock:
        if reuse:
            cached = _cache.get(key)
            if isinstance(cached, kind):
                return cached
        configured = (preset, format, settings, sinks, environment) != (None,) * 5
        if not configured and auto_detect:
            pipeline = _default_pipeline()
        else:  # a pipeline of its own; auto_detect=False means: from Settings() alone, nothing detected
            chosen = _settings_for(preset=preset, settings=settings, environment=environment, auto_detect=False)
            pipeline = Pipeline(chosen, sinks=sinks, format=format)
        facade = kind(name, pipeline)
        if reuse:
            _cache[key] = facade
        return facade


def get_logger(
    name: str | None = None,
    *,
    preset: str | None = None,
    format: Format | None = None,
    settings: Settings | None = None,
    sinks: Sequence[Any] | None = None,
    auto_detect: bool = True,
    environment: str | None = None,
    reuse: bool = True,
) -> SyncLoggerFacade:
    """A logger for synchronous code (its log methods also work from async code).

    With no configuration arguments the logger uses the process-wide pipeline (built from the environment
    and the detected runtime environment, or by ``configure``). ``preset``, ``format``, ``settings``,
    ``sinks`` or ``environment`` give it a pipeline of its own, and so does ``auto_detect=False`` (settings
    from the environment variables alone, without adjusting them to Lambda, Kubernetes...). Loggers are
    cached: the same arguments return the same logger unless ``reuse=False``.
    """
    return _make(
        SyncLoggerFacade,
        name,
        preset=preset,
        format=format,
        settings=settings,
        sinks=sinks,
        auto_detect=auto_detect,
        environment=environment,
        reuse=reuse,
    )


async def get_async_logger(
    name: str | None = None,
    *,
    preset: str | None = None,
    format: Format | None = None,
    settings: Settings | None = None,
    sinks: Sequence[Any] | None = None,
    auto_detect: bool = True,
    environment: str | None = None,
    reuse: bool = True,
) -> AsyncLoggerFacade:
    """A logger for asyncio code, whose log methods are awaited. Same arguments as ``get_logger``."""
    return _make(
        AsyncLoggerFacade,
        name,
        preset=preset,
        format=format,
        settings=settings,
        sinks=sinks,
        auto_detect=auto_detect,
        environment=environment,
        reuse=reuse,
    )


def get_cached_loggers() -> dict[str, SyncLoggerFacade | AsyncLoggerFacade]:
    """The cached loggers by name (a logger cached under several configurations appears once)."""
    with _lock:
        return {facade.name: facade for facade in _cache.values()}


def clear_logger_cache() -> None:
    """Forget cached loggers (their pipelines keep running until drained or the process exits)."""
    with _lock:
        _cache.clear()


@contextmanager
def runtime(*, settings: Settings | None = None, allow_in_event_loop: bool = False) -> Iterator[SyncLoggerFacade]:
    """A logger with a pipeline of its own, drained (and its exporters closed) when the block ends.

    The result of the drain is in ``logger.last_drain``. Inside a running event loop this raises
    ``RuntimeError`` (the drain would block the loop; use ``runtime_async``) unless ``allow_in_event_loop``.
    """
    if not allow_in_event_loop:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError("runtime() blocks while draining; inside an event loop use runtime_async()")
    pipeline = Pipeline(settings or _settings_for(preset=None, settings=None, environment=None, auto_detect=True))
    logger = SyncLoggerFacade("root", pipeline)
    try:
        yield logger
    finally:
        logger.last_drain = pipeline.drain(close=True)


@asynccontextmanager
async def runtime_async(*, settings: Settings | None = None) -> AsyncIterator[AsyncLoggerFacade]:
    """``runtime`` for asyncio code: drains without blocking the event loop."""
    pipeline = Pipeline(settings or _settings_for(preset=None, settings=None, environment=None, auto_detect=True))
    logger = AsyncLoggerFacade("root", pipeline)
    try:
        yield logger
    finally:
        logger.last_drain = await pipeline.drain_async(close=True)


def configure(
    settings: Settings | None = None,
    *,
    preset: str | None = None,
    format: Format | None = None,
    sinks: Sequence[Any] | None = None,
    set_otel_provider: bool = False,
) -> Pipeline:
    """Set up the process-wide pipeline that ``get_logger(name)`` loggers use; idempotent.

    Calling it again with the same arguments changes nothing. With different arguments a new pipeline
    replaces the old one, the loggers already handed out move to it, and the old one is drained and closed.
    With ``set_otel_provider=True`` the pipeline's ``LoggerProvider`` also becomes OpenTelemetry's global
    one, so records from any OpenTelemetry API logger go through fapilog.
    """
    global _default, _configured_with
    _check_conflicts(preset=preset, format=format, settings=settings, environment=None)
    signature = (
        id(settings) if settings is not None else None,
        preset,
        format,
        tuple(id(s) if not isinstance(s, str) else s for s in sinks) if sinks is not None else None,
    )
    with _lock:
        if _default is not None and signature == _configured_with:
            pipeline = _default
        else:
            chosen = _settings_for(preset=preset, settings=settings, environment=None, auto_detect=False)
            pipeline = Pipeline(chosen, sinks=sinks, format=format)
            old, _default, _configured_with = _default, pipeline, signature
            if old is not None:
                for facade in _cache.values():
                    if facade._pipeline is old:
                        facade._attach(pipeline)
                old.drain(close=True)
    if set_otel_provider:
        _install_otel_provider()
    return pipeline


_otel_provider: DelegatingLoggerProvider | None = None


def _install_otel_provider() -> None:
    """Make OpenTelemetry's global logger provider emit through the process-wide pipeline (set once; it
    follows later ``configure()`` calls)."""
    global _otel_provider
    with _lock:
        if _otel_provider is None:
            _otel_provider = DelegatingLoggerProvider(lambda: _default_pipeline().provider)
        if otel_logs.get_logger_provider() is not _otel_provider:
            otel_logs.set_logger_provider(_otel_provider)


def reset() -> None:
    """Drain and forget the process-wide pipeline and every cached logger (for tests)."""
    global _default, _configured_with
    with _lock:
        pipelines = {id(f._pipeline): f._pipeline for f in _cache.values()}
        if _default is not None:
            pipelines[id(_default)] = _default
        _cache.clear()
        _default, _configured_with = None, None
    for pipeline in pipelines.values():
        pipeline.drain(close=True)
