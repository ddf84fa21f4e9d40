"""``RoutingTable``: levels -> targets, with a fallback for records no rule matches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

from fapilog._levels import level_for

__all__ = ["RoutingTable"]

T = TypeVar("T")


class RoutingTable(Generic[T]):
    """Levels -> targets. A level no rule names goes to ``fallback``; with ``overlap=False`` only the first
    matching rule counts. Lookups are cached per level name."""

    __slots__ = ("_cache", "_fallback", "_overlap", "_rules")

    def __init__(
        self, rules: Sequence[tuple[Sequence[str], Sequence[T]]], *, fallback: Sequence[T] = (), overlap: bool = True
    ) -> None:
        self._rules = [(frozenset(level_for(lv).name for lv in levels), tuple(targets)) for levels, targets in rules]
        self._fallback = tuple(fallback)
        self._overlap = overlap
        self._cache: dict[str | None, tuple[T, ...]] = {}

    def targets(self, level: str | None) -> tuple[T, ...]:
        """The targets of a record at ``level`` (a level name), in rule order, without repeats."""
        hit = self._cache.get(level)
        if hit is not None:
            return hit
        try:
            name: str | None = level_for(level).name if level else None
        except ValueError:
            name = level
        found: list[T] = []
        for levels, targets in self._rules:
            if name in levels:
                found.extend(t for t in targets if t not in found)
                if not self._overlap:
                    break
        result = tuple(found) if found else self._fallback
        self._cache[level] = result
        return result
