"""The OpenTelemetry global logger provider that ``configure(set_otel_provider=True)`` installs.

OpenTelemetry lets the global provider be set once per process, while ``configure()`` may replace the
process-wide pipeline later. So the global provider is this one small delegate: each logger it hands out
emits through whatever pipeline is the process-wide one at that moment.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry._logs import Logger, LoggerProvider

__all__ = ["DelegatingLoggerProvider"]


class _DelegatingLogger(Logger):
    def __init__(self, provider: Callable[[], LoggerProvider], name: str, version: str | None, **kwargs: Any) -> None:
        super().__init__(name, version, kwargs.get("schema_url"), kwargs.get("attributes"))
        self._provider = provider
        self._args = (name, version, kwargs.get("schema_url"), kwargs.get("attributes"))

    def _target(self) -> Logger:
        return self._provider().get_logger(*self._args)

    def emit(self, record: Any = None, **fields: Any) -> None:
        self._target().emit(record, **fields)

    def enabled(self, **kwargs: Any) -> bool:
        return bool(self._target().enabled(**kwargs))


class DelegatingLoggerProvider(LoggerProvider):
    """Hands out loggers that emit through ``provider()``, the current process-wide pipeline's provider."""

    def __init__(self, provider: Callable[[], LoggerProvider]) -> None:
        self._provider = provider

    def get_logger(
        self, name: str, version: str | None = None, schema_url: str | None = None, attributes: Any = None
    ) -> Logger:
        return _DelegatingLogger(self._provider, name, version, schema_url=schema_url, attributes=attributes)
