"""Group 4: PostgreSQL, through fapilog into the seed's indexed schema, and where the time goes."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from _components_common import (
    DRAIN_TIMEOUT,
    MESSAGE,
    PATH,
    Repeated,
    Sizes,
    Table,
    make_record,
    rate,
    round_robin,
    runs_text,
)
from _format import count, us
from fapilog import Settings, get_logger
from fapilog._otel import as_readable
from fapilog.exporters._pg_rows import Row, RowCodec
from fapilog.exporters._pg_schema import COLUMNS
from fapilog.exporters._pg_schema import Table as PgTable

DSN = "postgresql://postgres@127.0.0.1:5432/test"
BATCH_SIZE = 5_000
BATCH_BYTES = 1_000_000  # the delivery's default byte bound of a batch: with ~500-byte rows it cuts first
TARGET = 100_000  # SPEC: rows/s into the seed's indexed schema


def _sql(query: str, *args: Any) -> Any:
    """The first value of ``query``'s first row, on a connection of its own."""
    import asyncpg

    async def run() -> Any:
        conn = await asyncpg.connect(DSN, timeout=5)
        try:
            return await conn.fetchval(query, *args)
        finally:
            await conn.close()

    return asyncio.run(run())


def _reachable() -> str | None:
    """The server's version, or None when it does not answer (or asyncpg is missing)."""
    try:
        return str(_sql("SHOW server_version"))
    except Exception:
        return None


def _new_table() -> str:
    return f"fapilog_bench_{uuid.uuid4().hex[:12]}"


def _drop(table: str) -> None:
    _sql(f'DROP TABLE IF EXISTS "{table}"')


# ---- through fapilog ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Run:
    seconds: float
    rows: int
    copies: int
    dropped: int


def _through_fapilog(n: int, *, use_jsonb: bool, in_flight: int = 1) -> _Run:
    from fapilog.exporters.postgres import PostgresExporter

    table = _new_table()
    exporter = PostgresExporter(
        dsn=DSN,
        table_name=table,
        batch_size=BATCH_SIZE,
        use_jsonb=use_jsonb,
        max_buffered=n,
        max_in_flight=in_flight,
        shutdown_timeout=DRAIN_TIMEOUT,
    )
    settings = Settings(core={"max_queue_size": n, "backpressure_policy": "block"})
    log = get_logger("bench", settings=settings, sinks=[exporter], reuse=False)
    info = log.info
    try:
        start = time.perf_counter()
        for i in range(n):
            info(MESSAGE, user_id=i, path=PATH, status=200, duration_ms=12.5)
        result = log.drain(DRAIN_TIMEOUT)
        seconds = time.perf_counter() - start
        stats = exporter.stats()
        rows = int(_sql(f'SELECT count(*) FROM "{table}"'))
    finally:
        _drop(table)
    return _Run(seconds, rows, stats.batches, result.dropped + stats.dropped + stats.failed)


@dataclass(frozen=True, slots=True)
class _Through:
    label: str
    use_jsonb: bool
    in_flight: int = 1


_THROUGH = (
    _Through("through fapilog, JSONB + GIN (the seed's schema)", use_jsonb=True),
    _Through("through fapilog, the seed's schema, `max_in_flight=2`", use_jsonb=True, in_flight=2),
    _Through("through fapilog, JSON", use_jsonb=False),
)


# ---- the parts: building rows, and COPY alone ----------------------------------------------------------------


def _batches(rows: list[Row]) -> list[list[Row]]:
    """Rows cut as the delivery cuts them: at most BATCH_SIZE rows and BATCH_BYTES (JSON + 64 per row)."""
    out: list[list[Row]] = []
    batch: list[Row] = []
    used = 0
    for row in rows:
        size = len(row[-1]) + 64
        if batch and (len(batch) >= BATCH_SIZE or used + size > BATCH_BYTES):
            out.append(batch)
            batch, used = [], 0
        batch.append(row)
        used += size
    if batch:
        out.append(batch)
    return out


def _build_rows(n: int) -> tuple[list[Row], float]:
    """The exporter's rows for ``n`` records, and the seconds ``RowCodec.item`` took over them."""
    codec = RowCodec(list(COLUMNS))
    records = [make_record(i) for i in range(n)]
    start = time.perf_counter()
    rows = [codec.item(r) for r in as_readable(records)]
    return rows, time.perf_counter() - start


@dataclass(frozen=True, slots=True)
class _Schema:
    label: str
    use_jsonb: bool
    indexes: bool
    connections: int = 1


_SCHEMAS = (
    _Schema("JSONB, the seed's four indexes (GIN on `event`)", use_jsonb=True, indexes=True),
    _Schema("the seed's schema, two connections at once", use_jsonb=True, indexes=True, connections=2),
    _Schema("JSONB, no index but the primary key", use_jsonb=True, indexes=False),
    _Schema("JSON (`use_jsonb=False`), three indexes (no GIN)", use_jsonb=False, indexes=True),
    _Schema("JSON, no index but the primary key", use_jsonb=False, indexes=False),
)


