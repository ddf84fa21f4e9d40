"""Context that follows the code: one ``ContextVar`` holding the bound fields of the current thread or task.

``bind`` copies the mapping and sets the copy (copy-on-write), so a record captures the mapping by
reference at call time and later changes never reach it. Asyncio tasks inherit a copy of the context when
they are created; threads and executors do not, which is what the helpers here are for.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable, Coroutine, Mapping
from types import MappingProxyType
from typing import Any, ParamSpec, TypeVar

__all__ = [
    "bind_context",
    "clear_context",
    "create_task_with_context",
    "current_context",
    "preserve_context",
    "run_in_executor_with_context",
    "unbind_context",
]

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_BOUND: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar("fapilog_context", default=_EMPTY)

current_context = _BOUND.get
"""The fields bound in the current thread or task (a read-only mapping)."""

P = ParamSpec("P")
T = TypeVar("T")


def bind_context(**fields: Any) -> None:
    """Add ``fields`` to the context of the current thread or task."""
    if fields:
        _BOUND.set(MappingProxyType({**_BOUND.get(), **fields}))


def unbind_context(*keys: str) -> None:
    """Remove ``keys`` from the context of the current thread or task."""
    current = _BOUND.get()
    if any(k in current for k in keys):
        _BOUND.set(MappingProxyType({k: v for k, v in current.items() if k not in keys}))


def clear_context() -> None:
    """Remove every bound field from the current thread or task."""
    _BOUND.set(_EMPTY)


def create_task_with_context(coro: Coroutine[Any, Any, T], *, name: str | None = None) -> asyncio.Task[T]:
    """``asyncio.create_task`` running ``coro`` in a copy of the caller's context (explicitly, always)."""
    return asyncio.get_running_loop().create_task(coro, name=name, context=contextvars.copy_context())


def preserve_context(func: Callable[P, T]) -> Callable[P, T]:
    """Wrap ``func`` so that it runs in the context current when ``preserve_context`` was called.

    Use it for callbacks handed to threads: ``threading.Thread(target=preserve_context(work))``.
    """
    ctx = contextvars.copy_context()

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        return ctx.copy().run(func, *args, **kwargs)

    return run


async def run_in_executor_with_context(func: Callable[..., T], *args: Any, executor: Any = None) -> T:
    """Run ``func(*args)`` in an executor (the loop's default unless given) with the caller's context."""
    ctx = contextvars.copy_context()
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(executor, functools.partial(ctx.run, func, *args))
