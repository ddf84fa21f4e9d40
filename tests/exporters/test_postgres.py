"""The PostgreSQL exporter, used through fapilog against the real local PostgreSQL server."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from fapilog import Settings, get_logger
from fapilog._diagnostics import Diagnostics
from fapilog._sinks import build_exporters
from fapilog.exporters._pg_schema import Table
from fapilog.exporters.postgres import EnvPostgresExporter, PostgresExporter, PostgresSettings, postgres_exporter
from tests.conftest import service_unavailable

pytestmark = pytest.mark.services
asyncpg = pytest.importorskip("asyncpg")

_CANDIDATES = [
    os.environ.get("FAPILOG_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"),
    "postgresql://root@127.0.0.1:5432/test",
]
FAST: dict[str, Any] = {"retry_base_delay": 0.05, "max_backoff": 0.5, "breaker_recovery": 0.3}


def sql(dsn: str, query: str, *args: Any) -> list[Any]:
    """Rows of ``query`` on a connection of its own."""

    async def run() -> list[Any]:
        conn = await asyncpg.connect(dsn, timeout=5)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    return asyncio.run(run())


def _reachable(dsn: str) -> bool:
    try:
        sql(dsn, "SELECT 1")
    except Exception:
        return False
    return True


@pytest.fixture(scope="module")
def dsn() -> str:
    """The test server's DSN (the first candidate that answers)."""
    for candidate in _CANDIDATES:
        if _reachable(candidate):
            return candidate
    service_unavailable(f"PostgreSQL at {_CANDIDATES[0]}")
    raise AssertionError("unreachable")


@pytest.fixture
def table(dsn: str) -> Iterator[str]:
    """A unique table name, dropped afterwards."""
    name = f"fapilog_t_{uuid.uuid4().hex[:12]}"
    yield name
    sql(dsn, f'DROP TABLE IF EXISTS "{name}"')


def log_and_drain(exporter: PostgresExporter, n: int, **fields: Any) -> None:
    logger = get_logger("app.pg", sinks=[exporter], reuse=False)
    for i in range(n):
        logger.info(f"record {i}", n=i, **fields)
    logger.drain()


def explain(dsn: str, query: str) -> str:
    async def run() -> str:
        conn = await asyncpg.connect(dsn, timeout=5)
        try:
            await conn.execute("SET enable_seqscan = off")
            return "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + query))
        finally:
            await conn.close()

    return asyncio.run(run())


def test_rows_have_the_extracted_columns_and_the_envelope(dsn: str, table: str) -> None:
    """Every record is one row: timestamp, level, logger, correlation_id, message and the envelope in JSONB."""
    exporter = PostgresExporter(dsn=dsn, table_name=table)
    logger = get_logger("app.pg", sinks=[exporter], reuse=False)
    logger.info("plain", order_id=1)
    logger.warning("with request", request_id="req-1")
    logger.error("with correlation", correlation_id="corr-1", request_id="req-2")
    logger.drain()
    rows = sql(dsn, f'SELECT * FROM "{table}" ORDER BY id')
    assert [(r["level"], r["logger"], r["correlation_id"], r["message"]) for r in rows] == [
        ("INFO", "app.pg", None, "plain"),
        ("WARNING", "app.pg", "req-1", "with request"),
        ("ERROR", "app.pg", "corr-1", "with correlation"),
    ]
    assert all(abs(r["timestamp"].timestamp() - time.time()) < 60 for r in rows)
    event = sql(dsn, f"SELECT event->'log'->'data'->>'order_id' AS u, jsonb_typeof(event) AS t FROM \"{table}\"")[0]
    assert (event["u"], event["t"]) == ("1", "object")
    stats = exporter.stats()
    assert (stats.sent, stats.failed, stats.dropped, stats.duplicates_possible) == (3, 0, 0, 0)


def test_table_and_four_indexes_follow_the_seed_schema(dsn: str, table: str) -> None:
    """create_table makes the seed's columns and its four indexes (the correlation_id one partial)."""
    log_and_drain(PostgresExporter(dsn=dsn, table_name=table), 1)
    columns = sql(
        dsn,
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = $1 "
        "ORDER BY ordinal_position",
        table,
    )
    assert [(c[0], c[1], c[2]) for c in columns] == [
        ("id", "bigint", "NO"),
        ("created_at", "timestamp with time zone", "NO"),
        ("timestamp", "timestamp with time zone", "YES"),
        ("level", "character varying", "YES"),
        ("logger", "character varying", "YES"),
        ("correlation_id", "character varying", "YES"),
        ("message", "text", "YES"),
        ("event", "jsonb", "NO"),
    ]
    indexes = {r[0]: r[1] for r in sql(dsn, "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = $1", table)}
    assert set(indexes) == {
        f"{table}_pkey",
        f"idx_{table}_timestamp",
        f"idx_{table}_level",
        f"idx_{table}_correlation_id",
        f"idx_{table}_event_gin",
    }
    assert "WHERE (correlation_id IS NOT NULL)" in indexes[f"idx_{table}_correlation_id"]
    assert "USING gin (event jsonb_path_ops)" in indexes[f"idx_{table}_event_gin"]
    assert 'timestamp" DESC' in indexes[f"idx_{table}_timestamp"]


