"""Human-friendly sizes (``"10 MB"``) and durations (``"500ms"``, ``"daily"``) for settings."""

from __future__ import annotations

import math
import re
from fractions import Fraction

__all__ = ["parse_duration", "parse_size"]

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
    "t": 1000**4,
    "tb": 1000**4,
    "tib": 1024**4,
}
_MAX_SIZE = 2**63 - 1
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$", re.IGNORECASE)
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
_NAMED = {"hourly": 3600.0, "daily": 86400.0, "weekly": 7 * 86400.0}


def parse_size(value: int | float | str) -> int:
    """Bytes from an int or a string such as ``"10 MB"`` (decimal units) or ``"64 MiB"`` (binary units)."""
    if isinstance(value, bool):
        raise ValueError(f"not a size: {value!r}")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"size must be a finite number of bytes, not negative: {value!r}")
        return int(value)
    match = _SIZE.match(str(value))
    if match is None or match.group(2).lower() not in _SIZE_UNITS:
        raise ValueError(f"not a size: {value!r} (try '10 MB', '64 MiB' or a number of bytes)")
    # Exact decimal arithmetic: "2.01 MB" is 2,010,000 bytes, not 2,009,999.
    size = int(Fraction(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])
    if size > _MAX_SIZE:
        raise ValueError(f"size too large: {value!r}")
    return size


def parse_duration(value: int | float | str) -> float:
    """Seconds from a number or a string such as ``"250ms"``, ``"5s"``, ``"2h"``, ``"hourly"``, ``"daily"``."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"duration must be a finite number of seconds, not negative: {value!r}")
        return float(value)
    text = str(value).strip().lower()
    if text in _NAMED:
        return _NAMED[text]
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a duration: {value!r} (try '250ms', '5s', '1h', 'hourly' or 'daily')")
    seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if not math.isfinite(seconds):
        raise ValueError(f"duration too large: {value!r}")
    return seconds
