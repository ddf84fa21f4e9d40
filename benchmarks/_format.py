"""Reading result rows (one per child) and formatting their numbers for the tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Row = dict[str, Any]


def ok(row: Row) -> bool:
    return "error" not in row


def find(rows: Sequence[Row], key: str) -> Row | None:
    """The successful row with ``key`` (``<scenario>-<library>-<variant>``), if any."""
    for row in rows:
        if row["key"] == key and ok(row):
            return row
    return None


def mib(kib: float) -> float:
    return kib / 1024


def rss_growth_mib(row: Row) -> float:
    """How much the resident set grew from just before the first call to its peak."""
    return mib(row["rss_peak_kib"] - row["rss_before_kib"])


def us(value: float) -> str:
    if value < 10:
        return f"{value:.2f}"
    if value < 1000:
        return f"{value:.1f}"
    return f"{value:,.0f}"


def times(value: float | None) -> str:
    """A ratio: two decimals below 10x, so that 1.45x is not shown as 1.5x."""
    if value is None:
        return "—"
    return f"{value:.2f}x" if value < 10 else f"{value:.1f}x"


def count(value: float) -> str:
    return f"{value:,.0f}"


def delivered(row: Row) -> str:
    return f"{count(row['delivered'])} / {count(row['n'])}"


def label(row: Row) -> str:
    return f"**{row['label']}**" if row["ours"] else str(row["label"])
