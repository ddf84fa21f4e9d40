"""The PostgreSQL exporter's table: identifiers checked and quoted, the seed's schema and its four indexes.

No SQL here is ever built from log content: only from the configured schema and table names, which are
checked (non-empty, no NUL, at most 63 bytes: PostgreSQL would silently cut a longer name) and always quoted
(``"`` doubled), so quotes, semicolons or spaces in a name are just part of the name. Index names longer than
63 bytes are shortened with a hash, so two indexes of a long table name never collide after PostgreSQL's cut.

``create_table`` runs the DDL once per process, in one transaction holding a transaction-level advisory lock
keyed by the qualified name, so several processes starting at once create the table and indexes exactly once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

__all__ = ["COLUMNS", "GIN_OPCLASSES", "MAX_IDENTIFIER_BYTES", "Table", "check_identifier", "quote_identifier"]

MAX_IDENTIFIER_BYTES = 63  # NAMEDATALEN - 1
# The extractable columns and their SQL types in the seed's schema (the order rows are built in).
COLUMNS: dict[str, str] = {
    "timestamp": "TIMESTAMPTZ",
    "level": "VARCHAR(10)",
    "logger": "VARCHAR(255)",
    "correlation_id": "VARCHAR(64)",
    "message": "TEXT",
}

# The GIN operator classes for ``event``, the default first: ``jsonb_path_ops`` indexes one hash per path and
# value, so it serves containment (``@>``) and JSON path (``@?``, ``@@``) queries and is about twice as fast
# to insert into as ``jsonb_ops``, which also serves the key-existence operators (``?``, ``?|``, ``?&``).
GIN_OPCLASSES = ("jsonb_path_ops", "jsonb_ops")


def check_identifier(name: str, what: str = "identifier") -> str:
    """``name`` if PostgreSQL can hold it exactly as given; a ``ValueError`` saying why not otherwise."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"PostgreSQL {what} must be a non-empty string, not {name!r}")
    if "\x00" in name:
        raise ValueError(f"PostgreSQL {what} cannot contain a NUL character: {name!r}")
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError(f"PostgreSQL {what} is not valid Unicode: {name!r}") from None
    if size > MAX_IDENTIFIER_BYTES:
        raise ValueError(
            f"PostgreSQL {what} is {size} bytes long; at most {MAX_IDENTIFIER_BYTES} are kept, "
            f"so it is refused rather than silently cut: {name[:80]!r}..."
        )
    return name


def quote_identifier(name: str) -> str:
    """``name`` as a quoted SQL identifier (checked first)."""
    return '"' + check_identifier(name).replace('"', '""') + '"'


def _index_name(table: str, suffix: str) -> str:
    name = f"idx_{table}_{suffix}"
    if len(name.encode("utf-8")) <= MAX_IDENTIFIER_BYTES:
        return name
    digest = hashlib.sha256(table.encode("utf-8")).hexdigest()[:10]
    tail = f"_{digest}_{suffix}"
    head = f"idx_{table}".encode()[: MAX_IDENTIFIER_BYTES - len(tail)].decode("utf-8", "ignore")
    return head + tail


@dataclass(frozen=True, slots=True)
class Table:
    """A checked schema-qualified table name and the DDL of the seed's schema for it."""

    schema: str
    name: str

    def __post_init__(self) -> None:
        check_identifier(self.schema, "schema name")
        check_identifier(self.name, "table name")

    @property
    def qualified(self) -> str:
        return f"{quote_identifier(self.schema)}.{quote_identifier(self.name)}"

    def ddl(self, *, use_jsonb: bool, gin_opclass: str = GIN_OPCLASSES[0], partitioned: bool = False) -> list[str]:
        """CREATE TABLE / INDEX IF NOT EXISTS statements of the seed's schema (GIN only with JSONB, with the
        operator class ``gin_opclass``); ``partitioned``: by range of ``timestamp`` (see ``_pg_partitions``)."""
        if gin_opclass not in GIN_OPCLASSES:
            raise ValueError(f"gin_opclass must be one of {list(GIN_OPCLASSES)}, not {gin_opclass!r}")
        q = self.qualified
        types = {**COLUMNS, "timestamp": "TIMESTAMPTZ NOT NULL"} if partitioned else COLUMNS
        columns = ",\n  ".join(f"{quote_identifier(c)} {t}" for c, t in types.items())
        event = "JSONB" if use_jsonb else "JSON"
        rest = f"created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),\n  {columns},\n  event {event} NOT NULL"
        if partitioned:  # the partition key must be part of the primary key
            body = f'id BIGSERIAL,\n  {rest},\n  PRIMARY KEY (id, "timestamp")'
            table = f'CREATE TABLE IF NOT EXISTS {q} (\n  {body}\n) PARTITION BY RANGE ("timestamp")'
        else:
            table = f"CREATE TABLE IF NOT EXISTS {q} (\n  id BIGSERIAL PRIMARY KEY,\n  {rest}\n)"
        statements = [
            table,
            f'CREATE INDEX IF NOT EXISTS {self._index("timestamp")} ON {q} ("timestamp" DESC)',
            f'CREATE INDEX IF NOT EXISTS {self._index("level")} ON {q} ("level")',
            f'CREATE INDEX IF NOT EXISTS {self._index("correlation_id")} ON {q} ("correlation_id") '
            'WHERE "correlation_id" IS NOT NULL',
        ]
        if use_jsonb:
            gin = self._index("event_gin")
            statements.append(f'CREATE INDEX IF NOT EXISTS {gin} ON {q} USING GIN ("event" {gin_opclass})')
        return statements

    def _index(self, suffix: str) -> str:
        return quote_identifier(_index_name(self.name, suffix))

    async def create(
        self, conn: Any, *, use_jsonb: bool, gin_opclass: str = GIN_OPCLASSES[0], partitioned: bool = False
    ) -> None:
        """Create the schema (if missing), table and indexes on ``conn`` (an asyncpg connection), under an
        advisory lock so that concurrent processes do it one after the other. A table that exists already
        must be partitioned or not as asked (a ``ValueError`` says which otherwise)."""
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"fapilog:{self.qualified}")
            if not await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", self.schema):
                await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(self.schema)}")
            kind = await conn.fetchval("SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)", self.qualified)
            if kind is not None and (kind == "p") != partitioned:
                state = "is partitioned" if kind == "p" else "exists and is not partitioned"
                wanted = "partition_by is set" if partitioned else "partition_by is not set"
                raise ValueError(f"table {self.qualified} {state}, but {wanted}: use another table_name")
            for statement in self.ddl(use_jsonb=use_jsonb, gin_opclass=gin_opclass, partitioned=partitioned):
                await conn.execute(statement)
