"""OpenTelemetry's own ``logging`` handlers, which would send every stdlib record a second time.

The SDK's ``opentelemetry.sdk._logs.LoggingHandler`` (deprecated upstream) and the one of
``opentelemetry-instrumentation-logging`` are both classes named ``LoggingHandler`` in an ``opentelemetry``
module; they are recognised by that, so neither package has to be imported (or installed) to find them.
Silencing one means giving it a filter that rejects every record: its place in the handler list is kept, and
removing the filter restores it.
"""

from __future__ import annotations

import logging
import weakref

__all__ = ["is_otel_handler", "otel_handlers", "silence", "silenced", "unsilence_all"]

_kinds: dict[type, bool] = {}


def is_otel_handler(handler: logging.Handler) -> bool:
    """Whether ``handler`` is (or derives from) one of OpenTelemetry's ``LoggingHandler`` classes."""
    cls = type(handler)
    known = _kinds.get(cls)
    if known is None:
        known = any(c.__name__ == "LoggingHandler" and c.__module__.startswith("opentelemetry.") for c in cls.__mro__)
        _kinds[cls] = known
    return known


def otel_handlers(logger: logging.Logger) -> list[logging.Handler]:
    """OpenTelemetry's logging handlers attached to ``logger`` itself."""
    return [h for h in logger.handlers if is_otel_handler(h)]


class _RejectAll(logging.Filter):
    """Rejects every record: the handler it is added to stands down in favour of fapilog's bridge."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


_REJECT = _RejectAll("fapilog.bridge")
_silenced: weakref.WeakSet[logging.Handler] = weakref.WeakSet()


def silenced(handler: logging.Handler) -> bool:
    return _REJECT in handler.filters


def silence(handler: logging.Handler) -> None:
    """Make ``handler`` reject every record (idempotent)."""
    if _REJECT not in handler.filters:
        handler.addFilter(_REJECT)
        _silenced.add(handler)


def unsilence_all() -> None:
    """Give every silenced handler its records back."""
    for handler in list(_silenced):
        handler.removeFilter(_REJECT)
    _silenced.clear()