def test_gin_opclass_jsonb_ops_serves_key_existence(dsn: str, table: str) -> None:
    """gin_opclass="jsonb_ops" makes the GIN index that also answers event ? 'key' queries."""
    log_and_drain(PostgresExporter(dsn=dsn, table_name=table, gin_opclass="jsonb_ops", batch_size=500), 1000)
    index = sql(dsn, "SELECT indexdef FROM pg_indexes WHERE indexname = $1", f"idx_{table}_event_gin")[0][0]
    assert "USING gin (event)" in index
    sql(dsn, f'ANALYZE "{table}"')
    query = f"""SELECT count(*) FROM "{table}" WHERE event -> 'log' ? 'data' AND event ? 'nope'"""
    assert sql(dsn, query)[0][0] == 0
    assert f"idx_{table}_event_gin" in explain(dsn, query)


def test_gin_opclass_is_checked() -> None:
    """An unknown gin_opclass is refused when the exporter is made, naming the option."""
    with pytest.raises(ValueError, match="gin_opclass"):
        PostgresExporter(dsn="postgresql://127.0.0.1/test", gin_opclass="btree_ops")


def test_jsonb_containment_and_correlation_queries_use_the_indexes(dsn: str, table: str) -> None:
    """event @> '{...}' goes through the GIN index and correlation_id = ... through the partial index."""
    log_and_drain(PostgresExporter(dsn=dsn, table_name=table, batch_size=500), 1000, request_id="req-x")
    sql(dsn, f'ANALYZE "{table}"')
    query = f"""SELECT count(*) FROM "{table}" WHERE event @> '{{"log": {{"data": {{"n": 7}}}}}}'"""
    assert sql(dsn, query)[0][0] == 1
    assert f"idx_{table}_event_gin" in explain(dsn, query)
    by_correlation = f"SELECT count(*) FROM \"{table}\" WHERE correlation_id = 'req-x'"
    assert sql(dsn, by_correlation)[0][0] == 1000
    assert f"idx_{table}_correlation_id" in explain(dsn, by_correlation)


def test_json_column_and_no_raw_json(dsn: str, table: str) -> None:
    """use_jsonb=False makes a JSON column without GIN index; include_raw_json=False stores {} (NOT NULL)."""
    log_and_drain(PostgresExporter(dsn=dsn, table_name=table, use_jsonb=False, include_raw_json=False), 2)
    rows = sql(dsn, f'SELECT event::text AS e, message FROM "{table}" ORDER BY id')
    assert [(r["e"], r["message"]) for r in rows] == [("{}", "record 0"), ("{}", "record 1")]
    kind = sql(
        dsn, "SELECT data_type FROM information_schema.columns WHERE table_name = $1 AND column_name = 'event'", table
    )
    assert kind[0][0] == "json"
    assert not sql(dsn, "SELECT 1 FROM pg_indexes WHERE tablename = $1 AND indexname LIKE '%gin'", table)


def test_extract_fields_subset(dsn: str, table: str) -> None:
    """Only the extract_fields columns are filled; the others stay NULL."""
    log_and_drain(PostgresExporter(dsn=dsn, table_name=table, extract_fields=["message"]), 1)
    row = sql(dsn, f'SELECT level, logger, "timestamp", message FROM "{table}"')[0]
    assert tuple(row) == (None, None, None, "record 0")
    with pytest.raises(ValueError, match="extract_fields"):
        PostgresExporter(dsn=dsn, extract_fields=["message", "hostname"])


