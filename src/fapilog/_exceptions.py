"""Exceptions as OpenTelemetry ``exception.*`` attributes: type, message, and a bounded stack with causes."""

from __future__ import annotations

import sys
import traceback
from types import TracebackType
from typing import Any

__all__ = ["ExcInfo", "exception_attributes", "resolve_exc_info"]

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def resolve_exc_info(exc: BaseException | None, exc_info: Any) -> BaseException | None:
    """The exception a log call refers to: ``exc``, or the one named by ``exc_info`` (``True`` = current)."""
    if exc is not None:
        return exc if isinstance(exc, BaseException) else None
    if exc_info is None or exc_info is False:
        return None
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple) and len(exc_info) == 3 and isinstance(exc_info[1], BaseException):
        return exc_info[1]
    return sys.exc_info()[1]


def exception_attributes(exc: BaseException, *, max_frames: int, max_chars: int) -> dict[str, str]:
    """``exception.type``, ``exception.message`` and ``exception.stacktrace`` (with the cause chain).

    The stack keeps at most ``max_frames`` frames per exception (the innermost ones, where it was raised) and
    at most ``max_chars`` characters in all (the end is kept: the last lines say what went wrong).
    """
    cls = type(exc)
    name = cls.__qualname__ if cls.__module__ in ("builtins", "__main__") else f"{cls.__module__}.{cls.__qualname__}"
    try:
        message = str(exc)
    except Exception:
        message = f"<unprintable {cls.__name__}>"
    try:
        lines = traceback.TracebackException.from_exception(exc, limit=-max_frames).format()
        stack = "".join(lines)
    except Exception:
        stack = f"{name}: {message}\n"
    if len(stack) > max_chars:
        marker = "...(truncated)\n"
        if max_chars >= 2 * len(marker):  # the marker only where it leaves most of the room to the stack
            stack = marker + stack[len(stack) - (max_chars - len(marker)) :]
        else:
            stack = stack[len(stack) - max(0, max_chars) :]
    return {"exception.type": name, "exception.message": message, "exception.stacktrace": stack}
