"""The pieces of an access record: which paths to skip, which requests to sample, which headers to show."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from typing import Any

from opentelemetry.trace import SpanContext

from fapilog._random import uniform
from fapilog.instrumentation._fastapi_state import SENSITIVE_HEADERS

__all__ = ["HeaderPicker", "PathSkipper", "Sampler", "route_template"]

MASK = "***"
_MAX_VALUE = 1024  # characters of one header value or path kept in a record
_LOW_64 = (1 << 64) - 1


class PathSkipper:
    """Exact paths (``/healthz``) and glob patterns (``/static/*``, ``/internal/*/ping``); ``*`` spans slashes."""

    __slots__ = ("_exact", "_glob")

    def __init__(self, patterns: Iterable[str]) -> None:
        patterns = list(patterns)
        self._exact = frozenset(p for p in patterns if not any(c in p for c in "*?["))
        globs = [fnmatch.translate(p) for p in patterns if p not in self._exact]
        self._glob = re.compile("|".join(globs)) if globs else None

    def __call__(self, path: str) -> bool:
        return path in self._exact or (self._glob is not None and self._glob.match(path) is not None)


class Sampler:
    """Keeps a fraction of successful requests: by trace id when there is one (a trace is kept or dropped as a
    whole, the way OpenTelemetry's ratio sampler decides), else at random."""

    __slots__ = ("_bound", "rate")

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._bound = round(rate * (1 << 64))

    def __call__(self, span: SpanContext) -> bool:
        if self.rate >= 1.0:
            return True
        if span.is_valid:
            return (span.trace_id & _LOW_64) < self._bound
        return uniform() < self.rate


class HeaderPicker:
    """The request headers to log (all, or the named ones), sensitive ones masked, long values cut."""

    __slots__ = ("_masked", "_only")

    def __init__(self, log_headers: bool | Iterable[str], redact: Iterable[str]) -> None:
        self._masked = frozenset(h.lower().encode("latin-1") for h in (*SENSITIVE_HEADERS, *redact))
        if log_headers is True:
            self._only: frozenset[bytes] | None = None
        elif log_headers is False:
            self._only = frozenset()
        else:
            self._only = frozenset(h.lower().encode("latin-1") for h in log_headers)

    @property
    def enabled(self) -> bool:
        return self._only is None or bool(self._only)

    def __call__(self, headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
        picked: dict[str, str] = {}
        for raw_key, raw_value in headers:
            key = raw_key.lower()
            if self._only is not None and key not in self._only:
                continue
            name = key.decode("latin-1")
            value = MASK if key in self._masked else clip(raw_value.decode("latin-1"))
            picked[name] = f"{picked[name]}, {value}" if name in picked and value != MASK else value
        return picked


def clip(value: str) -> str:
    return value if len(value) <= _MAX_VALUE else value[:_MAX_VALUE] + "...[truncated]"


def route_template(scope: dict[str, Any]) -> str | None:
    """The matched route's template (``/items/{item_id}``), when routing found one."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) else None