@pytest.mark.parametrize(
    "hostile",
    ['x"; DROP TABLE pg_class; --', "Robert'); DROP TABLE students;--", "spaces and UPPER", 'q""q', "naïve-ü"],
)
def test_hostile_table_names_are_quoted(dsn: str, hostile: str) -> None:
    """Quotes, semicolons and spaces are part of the name: the table is made and filled, nothing else runs."""
    name = f"{hostile}{uuid.uuid4().hex[:6]}"
    escaped = name.replace('"', '""')
    try:
        exporter = PostgresExporter(dsn=dsn, table_name=name)
        log_and_drain(exporter, 3)
        assert exporter.stats().sent == 3
        assert sql(dsn, f'SELECT count(*) FROM "{escaped}"')[0][0] == 3
        assert len(sql(dsn, "SELECT indexname FROM pg_indexes WHERE tablename = $1", name)) == 5
    finally:
        sql(dsn, f'DROP TABLE IF EXISTS "{escaped}"')


@pytest.mark.parametrize("bad", ["", "a\x00b", "x" * 64, "é" * 32])
def test_unholdable_names_are_refused(bad: str) -> None:
    """Empty names, NUL and names over 63 bytes (PostgreSQL would cut them) are refused with a clear error."""
    with pytest.raises(ValueError, match="PostgreSQL"):
        PostgresExporter(table_name=bad)
    with pytest.raises(ValueError, match="PostgreSQL"):
        PostgresExporter(schema_name=bad)


def test_long_names_get_distinct_index_names(dsn: str) -> None:
    """A 63-byte table name still gets four distinct indexes (long index names are hashed, not cut)."""
    name = f"t{uuid.uuid4().hex}".ljust(63, "z")
    try:
        log_and_drain(PostgresExporter(dsn=dsn, table_name=name), 1)
        names = [r[0] for r in sql(dsn, "SELECT indexname FROM pg_indexes WHERE tablename = $1", name)]
        assert len(names) == 5
        assert all(len(n.encode()) <= 63 for n in names)
    finally:
        sql(dsn, f'DROP TABLE IF EXISTS "{name}"')


