"""The logger facades: what application code calls.

A log call does only this on the caller's thread: the level check, the clock, the span context, the bound
context (a reference to an immutable mapping), the exception object if any, one SDK record, and the
hand-off. Formatting, coercion, rendering and I/O happen on the worker. A call never raises: anything that
goes wrong while capturing is counted as a drop and reported on the diagnostics channel.
"""

from __future__ import annotations

from collections.abc import Mapping
from time import time_ns
from typing import TYPE_CHECKING, Any

from fapilog._coerce import safe_text
from fapilog._context import bind_context, current_context, unbind_context
from fapilog._context import clear_context as _clear_context
from fapilog._drain import DrainResult, PipelineStats
from fapilog._entries import measure
from fapilog._exceptions import resolve_exc_info
from fapilog._levels import Level, level_for
from fapilog._otel import InstrumentationScope, current_span_context

if TYPE_CHECKING:
    from fapilog._pipeline import Pipeline

__all__ = ["AsyncLoggerFacade", "SyncLoggerFacade", "add_level_method"]

_DEBUG, _INFO, _WARNING, _ERROR, _CRITICAL, _AUDIT, _SECURITY = (
    level_for(n) for n in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "AUDIT", "SECURITY")
)


class _Core:
    """State and capture shared by both facades."""

    __slots__ = ("__weakref__", "_emit", "_name", "_pipeline", "_scope", "_threshold", "last_drain")

    def __init__(self, name: str, pipeline: Pipeline) -> None:
        self._name = name
        self._scope = InstrumentationScope(name)
        self.last_drain: DrainResult | None = None
        self._attach(pipeline)

    def _attach(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline
        self._threshold = pipeline.level.priority
        self._emit = pipeline.handoff.offer

    @property
    def name(self) -> str:
        return self._name

    @property
    def level(self) -> str:
        """The name of the lowest level this logger emits."""
        return level_for(self._threshold).name

    def set_level(self, level: str | int) -> None:
        """Change the lowest level this logger emits."""
        self._threshold = level_for(level).priority

    def is_enabled_for(self, level: str | int) -> bool:
        return level_for(level).priority >= self._threshold

    def _log(self, level: Level, message: Any, exc: Any, exc_info: Any, fields: dict[str, Any]) -> None:
        try:
            size, checked = measure(message, fields)
            self._emit(
                (
                    time_ns(),
                    level.severity,
                    level.name,
                    message,
                    fields,
                    self._scope,
                    current_span_context(),
                    resolve_exc_info(exc, exc_info) if exc is not None or exc_info else None,
                    current_context(),
                    checked,
                    size,
                ),
                size,
            )
        except Exception as exc_:  # never into the application
            self._pipeline.handoff.count_drop("capture_error")
            self._pipeline.diagnostics.warn("logger", "log call could not be captured", error=exc_)

    def _log_any(self, level: str | int, message: Any, exc: Any, exc_info: Any, fields: dict[str, Any]) -> None:
        try:
            lvl = level_for(level)
        except Exception:  # an unknown level (or one that cannot even be read) is logged at INFO, with its name
            lvl = _INFO
            fields["fapilog.unknown_level"] = safe_text(level)
        if lvl.priority >= self._threshold:
            self._log(lvl, message, exc, exc_info, fields)

    # context ---------------------------------------------------------------------------------------------

    def bind(self, **context: Any) -> Any:
        """Bind ``context`` to the current thread or task: every record logged there carries it.

        Returns the logger itself (so ``logger.bind(request_id=rid).info(...)`` reads naturally). The binding
        is a context variable: other tasks and threads do not see it, and tasks created from here inherit it.
        """
        bind_context(**context)
        return self

    def unbind(self, *keys: str) -> Any:
        """Remove ``keys`` from the current thread's or task's bound context; returns the logger."""
        unbind_context(*keys)
        return self

    def clear_context(self) -> None:
        """Remove every bound field from the current thread or task."""
        _clear_context()

    @property
    def bound_context(self) -> Mapping[str, Any]:
        return current_context()

    def enable_enricher(self, enricher: Any) -> None:
        """Add an enricher stage (e.g. ``RuntimeInfoEnricher()``) unless one of that name is enabled.

        Enrichers belong to the logger's pipeline: loggers sharing it (the process-wide one) share them.
        """
        self._pipeline.enable_stage(enricher, "enrichers")

    def disable_enricher(self, name: str) -> None:
        """Remove the enricher called ``name`` (``"context_vars"``, ``"runtime_info"``...) from the pipeline."""
        self._pipeline.disable_stage(name)

    def stats(self) -> PipelineStats:
        """A snapshot of the pipeline's self-metrics (queue depth, drops, exports...)."""
        return self._pipeline.stats()


class SyncLoggerFacade(_Core):
    """A logger for synchronous code. Log methods return at once; ``drain`` and ``flush`` block."""

    __slots__ = ()

    def debug(self, message: Any, /, *, exc: Any = None, exc_info: Any = None, **fields: Any) -> None:
        if self._threshold <= 10:
            self._log(_DEBUG, message, exc, exc_info, fields)

    def info(self, message: Any, /, *, exc: Any = None, exc_info: Any = None, **fields: Any) -> None:
        if self._threshold <= 20:
            self._log(_INFO, message, exc, exc_info, fields)

    def warning(self, message: Any, /, *, exc: Any = None, exc_info: Any = None, **fields: Any) -> None:
        if self._threshold <= 30:
            self._log(_WARNING, message, exc, exc_info, fields)

    warn = warning

    def log(self, level: str | int, message: Any, /, *, exc: Any = None, exc_info: Any = None, **fields: Any) -> None:
        """Log at any level, given by name or priority."""
        self._log_any(level, message, exc, exc_info, fields)

    def error(self, message: Any, /, *, exc: Any = None, exc_info: Any = None, **fields: Any) -> None:
        if self._threshold <= 40:
            self._log(_ERROR, message, exc, exc_info, fields)

    def exception(self, message: Any, /, *, exc: Any = None, exc_info: Any = True, **fields: Any) -> None:
        """ERROR with the exception being handled (or ``exc``) attached."""
        if self._threshold <= 40:
            self._log(_ERROR, message, exc, exc_info, fields)

    def critical(self, message: Any, /, *, exc: Any = None, exc_info: Any = None, **fields: Any) -> None:
        if self._threshold <= 50:
            self._log(_CRITICAL, message, exc, exc_info, fields)

    def audit(self, message: Any, /, *, exc: Any = None, exc_info: Any = None, **fields: Any) -> None:
        if self._threshold <= 60:
            self._log(_AUDIT, message, exc, exc_info, fields)

    def security(self, message: Any, /, *, exc: Any = None, exc_info: Any = None, **fields: Any) -> None:
        if self._threshold <= 70:
            self._log(_SECURITY, message, exc, exc_info, fields)

    def flush(self, timeout: float | None = None) -> bool:
        """Block until everything logged so far is exported; False if the deadline passed first."""
        return self._pipeline.flush(timeout)

    def drain(self, timeout: float | None = None) -> DrainResult:
        """Export everything queued, flush exporters, stop the worker (the next record restarts it)."""
        self.last_drain = self._pipeline.drain(timeout)
        return self.last_drain

    stop_and_drain = drain


class AsyncLoggerFacade(_Core):
    """A logger for asyncio code: ``await logger.info(...)``. Nothing awaited ever waits on I/O."""

    __slots__ = ()

    async def debug(self, message: Any, /, *, exc: Any = None, exc_info: Any = None, **fields: Any) -> None:
        if self._threshold <= 10:
            self._log(_DEBUG, message, exc, exc_info, fields)

    async def info(self, message: Any, /, *, exc: Any = None, exc_info: Any = None, **fields: Any) -> None:
        if self._threshold <= 20:
            self._log(_INFO, message, exc, exc_info, fields)

    async def warning(self, message: Any, /, *, exc: Any = None, exc_info: Any = None, **fields: Any) -> None:
        if self._threshold <= 30:
            self._log(_WARNING, message, exc, exc_info, fields)

    warn = warning

    async def log(
        self, level: str | int, message: Any, /, *, exc: Any = None, exc_info: Any = None, **fields: Any
    ) -> None:
        """Log at any level, given by name or priority."""
        self._log_any(level, message, exc, exc_info, fields)

    async def error(self, message: Any, /, *, exc: Any = None, exc_info: Any = None, **fields: Any) -> None:
        if self._threshold <= 40:
            self._log(_ERROR, message, exc, exc_info, fields)

    async def exception(self, message: Any, /, *, exc: Any = None, exc_info: Any = True, **fields: Any) -> None:
        if self._threshold <= 40:
            self._log(_ERROR, message, exc, exc_info, fields)

    async def critical(self, message: Any, /, *, exc: Any = None, exc_info: Any = None, **fields: Any) -> None:
        if self._threshold <= 50:
            self._log(_CRITICAL, message, exc, exc_info, fields)

    async def audit(self, message: Any, /, *, exc: Any = None, exc_info: Any = None, **fields: Any) -> None:
        if self._threshold <= 60:
            self._log(_AUDIT, message, exc, exc_info, fields)

    async def security(self, message: Any, /, *, exc: Any = None, exc_info: Any = None, **fields: Any) -> None:
        if self._threshold <= 70:
            self._log(_SECURITY, message, exc, exc_info, fields)

    async def flush(self, timeout: float | None = None) -> bool:
        """Wait (without blocking the event loop) until everything logged so far is exported."""
        return await self._pipeline.flush_async(timeout)

    async def drain(self, timeout: float | None = None) -> DrainResult:
        """Export everything queued, flush exporters, stop the worker (the next record restarts it)."""
        self.last_drain = await self._pipeline.drain_async(timeout)
        return self.last_drain

    stop_and_drain = drain


def check_level_method(method_name: str) -> None:
    """Raise unless ``method_name`` can become a level method (it must not shadow a logger attribute)."""
    if (hasattr(SyncLoggerFacade, method_name) or hasattr(AsyncLoggerFacade, method_name)) and (
        method_name not in _added
    ):
        raise ValueError(f"cannot add level method {method_name!r}: the logger already has that attribute")


def add_level_method(method_name: str, level: Level) -> None:
    """Give both facades a method ``method_name`` logging at ``level`` (for ``register_level``)."""
    check_level_method(method_name)
    priority = level.priority

    def sync_method(
        self: SyncLoggerFacade, message: Any, /, *, exc: Any = None, exc_info: Any = None, **fields: Any
    ) -> None:
        if self._threshold <= priority:
            self._log(level, message, exc, exc_info, fields)

    async def async_method(
        self: AsyncLoggerFacade, message: Any, /, *, exc: Any = None, exc_info: Any = None, **fields: Any
    ) -> None:
        if self._threshold <= priority:
            self._log(level, message, exc, exc_info, fields)

    sync_method.__name__ = async_method.__name__ = method_name
    setattr(SyncLoggerFacade, method_name, sync_method)
    setattr(AsyncLoggerFacade, method_name, async_method)
    _added.add(method_name)


_added: set[str] = set()
