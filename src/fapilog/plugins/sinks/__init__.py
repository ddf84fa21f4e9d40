"""The seed's sink contract and building blocks for custom sinks.

A custom sink is any object with ``async write(entry: dict)`` (and optionally ``async start()``,
``async stop()``, ``async write_serialized(view)``, ``async health_check()``), passed as
``get_logger(sinks=[MySink()])``. ``MemoryMappedPersistence`` is a fast append-only file for such sinks.
"""

from fapilog.plugins.sinks._contract import BaseSink, SerializedView
from fapilog.plugins.sinks._mmap import MemoryMappedPersistence

__all__ = ["BaseSink", "MemoryMappedPersistence", "SerializedView"]
