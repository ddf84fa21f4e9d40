"""Time-partitioned tables for the PostgreSQL exporter, with retention by dropping whole partitions.

With ``partition_by`` (``day``, ``week`` or ``month``, in UTC) the table is ``PARTITION BY RANGE ("timestamp")``.
PostgreSQL wants the partition key in the primary key, so the key is ``(id, "timestamp")`` and ``timestamp``
is NOT NULL (the exporter always fills it). The seed's four indexes are made on the parent table, so every
partition has them, and queries on the parent see every partition.

Before each COPY the partitions its rows need are created (``CREATE TABLE IF NOT EXISTS ... PARTITION OF``),
under the same advisory lock as the table, so several processes make each one once. Partitions are named
``<table>_YYYYMMDD`` after the first day they hold (the table part shortened with a hash when the whole would
pass 63 bytes). With ``retention_partitions`` = N, whenever a partition is created (so at least once a period)
the partitions before the N most recent periods of the clock are dropped: ``DROP TABLE`` is instant and leaves
no dead rows behind, unlike ``DELETE``. A row older than the retention window is still stored, so its batch
succeeds, and goes with its partition at the next expiry. The bounds in the DDL are formatted from dates,
never from log content.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fapilog.exporters._pg_schema import MAX_IDENTIFIER_BYTES, Table, quote_identifier

__all__ = ["PERIODS", "Partitioning", "partition_name"]

PERIODS = ("day", "week", "month")
_DATE_SUFFIX = re.compile(r"_(\d{8})$")


def partition_name(table: str, start: date) -> str:
    """The name of ``table``'s partition starting on ``start``: ``<table>_YYYYMMDD``, at most 63 bytes."""
    suffix = f"_{start:%Y%m%d}"
    if len((table + suffix).encode("utf-8")) <= MAX_IDENTIFIER_BYTES:
        return table + suffix
    digest = "_" + hashlib.sha256(table.encode("utf-8")).hexdigest()[:10]
    head = table.encode()[: MAX_IDENTIFIER_BYTES - len(digest) - len(suffix)].decode("utf-8", "ignore")
    return head + digest + suffix


class Partitioning:
    """The partitions of one table: which a timestamp needs, creating them, and dropping expired ones."""

    __slots__ = ("_clock", "_known", "dropped", "period", "retention", "table")

    def __init__(
        self,
        table: Table,
        period: str,
        retention: int = 0,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if period not in PERIODS:
            raise ValueError(f"partition_by must be one of {list(PERIODS)}, not {period!r}")
        if retention < 0:
            raise ValueError(f"retention_partitions must be 0 (keep all) or more, not {retention}")
        self.table = table
        self.period = period
        self.retention = retention
        self._clock = clock
        self._known: set[date] = set()  # partitions this process made or found
        self.dropped = 0  # partitions dropped by retention

    def start(self, when: datetime) -> date:
        """The first day of the period holding ``when`` (in UTC)."""
        day = when.astimezone(UTC).date() if when.tzinfo is not None else when.date()
        if self.period == "week":  # ISO weeks: Monday first
            return day - timedelta(days=day.weekday())
        if self.period == "month":
            return day.replace(day=1)
        return day

    def following(self, start: date) -> date:
        """The first day of the period after the one starting on ``start``."""
        if self.period == "day":
            return start + timedelta(days=1)
        if self.period == "week":
            return start + timedelta(days=7)
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)

    def ddl(self, start: date) -> str:
        """The statement creating the partition starting on ``start``."""
        name = quote_identifier(self.table.schema) + "." + quote_identifier(partition_name(self.table.name, start))
        end = self.following(start)
        return (
            f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {self.table.qualified} "
            f"FOR VALUES FROM ('{start:%Y-%m-%d} 00:00:00+00') TO ('{end:%Y-%m-%d} 00:00:00+00')"
        )

    async def ensure(self, conn: Any, timestamps: Iterable[datetime]) -> None:
        """Create, on ``conn``, the partitions ``timestamps`` need that this process has not seen yet; then
        drop the expired ones (when any was created)."""
        needed = {self.start(ts) for ts in timestamps} - self._known
        if not needed:
            return
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"fapilog:{self.table.qualified}")
            for start in sorted(needed):
                await conn.execute(self.ddl(start))
            self._known |= needed
            if self.retention:
                await self._expire(conn, keep=needed)

    def oldest_kept(self) -> date:
        """The first day of the oldest period retention keeps: the current period and the ones before it."""
        start = self.start(self._clock())
        for _ in range(self.retention - 1):
            start = self.start(datetime.combine(start - timedelta(days=1), datetime.min.time(), UTC))
        return start

    async def _expire(self, conn: Any, *, keep: set[date]) -> None:
        """Drop our partitions older than the retention window, except those in ``keep`` (the batch about to be
        copied needs them)."""
        keep_from = self.oldest_kept()
        rows = await conn.fetch(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass($1)",
            self.table.qualified,
        )
        for (relname,) in rows:
            start = self._own_start(relname)
            if start is None or start >= keep_from or start in keep:
                continue
            await conn.execute(
                f"DROP TABLE IF EXISTS {quote_identifier(self.table.schema)}.{quote_identifier(relname)}"
            )
            self._known.discard(start)
            self.dropped += 1

    def _own_start(self, relname: str) -> date | None:
        """The start day of a partition named by ``partition_name``; None for any other table."""
        match = _DATE_SUFFIX.search(relname)
        if match is None:
            return None
        try:
            start = datetime.strptime(match.group(1), "%Y%m%d").date()
        except ValueError:
            return None
        return start if partition_name(self.table.name, start) == relname else None