def test_schema_name_is_created_and_used(dsn: str, table: str) -> None:
    """A schema that does not exist yet is created; the table goes in it."""
    schema = f"fapilog_s_{uuid.uuid4().hex[:8]}"
    try:
        log_and_drain(PostgresExporter(dsn=dsn, table_name=table, schema_name=schema), 2)
        assert sql(dsn, f'SELECT count(*) FROM "{schema}"."{table}"')[0][0] == 2
    finally:
        sql(dsn, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_nul_bytes_and_surrogates_are_stored_sanitised(dsn: str, table: str) -> None:
    """NUL characters and lone surrogates become U+FFFD instead of failing the batch."""
    exporter = PostgresExporter(dsn=dsn, table_name=table)
    logger = get_logger("app\x00pg", sinks=[exporter], reuse=False)
    logger.info("a\x00b", value="c\x00d", text="e\ud800f", request_id="r\x00")
    logger.info("g\udcffh")
    logger.info("fine", literal="\\u0000 is six characters")
    logger.drain()
    stats = exporter.stats()
    assert (stats.sent, stats.failed, stats.dropped) == (3, 0, 0)
    assert exporter.sanitised == 3  # the logger name has a NUL too
    rows = sql(
        dsn,
        f"SELECT message, logger, correlation_id, event->'log'->'data' AS data FROM \"{table}\" ORDER BY id",
    )
    assert [r["message"] for r in rows] == ["a\ufffdb", "g\ufffdh", "fine"]
    assert (rows[0]["logger"], rows[0]["correlation_id"]) == ("app\ufffdpg", "r\ufffd")
    import json

    first, _, last = (json.loads(r["data"]) for r in rows)
    assert first["value"] == "c\ufffdd"
    assert "\ud800" not in first["text"]
    assert first["text"].startswith("e")
    assert last["literal"] == "\\u0000 is six characters"


def test_server_down_is_counted_never_raised() -> None:
    """No server: the batch is retried, then counted failed; nothing raises into the application."""
    exporter = PostgresExporter(dsn="postgresql://postgres@127.0.0.1:1/test", max_retries=1, **FAST)
    log_and_drain(exporter, 5)
    stats = exporter.stats()
    assert (stats.sent, stats.failed, stats.retried, stats.duplicates_possible) == (0, 5, 1, 0)
    assert "Connect" in stats.last_error or "refused" in stats.last_error.lower()


def test_missing_table_without_create_is_permanent(dsn: str, table: str) -> None:
    """create_table=False and no table: PostgreSQL's refusal is permanent, not retried."""
    exporter = PostgresExporter(dsn=dsn, table_name=table, create_table=False, max_retries=5, **FAST)
    log_and_drain(exporter, 2)
    stats = exporter.stats()
    assert (stats.sent, stats.failed, stats.retried) == (0, 2, 0)
    assert "42P01" in stats.last_error


def _waiting_copies(dsn: str, table: str) -> int:
    """Our exporter's sessions waiting for a lock on ``table`` (COPY, or asyncpg's look at its columns first)."""
    query = (
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'fapilog' "
        "AND wait_event_type = 'Lock' AND position($1 in query) > 0"
    )
    return int(sql(dsn, query, table)[0][0])


def test_max_in_flight_copies_that_many_batches_at_once(dsn: str, table: str) -> None:
    """max_in_flight=2: while another session locks the table, exactly two COPYs wait on it (two batches in
    flight, never three); once it lets go, every row is stored."""
    for statement in Table("public", table).ddl(use_jsonb=True):
        sql(dsn, statement)
    locked, release = threading.Event(), threading.Event()

    async def hold_lock() -> None:
        conn = await asyncpg.connect(dsn, timeout=5)
        try:
            async with conn.transaction():
                await conn.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
                locked.set()
                await asyncio.get_running_loop().run_in_executor(None, release.wait, 30)
        finally:
            await conn.close()

    holder = threading.Thread(target=asyncio.run, args=(hold_lock(),))
    holder.start()
    try:
        assert locked.wait(10)
        exporter = PostgresExporter(
            dsn=dsn, table_name=table, create_table=False, batch_size=10, max_in_flight=2, **FAST
        )
        logger = get_logger("app.pg", sinks=[exporter], reuse=False)
        for i in range(50):  # five full batches, each sent as soon as it is full
            logger.info(f"record {i}", n=i)
        deadline = time.monotonic() + 10
        while _waiting_copies(dsn, table) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _waiting_copies(dsn, table) == 2
        time.sleep(0.3)  # the other three batches stay buffered behind the two
        assert _waiting_copies(dsn, table) == 2
    finally:
        release.set()
        holder.join(30)
    logger.drain(timeout=30)
    assert sql(dsn, f"SELECT count(DISTINCT event->'log'->'data'->'n') FROM \"{table}\"")[0][0] == 50
    stats = exporter.stats()
    assert (stats.sent, stats.batches, stats.failed, stats.dropped) == (50, 5, 0, 0)


def test_max_in_flight_is_bounded_by_the_pool() -> None:
    """A COPY needs a connection: max_in_flight above max_pool_size is refused, naming both."""
    with pytest.raises(ValueError, match="max_in_flight cannot exceed max_pool_size"):
        PostgresExporter(max_in_flight=3, max_pool_size=2)
    assert PostgresSettings().max_in_flight == 1


def _cluster_command() -> list[str]:
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not versions:
        pytest.skip("pg_ctlcluster is not available here")
    return ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main"]


@pytest.mark.reliability
def test_server_restart_mid_stream_loses_nothing(dsn: str, table: str) -> None:
    """The server restarts while records flow: every record is stored, duplicates only as counted.

    The restart is a stop, then a start once the exporter has met the stopped server (a retry), so that the
    outage always falls on a batch whatever the timing."""
    command = _cluster_command()
    exporter = PostgresExporter(
        dsn=dsn, table_name=table, batch_size=50, batch_timeout_seconds=0.05, max_retries=40, **FAST
    )
    logger = get_logger("app.pg", sinks=[exporter], reuse=False)
    total = 3000
    restarted = threading.Event()

    def restart() -> None:
        time.sleep(0.5)
        subprocess.run([*command, "stop"], check=True, capture_output=True, timeout=60)
        try:
            deadline = time.monotonic() + 30
            while exporter.stats().retried == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            subprocess.run([*command, "start"], check=True, capture_output=True, timeout=60)
        restarted.set()

    worker = threading.Thread(target=restart)
    worker.start()
    for i in range(total):
        logger.info(f"record {i}", n=i)
        time.sleep(0.001)
    worker.join()
    assert restarted.is_set()
    logger.drain(timeout=60)
    for _ in range(100):
        if _reachable(dsn):
            break
        time.sleep(0.1)
    stats = exporter.stats()
    rows, distinct = sql(dsn, f"SELECT count(*), count(DISTINCT event->'log'->'data'->'n') FROM \"{table}\"")[0]
    assert distinct == total
    assert rows - total <= stats.duplicates_possible
    assert (stats.failed, stats.dropped) == (0, 0)
    assert stats.retried >= 1


_STARTUP = """
import sys, time
from fapilog import get_logger
from fapilog.exporters.postgres import PostgresExporter
dsn, table, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
exporter = PostgresExporter(dsn=dsn, table_name=table, max_retries=0)
logger = get_logger("proc", sinks=[exporter], reuse=False)
time.sleep(max(0.0, start - time.time()))
for i in range(10):
    logger.info("started", i=i)
logger.drain()
s = exporter.stats()
print(s.sent, s.failed, s.last_error)
"""


@pytest.mark.reliability
def test_concurrent_startup_creates_the_table_once(dsn: str, table: str) -> None:
    """Six processes starting at once: the table and indexes are created once, every record stored."""
    start = str(time.time() + 2.0)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(_STARTUP), dsn, table, start],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, outputs
    assert [out.split()[:2] for out, _ in outputs] == [["10", "0"]] * 6, outputs
    assert sql(dsn, f'SELECT count(*) FROM "{table}"')[0][0] == 60
    assert len(sql(dsn, "SELECT 1 FROM pg_indexes WHERE tablename = $1", table)) == 5


