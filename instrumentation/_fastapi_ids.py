"""Identifiers of a request: the request id (checked or made), W3C trace context, and header values.

Everything here reads raw ASGI header bytes a client controls, so nothing is trusted: a request id that is
too long or has characters outside ``[A-Za-z0-9._:-]`` is replaced by a fresh one (the rejected value is never
logged), and ``traceparent`` must parse exactly as the W3C Trace Context spec says or it is ignored.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterable

from opentelemetry.trace import SpanContext, TraceFlags

__all__ = [
    "MAX_ID_LENGTH",
    "clean_id",
    "header_value",
    "new_request_id",
    "new_span_context",
    "parse_traceparent",
]

MAX_ID_LENGTH = 128
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_VISIBLE = re.compile(r"[\x21-\x7e]{1,128}")  # user / tenant ids: printable ASCII, no spaces or controls
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")


def header_value(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    """The first value of header ``name`` (lower case), decoded as latin-1; None when absent."""
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def new_request_id() -> str:
    """A fresh request id: 32 hex digits of a random UUID."""
    return uuid.uuid4().hex


def clean_id(value: str | None, *, strict: bool = True) -> str | None:
    """``value`` when it is a safe id, else None. ``strict``: the request-id alphabet; otherwise printable ASCII."""
    if value is None or len(value) > MAX_ID_LENGTH:
        return None
    pattern = _REQUEST_ID if strict else _VISIBLE
    return value if pattern.fullmatch(value) else None


def parse_traceparent(value: str | None) -> SpanContext | None:
    """The remote span context a W3C ``traceparent`` header names, or None when it is absent or invalid."""
    if value is None or len(value) > 512:
        return None
    match = _TRACEPARENT.fullmatch(value.strip())
    if match is None:
        return None
    version, trace_hex, span_hex, flags_hex, rest = match.groups()
    if version == "ff" or (version == "00" and rest is not None):
        return None
    trace_id, span_id = int(trace_hex, 16), int(span_hex, 16)
    if trace_id == 0 or span_id == 0:
        return None
    return SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(int(flags_hex, 16) & 0xFF))


def new_span_context() -> SpanContext:
    """A fresh, sampled trace context for a request that arrived without one."""
    return SpanContext(
        secrets.randbits(128) or 1,
        secrets.randbits(64) or 1,
        is_remote=False,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
