"""Records to bytes and back, losslessly, for the disk spool.

A batch is one JSON document (``orjson``): ``[scopes, resources, records]``. Each distinct instrumentation
scope and resource of the batch is written once, as a JSON string (so that decoding can share one object per
distinct value), and each record refers to them by index::

    [timestamp, observed_timestamp, severity_number, severity_text, body, attributes, event_name,
     trace_id_hex, span_id_hex, trace_flags, scope_index, resource_index, context, tagged]

What JSON cannot say is tagged, in records that need it only (``tagged`` is then 1): ``bytes`` become
``{"\\u0000b": base64}``, non-finite floats ``{"\\u0000f": "nan" | "inf" | "-inf"}``, and a map whose keys
start with ``"\\u0000"`` ``{"\\u0000m": [[key, value], ...]}``. Values come coerced by the pipeline (see
``_coerce``); anything else still unknown is written as its ``str()``. The exception object of a record is
not kept: by the time a record is spooled its ``exception.*`` attributes carry it.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from fapilog._coerce import coerce_attributes
from fapilog._otel import (
    InstrumentationScope,
    ReadableLogRecord,
    ReadWriteLogRecord,
    Record,
    Resource,
    SeverityNumber,
    new_record,
)

__all__ = ["decode_batch", "encode_batch"]

AnyRecord = ReadableLogRecord | ReadWriteLogRecord

_TAG = "\x00"
_BYTES = "\x00b"
_FLOAT = "\x00f"
_MAP = "\x00m"
_PLAIN = frozenset({str, int, bool, type(None)})
_SEVERITIES = {s.value: s for s in SeverityNumber}
_CACHE_LIMIT = 256


def _default(value: Any) -> Any:
    return str(value)


def _plain(value: Any) -> bool:
    """Whether ``value`` is a scalar JSON carries as it is (the common case, checked without a walk)."""
    t = type(value)
    return t in _PLAIN or (t is float and math.isfinite(value))


def _needs_tags(body: Any, attributes: Mapping[str, Any]) -> bool:
    if not _plain(body):
        return True
    return any(not _plain(value) for value in attributes.values())


def _tag(value: Any) -> Any:
    """``value`` with what JSON cannot carry tagged (a new structure; the record is not changed)."""
    t = type(value)
    if t is bytes or t is bytearray:
        return {_BYTES: base64.b64encode(value).decode("ascii")}
    if t is float:
        if math.isfinite(value):
            return value
        return {_FLOAT: "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, Mapping):
        if any(type(k) is str and k.startswith(_TAG) for k in value):
            return {_MAP: [[k, _tag(v)] for k, v in value.items()]}
        return {str(k): _tag(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_tag(v) for v in value]
    return value


def _untag(value: Any) -> Any:
    if type(value) is dict:
        if len(value) == 1:
            ((key, inner),) = value.items()
            if key == _BYTES:
                return base64.b64decode(inner)
            if key == _FLOAT:
                return float(inner)
            if key == _MAP:
                return {k: _untag(v) for k, v in inner}
        return {k: _untag(v) for k, v in value.items()}
    if type(value) is list:
        return [_untag(v) for v in value]
    return value


class _Table:
    """The distinct scopes or resources of one batch, in first-seen order."""

    __slots__ = ("index", "texts")

    def __init__(self) -> None:
        self.index: dict[int, int] = {}
        self.texts: list[str] = []

    def add(self, obj: Any, text: str) -> int:
        at = self.index.get(id(obj))
        if at is None:
            at = self.index[id(obj)] = len(self.texts)
            self.texts.append(text)
        return at


# id -> (object, JSON text): the object is kept so its id cannot be reused while cached.
_scope_texts: dict[int, tuple[Any, str]] = {}
_resource_texts: dict[int, tuple[Any, str]] = {}
_scopes: dict[str, InstrumentationScope] = {}
_resources: dict[str, Resource] = {}


def _text(cache: dict[int, tuple[Any, str]], obj: Any, build: Any) -> str:
    hit = cache.get(id(obj))
    if hit is not None and hit[0] is obj:
        return hit[1]
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    text = orjson.dumps(build(obj), default=_default).decode()
    cache[id(obj)] = (obj, text)
    return text


def _scope_doc(scope: InstrumentationScope | None) -> Any:
    if scope is None:
        return None
    attrs = getattr(scope, "attributes", None)
    return [scope.name, scope.version, scope.schema_url, _tag(dict(attrs)) if attrs else None]


def _resource_doc(resource: Resource | None) -> Any:
    if resource is None:
        return None
    return [_tag(dict(resource.attributes)), resource.schema_url]


def encode_batch(records: Sequence[AnyRecord]) -> bytes:
    """One JSON document holding ``records`` (see the module docstring)."""
    scopes, resources = _Table(), _Table()
    rows: list[list[Any]] = []
    for record in records:
        lr = record.log_record
        attrs: Any = lr.attributes or {}
        body = lr.body
        context: Any = getattr(record, "context", None)
        if context:
            context = coerce_attributes(context)
        tagged = _needs_tags(body, attrs) or (bool(context) and _needs_tags(None, context))
        if tagged:
            body, attrs, context = _tag(body), _tag(dict(attrs)), _tag(context) if context else None
        scope = record.instrumentation_scope
        resource = record.resource
        severity = lr.severity_number
        rows.append(
            [
                lr.timestamp,
                lr.observed_timestamp,
                severity.value if severity is not None else None,
                lr.severity_text,
                body,
                attrs if type(attrs) is dict else dict(attrs),
                lr.event_name,
                f"{lr.trace_id:x}" if lr.trace_id else None,
                f"{lr.span_id:x}" if lr.span_id else None,
                int(lr.trace_flags or 0),
                scopes.add(scope, _text(_scope_texts, scope, _scope_doc)),
                resources.add(resource, _text(_resource_texts, resource, _resource_doc)),
                context or None,
                1 if tagged else 0,
            ]
        )
    return orjson.dumps([scopes.texts, resources.texts, rows], default=_default)


def _scope(text: str) -> InstrumentationScope | None:
    scope = _scopes.get(text)
    if scope is None:
        doc = orjson.loads(text)
        if doc is None:
            return None
        name, version, schema_url, attrs = doc
        if len(_scopes) >= _CACHE_LIMIT:
            _scopes.clear()
        scope = _scopes[text] = InstrumentationScope(name, version, schema_url, _untag(attrs) if attrs else None)
    return scope


def _resource(text: str) -> Resource | None:
    resource = _resources.get(text)
    if resource is None:
        doc = orjson.loads(text)
        if doc is None:
            return None
        attrs, schema_url = doc
        if len(_resources) >= _CACHE_LIMIT:
            _resources.clear()
        resource = _resources[text] = Resource(_untag(attrs), schema_url)
    return resource


class _SpanContext:
    """What ``new_record`` reads of a span context: the ids and flags (always valid here)."""

    __slots__ = ("span_id", "trace_flags", "trace_id")

    is_valid = True

    def __init__(self, trace_id: int, span_id: int, trace_flags: int) -> None:
        self.trace_id = trace_id
        self.span_id = span_id
        self.trace_flags = trace_flags


def decode_batch(data: bytes | memoryview) -> list[Record]:
    """The records of a document made by ``encode_batch``, in order (raises on a malformed document)."""
    from opentelemetry.trace import TraceFlags

    scope_texts, resource_texts, rows = orjson.loads(data)
    scopes = [_scope(t) for t in scope_texts]
    resources = [_resource(t) for t in resource_texts]
    out: list[Record] = []
    for row in rows:
        ts, observed, severity, text, body, attrs, event, trace, span, flags, si, ri, context, tagged = row
        if tagged:
            body, attrs = _untag(body), _untag(attrs)
            context = _untag(context) if context else None
        span_context = _SpanContext(int(trace, 16), int(span or "0", 16), TraceFlags(flags)) if trace else None
        record = new_record(
            ts,
            _SEVERITIES.get(severity, SeverityNumber.UNSPECIFIED),
            text,
            body,
            attrs,
            scopes[si],
            span_context,
            None,
            event,
        )
        record.log_record.observed_timestamp = observed
        if severity is None:
            record.log_record.severity_number = None
        record.resource = resources[ri]
        if context:
            record.context = context
        out.append(record)
    return out
