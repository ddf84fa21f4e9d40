"""Renderings of a record: the fapilog JSON envelope (schema 1.1) and pretty console lines.

The envelope mapping, record -> envelope. Nothing is lost but the resource's ``telemetry.sdk.*`` attributes
(constants of the OpenTelemetry SDK in use); parts that are usually implied are written only when they are not:

* ``timestamp`` <- ``record.timestamp`` as RFC 3339 UTC with nanoseconds;
* ``level`` <- ``severity_text``; ``message`` <- ``body``; ``logger`` <- instrumentation scope name
  (``logger_version`` <- its version, when set);
* ``event`` <- ``event_name`` (only when set);
* ``context`` <- the bound context (fields bound with ``bind`` or context variables, plus ``request_id``,
  ``user_id``, ``tenant_id``, ``correlation_id`` and ``session_id`` wherever they came from) and
  ``trace_id`` / ``span_id`` (hex) / ``trace_flags`` when the record has a valid span context;
* ``diagnostics`` <- the resource (``service``, ``env``, ``version``, ``host``, ``pid``, ``python``, and any
  other attribute under ``resource``); ``exception`` = ``{error.type, error.message, error.stack}`` for a
  record with an exception; ``severity_number`` when it is not the level's own; ``observed_timestamp`` when it
  differs from ``timestamp``;
* ``data`` <- every other attribute.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from fapilog._levels import level_for
from fapilog._otel import ReadableLogRecord, ReadWriteLogRecord, Resource

__all__ = ["CONTEXT_KEYS", "envelope", "envelope_json", "envelope_lines", "iso_utc", "pretty_line", "pretty_text"]

AnyRecord = ReadWriteLogRecord | ReadableLogRecord

CONTEXT_KEYS = frozenset({"request_id", "user_id", "tenant_id", "correlation_id", "session_id"})
_EXC_KEYS = {
    "exception.type": "error.type",
    "exception.message": "error.message",
    "exception.stacktrace": "error.stack",
}
_SPECIAL_KEYS = CONTEXT_KEYS | frozenset(_EXC_KEYS)
# severity_text -> the SeverityNumber of that level (None: not a level name); filled as texts are seen.
_CANONICAL: dict[str | None, Any] = {}
_RESOURCE_KEYS = {
    "service.name": "service",
    "deployment.environment.name": "env",
    "service.version": "version",
    "host.name": "host",
    "process.pid": "pid",
    "process.runtime.version": "python",
}

# The current second: the nanosecond timestamps it covers and its text up to the dot (one tuple, so that a
# thread never pairs one second's range with another's text).
_second: tuple[int, int, str] = (-1, -1, "")


def iso_utc(ns: int) -> str:
    """``ns`` since the epoch as ``YYYY-MM-DDTHH:MM:SS.fffffffffZ`` (the second's text is cached)."""
    start, end, text = _second
    if start <= ns < end:  # then the digits of ns end with its nine of nanoseconds
        return text + str(ns)[-9:] + "Z"
    return _new_second(ns)


def _new_second(ns: int) -> str:
    global _second
    sec = ns // 1_000_000_000
    text = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(sec))
    if sec > 0:  # cached only where the digits of ns do end with its nanoseconds
        _second = (sec * 1_000_000_000, (sec + 1) * 1_000_000_000, text)
    return text + str(ns % 1_000_000_000).zfill(9) + "Z"


# The last resource and scope seen, with what the envelope takes from them (a pipeline has one resource,
# and a batch mostly one logger); each is one tuple, read and replaced whole.
_resource: tuple[Resource | None, dict[str, Any], orjson.Fragment] = (None, {}, orjson.Fragment(b"{}"))
_scope: tuple[Any, str, str | None] = (None, "root", None)


def _diagnostics(resource: Resource | None) -> tuple[dict[str, Any], orjson.Fragment]:
    """The envelope's diagnostics for ``resource``, as a dict and as ready JSON."""
    global _resource
    last, derived, fragment = _resource
    if resource is last:
        return derived, fragment
    derived = {}
    if resource is not None:
        attrs = resource.attributes
        derived = {short: attrs[key] for key, short in _RESOURCE_KEYS.items() if key in attrs}
        rest = {k: v for k, v in attrs.items() if k not in _RESOURCE_KEYS and not k.startswith("telemetry.sdk.")}
        if rest:
            derived["resource"] = rest
    fragment = orjson.Fragment(dumps(derived))
    _resource = (resource, derived, fragment)
    return derived, fragment


def _scope_names(scope: Any) -> tuple[str, str | None]:
    """The logger name and version of an instrumentation scope (or of none)."""
    global _scope
    last, name, version = _scope
    if scope is not last:
        name, version = (scope.name, scope.version) if scope is not None else ("root", None)
        _scope = (scope, name, version)
    return name, version