def _copy_only(schema: _Schema, batches: Sequence[list[Row]]) -> tuple[float, int]:
    """Seconds to COPY ``batches`` into a new table of ``schema`` (each of its connections taking the next
    batch when its last one is done), and the rows the table then holds."""
    import asyncpg

    table = _new_table()
    ddl = PgTable("public", table).ddl(use_jsonb=schema.use_jsonb)

    async def run() -> tuple[float, int]:
        conns = [await asyncpg.connect(DSN, timeout=5) for _ in range(schema.connections)]
        todo = iter(batches)

        async def copy(conn: Any) -> None:
            for batch in todo:
                await conn.copy_records_to_table(table, columns=[*COLUMNS, "event"], records=batch)

        try:
            for statement in ddl if schema.indexes else ddl[:1]:
                await conns[0].execute(statement)
            start = time.perf_counter()
            await asyncio.gather(*(copy(conn) for conn in conns))
            seconds = time.perf_counter() - start
            return seconds, int(await conns[0].fetchval(f'SELECT count(*) FROM "{table}"'))
        finally:
            await conns[0].execute(f'DROP TABLE IF EXISTS "{table}"')
            for conn in conns:
                await conn.close()

    return asyncio.run(run())


# ---- the table ------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Parts:
    build: list[float] = field(default_factory=list)  # seconds of RowCodec.item over N records
    copy: list[list[float]] = field(default_factory=lambda: [[] for _ in _SCHEMAS])  # seconds, by schema
    stored: list[int] = field(default_factory=lambda: [0 for _ in _SCHEMAS])  # rows in the table (last run)


def postgres(sizes: Sizes) -> Table:
    n = sizes.postgres
    title = f"4. PostgreSQL (N = {count(n)})"
    method = (
        f"{count(n)} `log.info(...)` calls through a logger (`max_queue_size` {count(n)}, `block` policy) into "
        f'`PostgresExporter(dsn="{DSN}", table_name=<new>, batch_size={BATCH_SIZE:_}, max_buffered={n:_})`, '
        "which creates the seed's table and indexes (once more with `max_in_flight=2`: two batches COPYed at "
        "once, on two pooled connections); records/s = rows counted in the table afterwards ÷ seconds from the "
        "first call until `drain()` returned; the table is then dropped. The parts, measured alone: "
        "`RowCodec.item` turning records into rows (the exporter's CPU work), and binary COPY "
        "(`copy_records_to_table`, as the exporter does) of the same rows, batch by batch on one connection "
        "(or two, each taking the next batch), into a new table of each schema."
    )
    header = ["What", "Rows/s", "Rows/s, each run", "µs per row", "COPYs", "Rows stored (worst run)"]
    version = _reachable()
    if version is None:
        return Table(title, method, header, [], [f"Skipped: PostgreSQL at {DSN} did not answer (or no asyncpg)."])

    through: list[list[_Run]] = [[] for _ in _THROUGH]

    def run_through(i: int) -> Callable[[], None]:
        setup = _THROUGH[i]
        return lambda: through[i].append(_through_fapilog(n, use_jsonb=setup.use_jsonb, in_flight=setup.in_flight))

    _through_fapilog(sizes.warmup, use_jsonb=True)
    round_robin(sizes.repeats, [run_through(i) for i in range(len(_THROUGH))])
    parts = _Parts()
    _build_rows(sizes.warmup)
    batches: list[list[Row]] = []

    def build() -> None:
        nonlocal batches
        built, seconds = _build_rows(n)
        parts.build.append(seconds)
        batches = _batches(built)

    def copy(i: int) -> Callable[[], None]:
        def step() -> None:
            seconds, parts.stored[i] = _copy_only(_SCHEMAS[i], batches)
            parts.copy[i].append(seconds)

        return step

    round_robin(sizes.repeats, [build, *(copy(i) for i in range(len(_SCHEMAS)))])

    out: list[list[str]] = []
    for setup, runs in zip(_THROUGH, through, strict=True):
        label = setup.label
        rates = [rate(r.rows, r.seconds) for r in runs]
        out.append(
            [f"**{label}**", count(Repeated(rates).value), runs_text(rates), us(1e6 / Repeated(rates).value),
             count(Repeated([float(r.copies) for r in runs]).value), f"{count(min(r.rows for r in runs))} / {count(n)}"]
        )  # fmt: skip
    build_rates = [n / s for s in parts.build]
    out.append(["rows built alone (`RowCodec.item`: envelope, JSON, columns)", count(Repeated(build_rates).value),
                runs_text(build_rates), us(Repeated(parts.build).value / n * 1e6), "—", "—"])  # fmt: skip
    for i, schema in enumerate(_SCHEMAS):
        copy_rates = [n / s for s in parts.copy[i]]
        out.append([f"COPY alone: {schema.label}", count(Repeated(copy_rates).value), runs_text(copy_rates),
                    us(Repeated(parts.copy[i]).value / n * 1e6), count(len(batches)),
                    f"{count(parts.stored[i])} / {count(n)}"])  # fmt: skip
    seed = max(
        Repeated([rate(r.rows, r.seconds) for r in runs]).value
        for setup, runs in zip(_THROUGH, through, strict=True)
        if setup.use_jsonb
    )
    lost = max(r.dropped for runs in through for r in runs)
    notes = [
        f"PostgreSQL {version} on 127.0.0.1. SPEC target: ≥ {count(TARGET)} rows/s into the seed's indexed "
        f"schema: {'reached' if seed >= TARGET else 'not reached'} ({count(seed)} rows/s, the better setup's median "
        "run). "
        f"Batches are cut at {BATCH_SIZE:,} rows or {BATCH_BYTES:,} bytes, whichever comes first, as the "
        f"exporter's delivery cuts them. Records dropped or failed (worst run): {count(lost)}.",
    ]
    return Table(title, method, header, out, notes)
