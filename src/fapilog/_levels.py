"""Log levels: fapilog priorities, their names, and the OpenTelemetry severity each maps to.

Priorities follow the stdlib (DEBUG 10 ... CRITICAL 50); AUDIT (60) and SECURITY (70) are built in. Level
filtering compares priorities. Each level also has an OpenTelemetry ``SeverityNumber``: built-in levels map
to their natural ranges, AUDIT and SECURITY sit above ERROR and below FATAL (ERROR3 and ERROR4: they are
important, not fatal), and a custom level maps into the range of the nearest stdlib level below it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from opentelemetry._logs import SeverityNumber

__all__ = ["Level", "level_for", "register_level"]


@dataclass(frozen=True, slots=True)
class Level:
    """One log level."""

    name: str
    priority: int
    severity: SeverityNumber


_BUILTIN = (
    Level("TRACE", 5, SeverityNumber.TRACE),
    Level("DEBUG", 10, SeverityNumber.DEBUG),
    Level("INFO", 20, SeverityNumber.INFO),
    Level("WARNING", 30, SeverityNumber.WARN),
    Level("ERROR", 40, SeverityNumber.ERROR),
    Level("CRITICAL", 50, SeverityNumber.FATAL),
    Level("AUDIT", 60, SeverityNumber.ERROR3),
    Level("SECURITY", 70, SeverityNumber.ERROR4),
)
_ALIASES = {"WARN": "WARNING", "FATAL": "CRITICAL", "ERR": "ERROR"}
_LEVELS: dict[str, Level] = {lvl.name: lvl for lvl in _BUILTIN}
_lock = threading.Lock()

# The first SeverityNumber of each OpenTelemetry range, keyed by the stdlib priority that opens it.
_RANGES = ((50, 21), (40, 17), (30, 13), (20, 9), (10, 5), (0, 1))


def _severity_for(priority: int) -> SeverityNumber:
    for floor, first in _RANGES:
        if priority >= floor:
            step = min((priority - floor) * 4 // 10, 3)
            return SeverityNumber(first + step)
    return SeverityNumber.TRACE


def level_for(name: str | int) -> Level:
    """The level called ``name`` (case-insensitive; ``WARN``/``FATAL`` accepted), or with that priority."""
    if isinstance(name, int):
        for lvl in _LEVELS.values():
            if lvl.priority == name:
                return lvl
        return Level(f"LEVEL{name}", name, _severity_for(name))
    key = str(name).strip().upper()
    key = _ALIASES.get(key, key)
    try:
        return _LEVELS[key]
    except KeyError:
        known = ", ".join(sorted(_LEVELS))
        raise ValueError(f"unknown log level {name!r}; known levels: {known}") from None


def known_levels() -> list[Level]:
    """Every registered level, lowest priority first."""
    return sorted(_LEVELS.values(), key=lambda lvl: lvl.priority)


def register_level(name: str, priority: int, *, add_method: bool = False) -> None:
    """Register a custom level ``name`` with ``priority`` (an int, stdlib scale).

    With ``add_method=True`` every logger facade gains a method named ``name.lower()`` that logs at it.
    Registering the same name again with the same priority is a no-op; anything else that clashes raises
    ``ValueError``.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"level name must be an identifier, got {name!r}")
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 < priority < 1000:
        raise ValueError(f"level priority must be an int between 1 and 999, got {priority!r}")
    key = name.upper()
    if add_method:
        from fapilog._facade import check_level_method

        check_level_method(key.lower())
    with _lock:
        existing = _LEVELS.get(key)
        if existing is not None and existing.priority != priority:
            raise ValueError(f"level {key} already registered with priority {existing.priority}")
        if existing is None:
            _LEVELS[key] = Level(key, priority, _severity_for(priority))
    if add_method:
        from fapilog._facade import add_level_method

        add_level_method(key.lower(), _LEVELS[key])