def envelope(record: AnyRecord) -> dict[str, Any]:
    """The fapilog schema 1.1 envelope of ``record`` as a dict of its own (changing it changes nothing else)."""
    return _envelope(record, share=False)


def _envelope(record: AnyRecord, *, share: bool) -> dict[str, Any]:
    """The envelope; with ``share=True`` it may reuse the record's attributes and cached parts, some of them as
    ready JSON (``orjson.Fragment``): for rendering straight to JSON, where nothing reads or changes them."""
    lr = record.log_record
    attrs: Any = lr.attributes or {}
    bound: Mapping[str, Any] | None = getattr(record, "context", None)
    context: dict[str, Any]
    exc: dict[str, Any] | None = None
    if not bound and attrs.keys().isdisjoint(_SPECIAL_KEYS):
        context, data = {}, (attrs if share else dict(attrs))  # the common case: every attribute is data
    else:
        context, data = {}, {}
        for key, value in attrs.items():
            if key in CONTEXT_KEYS or (bound and key in bound):
                context[key] = value
            elif key in _EXC_KEYS:
                if exc is None:
                    exc = {}
                exc[_EXC_KEYS[key]] = value
            else:
                data[key] = value
    if lr.trace_id:
        context["trace_id"] = f"{lr.trace_id:032x}"
        context["span_id"] = f"{lr.span_id:016x}"
        context["trace_flags"] = int(lr.trace_flags or 0)
    # The caches of resource, scope and second are checked here, inline (this runs for every record).
    resource = record.resource
    seen_resource, derived, fragment = _resource
    if resource is not seen_resource:
        derived, fragment = _diagnostics(resource)
    diagnostics: Any
    severity = lr.severity_number
    observed = lr.observed_timestamp
    if (
        exc is None
        and (severity is None or _CANONICAL.get(lr.severity_text) is severity)
        and (not observed or observed == lr.timestamp)
    ):  # the common case: nothing unusual
        diagnostics = fragment if share else dict(derived)
    else:
        diagnostics = {**derived, **_unusual(lr)}
        if exc is not None:
            diagnostics["exception"] = exc
    scope = record.instrumentation_scope
    seen_scope, name, version = _scope
    if scope is not seen_scope:
        name, version = _scope_names(scope)
    ns = lr.timestamp or observed or time.time_ns()
    start, end, second = _second
    log: dict[str, Any] = {
        "timestamp": second + str(ns)[-9:] + "Z" if start <= ns < end else _new_second(ns),  # iso_utc(ns)
        "level": lr.severity_text or "INFO",
        "message": lr.body,
        "logger": name,
        "context": context,
        "diagnostics": diagnostics,
        "data": data,
    }
    if lr.event_name:
        log["event"] = lr.event_name
    if version:
        log["logger_version"] = version
    return {"log": log, "schema_version": "1.1"}


def _unusual(lr: Any) -> dict[str, Any]:
    """The record's parts that are normally implied, when they are not: a severity number other than its
    level's, an observed time other than its time."""
    out: dict[str, Any] = {}
    severity = lr.severity_number
    if severity is not None:
        text = lr.severity_text
        if text not in _CANONICAL:
            try:
                _CANONICAL[text] = level_for(text or "").severity
            except ValueError:
                _CANONICAL[text] = None
        if _CANONICAL[text] is not severity:
            out["severity_number"] = int(severity.value)
    if lr.observed_timestamp and lr.timestamp and lr.observed_timestamp != lr.timestamp:
        out["observed_timestamp"] = iso_utc(lr.observed_timestamp)
    return out


def _default(value: Any) -> Any:
    """orjson's fallback for values coercion left as they are (bytes) or a plain OTel record carried."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "backslashreplace")
    from fapilog._coerce import coerce_value

    coerced = coerce_value(value)
    if isinstance(coerced, bytes):
        return coerced.decode("utf-8", "backslashreplace")
    return coerced


_OPTS = orjson.OPT_NON_STR_KEYS


def dumps(obj: Any) -> bytes:
    """JSON bytes of ``obj``; any value orjson cannot take is coerced first, never an error.

    Strings that are not valid UTF-8 (lone surrogates) get their bad characters backslash-escaped.
    """
    try:  # string keys are the rule (coercion makes them so), and orjson is fastest without the option
        return orjson.dumps(obj, default=_default)
    except (TypeError, orjson.JSONEncodeError):
        pass
    try:
        return orjson.dumps(obj, default=_default, option=_OPTS)
    except (TypeError, orjson.JSONEncodeError):
        pass
    try:  # strings that are not valid UTF-8, in a document that is otherwise fine: keep its shape
        return orjson.dumps(_valid_utf8(obj), default=_default, option=_OPTS)
    except Exception:
        from fapilog._coerce import coerce_value

        try:
            return orjson.dumps(_valid_utf8(coerce_value(obj)), default=_default, option=_OPTS)
        except (TypeError, orjson.JSONEncodeError) as exc:  # pragma: no cover - a last resort
            return orjson.dumps(f"<unserializable: {exc}>")


def _valid_utf8(value: Any) -> Any:
    """``value`` with every string made encodable as UTF-8 (coerced values: str/list/dict/scalars)."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, list):
        return [_valid_utf8(v) for v in value]
    if isinstance(value, dict):
        return {_valid_utf8(k): _valid_utf8(v) for k, v in value.items()}
    return value


