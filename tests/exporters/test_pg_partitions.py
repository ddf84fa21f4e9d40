"""Time-partitioned PostgreSQL tables: rows in their period's partition, indexes on every partition, retention
by dropping partitions; against the real local server."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from fapilog import get_logger
from fapilog.exporters._pg_partitions import Partitioning, partition_name
from fapilog.exporters._pg_schema import MAX_IDENTIFIER_BYTES, Table
from fapilog.exporters.postgres import PostgresExporter, PostgresSettings
from fapilog.testing import CaptureExporter
from tests.exporters.test_postgres import FAST, dsn, explain, sql, table  # noqa: F401 - fixtures

pytestmark = pytest.mark.services
DAY_NS = 86_400 * 10**9


def records_days_ago(days: list[int]) -> list[Any]:
    """Records made by fapilog, one per entry of ``days``, timestamped that many days before now."""
    capture = CaptureExporter()
    logger = get_logger("app.partitions", sinks=[capture], reuse=False)
    for d in days:
        logger.info(f"{d} days ago", n=d)
    logger.drain()
    now = time.time_ns()
    for record, d in zip(capture.records, days, strict=True):
        record.log_record.timestamp = now - d * DAY_NS
    return list(capture.records)


def export(exporter: PostgresExporter, records: list[Any]) -> None:
    exporter.export(records)
    assert exporter.force_flush(30_000)


def utc_day(days_ago: int) -> date:
    return (datetime.now(UTC) - timedelta(days=days_ago)).date()


def partitions(dsn: str, table: str) -> list[str]:  # noqa: F811
    rows = sql(
        dsn,
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass($1) ORDER BY 1",
        f'"{table}"',
    )
    return [r[0] for r in rows]


def test_rows_go_to_the_partition_of_their_day(dsn: str, table: str) -> None:  # noqa: F811
    """partition_by="day": a partitioned parent, one partition per UTC day of the rows, each row in its own."""
    exporter = PostgresExporter(dsn=dsn, table_name=table, partition_by="day", **FAST)
    export(exporter, records_days_ago([0, 1, 3, 3]))
    exporter.shutdown()
    assert sql(dsn, "SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)", f'"{table}"')[0][0] == "p"
    expected = {d: partition_name(table, utc_day(d)) for d in (0, 1, 3)}
    assert partitions(dsn, table) == sorted(expected.values())
    placed = sql(dsn, f'SELECT tableoid::regclass::text AS part, message FROM "{table}" ORDER BY id')
    assert [(r["part"].strip('"'), r["message"]) for r in placed] == [
        (expected[0], "0 days ago"),
        (expected[1], "1 days ago"),
        (expected[3], "3 days ago"),
        (expected[3], "3 days ago"),
    ]


def test_every_partition_has_the_seed_indexes_and_the_parent_uses_them(dsn: str, table: str) -> None:  # noqa: F811
    """The four indexes and the key are made on the parent, so each partition has them, and a JSONB query on
    the parent goes through the partitions' GIN indexes."""
    exporter = PostgresExporter(dsn=dsn, table_name=table, partition_by="day", batch_size=500, **FAST)
    export(exporter, records_days_ago([0] * 300 + [2] * 300))
    exporter.shutdown()
    for part in partitions(dsn, table):
        defs = [r[0] for r in sql(dsn, "SELECT indexdef FROM pg_indexes WHERE tablename = $1", part)]
        assert len(defs) == 5, defs
        assert any("USING gin (event jsonb_path_ops)" in d for d in defs)
        assert any("WHERE (correlation_id IS NOT NULL)" in d for d in defs)
    sql(dsn, f'ANALYZE "{table}"')
    query = f"""SELECT count(*) FROM "{table}" WHERE event @> '{{"log": {{"data": {{"n": 2}}}}}}'"""
    assert sql(dsn, query)[0][0] == 300
    plan = explain(dsn, query)
    assert "Bitmap Index Scan" in plan
    assert "event_idx" in plan


