"""Record keys for the stages that keep state per key (rate limiting, duplicate suppression).

A key spec is ``"logger"`` (the logger name), ``"message"`` (the body), ``"level"`` (the severity text), any
other string (the value of that attribute, bound context included), or a callable ``record -> str | None``.
A record whose key is ``None`` (the attribute is missing, or the callable says so) has no key: the stage lets
it through untouched.
"""

from __future__ import annotations

from collections.abc import Callable

from fapilog._otel import ReadWriteLogRecord

__all__ = ["KeyFunction", "KeySpec", "key_function"]

KeyFunction = Callable[[ReadWriteLogRecord], str | None]
KeySpec = str | Callable[[ReadWriteLogRecord], object]


def _by_logger(record: ReadWriteLogRecord) -> str:
    scope = record.instrumentation_scope
    return scope.name if scope is not None else ""


def _by_message(record: ReadWriteLogRecord) -> str:
    body = record.log_record.body
    if type(body) is str:
        return body
    return "" if body is None else str(body)


def _by_level(record: ReadWriteLogRecord) -> str:
    lr = record.log_record
    if lr.severity_text:
        return lr.severity_text
    return lr.severity_number.name if lr.severity_number is not None else "UNSPECIFIED"


def _by_attribute(name: str) -> KeyFunction:
    def key(record: ReadWriteLogRecord) -> str | None:
        attributes = record.log_record.attributes
        value = attributes.get(name) if attributes else None
        if value is None or type(value) is str:
            return value
        return str(value)

    return key


def _by_callable(function: Callable[[ReadWriteLogRecord], object]) -> KeyFunction:
    def key(record: ReadWriteLogRecord) -> str | None:
        value = function(record)
        if value is None or type(value) is str:
            return value
        return str(value)

    return key


_BUILTIN: dict[str, KeyFunction] = {"logger": _by_logger, "message": _by_message, "level": _by_level}


def key_function(key: KeySpec, param: str = "key") -> tuple[KeyFunction, str]:
    """The function computing a record's key for ``key``, and a label for summaries (the spec's name)."""
    if callable(key):
        return _by_callable(key), getattr(key, "__name__", "callable")
    if not isinstance(key, str) or not key.strip():
        raise ValueError(f"{param} must be 'logger', 'message', 'level', an attribute name or a callable, got {key!r}")
    builtin = _BUILTIN.get(key)
    return (builtin, key) if builtin is not None else (_by_attribute(key), key)