def envelope_json(record: AnyRecord, shared: dict[str, Any] | None = None) -> bytes:
    """JSON bytes of the envelope of ``record`` (``shared``: its ``share=True`` envelope, if made already)."""
    try:  # the common case: orjson takes the shared envelope, ready-JSON parts and all, as it is
        return orjson.dumps(shared if shared is not None else _envelope(record, share=True), default=_default)
    except (TypeError, orjson.JSONEncodeError):  # dumps' fallbacks rebuild values: give them plain ones
        return dumps(_envelope(record, share=False))


def envelope_lines(records: Iterable[AnyRecord]) -> bytes:
    """JSON lines of the envelopes of ``records``, each ending in a newline."""
    return b"".join([envelope_json(r) + b"\n" for r in records])


# ---- pretty ---------------------------------------------------------------------------------------------

_COLORS = {
    "DEBUG": "\x1b[36m",
    "INFO": "\x1b[32m",
    "WARNING": "\x1b[33m",
    "ERROR": "\x1b[31m",
    "CRITICAL": "\x1b[1;31m",
    "AUDIT": "\x1b[35m",
    "SECURITY": "\x1b[1;35m",
}
_RESET = "\x1b[0m"
_DIM = "\x1b[2m"
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

_local_second: tuple[int, str] = (-1, "")  # the last second shown and its text, one tuple (threads share it)


def _local_time(ns: int) -> str:
    global _local_second
    sec = ns // 1_000_000_000
    last, text = _local_second
    if sec != last:
        text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(sec))
        _local_second = (sec, text)
    return text


def _escape(text: str) -> str:
    """``text`` with every non-printable character escaped (control characters, line and paragraph
    separators...), so a message, key or value can never forge another line."""
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() else _NAMED_ESCAPES.get(c) or (f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}")
        for c in text
    )


def _value(value: Any) -> str:
    """A value for ``k=v``: bare when it can be, else quoted; never with a raw line break."""
    if isinstance(value, str):
        text = _escape(value)
        if text and " " not in text and "=" not in text and '"' not in text:
            return text
        return '"' + text.replace('"', '\\"') + '"'
    return _escape(dumps(value).decode())


def pretty_line(record: AnyRecord, *, colors: bool) -> str:
    """``YYYY-MM-DD HH:MM:SS | LEVEL | message k=v ...`` (local time), plus an indented traceback."""
    lr = record.log_record
    attrs = dict(lr.attributes or {})
    if lr.trace_id:
        attrs["trace_id"] = f"{lr.trace_id:032x}"
        attrs["span_id"] = f"{lr.span_id:016x}"
    return pretty_text(
        lr.timestamp or lr.observed_timestamp or time.time_ns(),
        lr.severity_text or "INFO",
        lr.body,
        attrs,
        colors=colors,
    )


def pretty_text(ns: int, level: str, body: Any, attrs: Mapping[str, Any], *, colors: bool) -> str:
    """The pretty line of a record given by its parts (``exception.stacktrace`` goes under it, indented)."""
    text = body if isinstance(body, str) else dumps(body).decode()
    pairs = " ".join(f"{_escape(str(k))}={_value(v)}" for k, v in attrs.items() if not str(k).startswith("exception."))
    stamp = _local_time(ns)
    shown = f"{_escape(level):<8}"  # a level from elsewhere (an OTel logger, ``fapilog pretty``) is not trusted
    if colors:
        shown = f"{_COLORS.get(level, '')}{shown}{_RESET}"
        stamp = f"{_DIM}{stamp}{_RESET}"
    line = f"{stamp} | {shown} | {_escape(text)}"
    if pairs:
        line = f"{line} {pairs}"
    stack = attrs.get("exception.stacktrace")
    if isinstance(stack, str) and stack:
        indented = "".join(f"    {_escape(part)}\n" for part in stack.rstrip("\n").split("\n"))
        line = f"{line}\n{indented.rstrip(chr(10))}"
    return line + "\n"
