"""What fapilog expects of a sink object (fapilog 0.18's ``BaseSink``), and the pre-serialized entry view."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["BaseSink", "SerializedView"]


@runtime_checkable
class BaseSink(Protocol):
    """A sink: ``write`` receives each entry (the record's fapilog envelope, enriched and redacted).

    ``start`` runs before the first write and ``stop`` at shutdown; both may be left out (a class that
    subclasses ``BaseSink`` inherits ones that do nothing). A sink may also
    have ``async write_serialized(view: SerializedView)`` (used instead of ``write``: the entry as JSON
    bytes, serialized once for every sink) and ``async health_check() -> bool``. Errors a sink raises are
    contained: counted as failed exports and reported on the diagnostics channel, never raised into the
    application.
    """

    async def start(self) -> None:
        """Prepare (open files, connect); a subclass that needs nothing may leave it out."""
        return

    async def write(self, entry: dict[str, Any]) -> None:
        """Deliver one entry."""
        ...

    async def stop(self) -> None:
        """Release what ``start`` took; a subclass that needs nothing may leave it out."""
        return


@dataclass(frozen=True, slots=True)
class SerializedView:
    """One entry serialized as JSON (UTF-8, no trailing newline), viewed without a copy."""

    data: memoryview

    def __bytes__(self) -> bytes:
        return bytes(self.data)