def test_retention_drops_partitions_before_the_window(dsn: str, table: str) -> None:  # noqa: F811
    """retention_partitions=2 keeps today's and yesterday's partitions and drops older ones, counted."""
    old = PostgresExporter(dsn=dsn, table_name=table, partition_by="day", **FAST)
    export(old, records_days_ago([5, 4, 1]))
    old.shutdown()
    assert len(partitions(dsn, table)) == 3
    kept = PostgresExporter(dsn=dsn, table_name=table, partition_by="day", retention_partitions=2, **FAST)
    export(kept, records_days_ago([0]))
    kept.shutdown()
    assert partitions(dsn, table) == sorted([partition_name(table, utc_day(1)), partition_name(table, utc_day(0))])
    assert kept.partitions_dropped == 2
    assert sorted(r[0] for r in sql(dsn, f'SELECT message FROM "{table}"')) == ["0 days ago", "1 days ago"]


def test_a_row_older_than_the_window_is_stored_then_expires(dsn: str, table: str) -> None:  # noqa: F811
    """A late row gets its partition so its batch succeeds; that partition goes at the next expiry."""
    exporter = PostgresExporter(dsn=dsn, table_name=table, partition_by="day", retention_partitions=1, **FAST)
    export(exporter, records_days_ago([9]))
    assert exporter.stats().sent == 1
    assert partitions(dsn, table) == [partition_name(table, utc_day(9))]
    export(exporter, records_days_ago([0]))
    exporter.shutdown()
    assert partitions(dsn, table) == [partition_name(table, utc_day(0))]
    assert exporter.partitions_dropped == 1


def test_concurrent_exporters_create_each_partition_once(dsn: str, table: str) -> None:  # noqa: F811
    """Four exporters starting at once on the same partitioned table all deliver; one partition per week."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            exporter = PostgresExporter(dsn=dsn, table_name=table, partition_by="week", **FAST)
            export(exporter, records_days_ago([0, 7, 14]))
            exporter.shutdown()
            assert exporter.stats().sent == 3
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert sql(dsn, f'SELECT count(*) FROM "{table}"')[0][0] == 12
    assert len(partitions(dsn, table)) == 3  # 0, 7 and 14 days ago: three different ISO weeks


def test_an_unpartitioned_table_is_refused_when_partitioning(dsn: str, table: str) -> None:  # noqa: F811
    """partition_by on an existing plain table fails the batch once, with a message saying why (no retries)."""
    plain = PostgresExporter(dsn=dsn, table_name=table, **FAST)
    export(plain, records_days_ago([0]))
    plain.shutdown()
    exporter = PostgresExporter(dsn=dsn, table_name=table, partition_by="day", **FAST)
    export(exporter, records_days_ago([0, 0]))
    exporter.shutdown()
    stats = exporter.stats()
    assert (stats.sent, stats.failed, stats.retried) == (0, 2, 0)
    assert "is not partitioned" in stats.last_error


def test_partition_settings_are_checked() -> None:
    """partition_by needs the timestamp column, retention needs partition_by; unknown periods are refused."""
    with pytest.raises(ValueError, match="extract_fields"):
        PostgresSettings(partition_by="day", extract_fields=["level", "message"])
    with pytest.raises(ValueError, match="retention_partitions needs partition_by"):
        PostgresSettings(retention_partitions=3)
    with pytest.raises(ValueError, match="partition_by"):
        PostgresSettings(partition_by="hour")


def test_periods_and_names() -> None:
    """Weeks start on Monday, months roll over the year, and long table names keep partitions distinct."""
    logs = Table("public", "logs")
    week = Partitioning(logs, "week")
    assert week.start(datetime(2026, 11, 22, 23, 0, tzinfo=UTC)) == date(2026, 11, 16)
    assert week.following(date(2026, 11, 16)) == date(2026, 11, 23)
    month = Partitioning(logs, "month")
    assert month.following(date(2026, 12, 1)) == date(2027, 1, 1)
    assert month.start(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == date(2026, 12, 1)
    assert "FROM ('2026-12-01 00:00:00+00') TO ('2027-01-01 00:00:00+00')" in month.ddl(date(2026, 12, 1))
    long = "x" * 63
    names = {partition_name(long, date(2026, 11, d)) for d in (1, 2)}
    assert len(names) == 2
    assert all(len(n.encode()) <= MAX_IDENTIFIER_BYTES and n.endswith(("_20261101", "_20261102")) for n in names)
    three = Partitioning(logs, "day", retention=3, clock=lambda: datetime(2026, 11, 21, 5, tzinfo=UTC))
    assert three.oldest_kept() == date(2026, 11, 19)