def test_seed_settings_and_dsn_forms_build_exporters() -> None:
    """The seed's two Settings snippets build postgres exporters with their options (nothing connects yet)."""
    settings = Settings(
        sinks=[
            {
                "type": "postgres",
                "host": "db.example.com",
                "database": "logs",
                "user": "fapilog_writer",
                "password": "secret",
                "table_name": "app_logs",
                "max_pool_size": 20,
            }
        ]
    )
    (exporter,) = build_exporters(settings.sinks, console="stdout_json", diagnostics=Diagnostics(), settings=settings)
    assert isinstance(exporter, PostgresExporter)
    assert exporter.settings.connect_arguments() == {
        "host": "db.example.com",
        "port": 5432,
        "database": "logs",
        "user": "fapilog_writer",
        "password": "secret",
    }
    assert (exporter.settings.table_name, exporter.settings.max_pool_size) == ("app_logs", 20)
    assert "secret" not in repr(exporter.settings)
    settings = Settings(sinks=[{"type": "postgres", "dsn": "postgresql://user:pass@host:5432/dbname"}])
    (exporter,) = build_exporters(settings.sinks, console="stdout_json", diagnostics=Diagnostics(), settings=settings)
    assert exporter.settings.connect_arguments() == {"dsn": "postgresql://user:pass@host:5432/dbname"}
    assert exporter.settings.batch_size == 100
    assert exporter.settings.table_name == "logs"


def test_environment_variables_configure_the_exporter(monkeypatch: pytest.MonkeyPatch) -> None:
    """FAPILOG_POSTGRES__* configure EnvPostgresExporter and the "postgres" sink factory."""
    monkeypatch.setenv("FAPILOG_POSTGRES__TABLE_NAME", "env_logs")
    monkeypatch.setenv("FAPILOG_POSTGRES__EXTRACT_FIELDS", "level,message")
    monkeypatch.setenv("FAPILOG_POSTGRES__PASSWORD", "pw")
    monkeypatch.setenv("FAPILOG_POSTGRES__MAX_IN_FLIGHT", "2")
    exporter = EnvPostgresExporter()
    assert exporter.settings.max_in_flight == exporter.delivery.max_in_flight == 2
    assert exporter.settings.table_name == "env_logs"
    assert exporter.settings.extract_fields == ["level", "message"]
    assert exporter.settings.connect_arguments()["password"] == "pw"
    assert postgres_exporter(None, batch_size=7).settings.table_name == "env_logs"  # the "postgres" sink's factory
    monkeypatch.setenv("FAPILOG_POSTGRES__BATCH_SIZE", "zero")
    with pytest.raises(ValueError, match="postgres"):
        EnvPostgresExporter()


def test_settings_defaults_match_the_seed() -> None:
    """PostgresSettings keeps the seed's defaults, and every field is described."""
    s = PostgresSettings()
    assert (s.dsn, s.host, s.port, s.database, s.user, s.password) == (
        None,
        "localhost",
        5432,
        "fapilog",
        "fapilog",
        None,
    )
    assert (s.table_name, s.schema_name, s.create_table, s.min_pool_size, s.max_pool_size) == (
        "logs",
        "public",
        True,
        2,
        10,
    )
    assert (s.pool_acquire_timeout, s.batch_size, s.batch_timeout_seconds, s.max_retries, s.retry_base_delay) == (
        10.0,
        100,
        5.0,
        3,
        0.5,
    )
    assert (s.circuit_breaker_enabled, s.circuit_breaker_threshold, s.use_jsonb, s.include_raw_json) == (
        True,
        5,
        True,
        True,
    )
    assert s.extract_fields == ["timestamp", "level", "logger", "correlation_id", "message"]
    assert all(f.description for f in PostgresSettings.model_fields.values())
