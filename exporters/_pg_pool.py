"""The PostgreSQL transport seam: an asyncpg pool given, or one of our own, and COPY of a batch of rows.

Our own pool is made on first use on the running loop (fapilog's worker loop) and closed by ``release()``
after each flush, so a new worker loop after a drain gets a pool of its own (a pool belongs to one loop).
A pool passed in is used as it is and never closed. The table is created (``create_table``) once per sender,
before the first COPY.

A failed send raises ``CopyFailed`` saying whether the rows may have been stored anyway (``unknown``): only
when the connection was lost after the COPY started and before PostgreSQL answered. ``copy_outcome`` turns it
into the delivery's verdict: connection and server-availability errors (SQLSTATE classes 08, 53, 57, 58 and
40, timeouts, OS errors) are retried; anything else PostgreSQL said (a missing table, a permission, bad data)
is permanent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from fapilog._optional import require
from fapilog.exporters._delivery import Outcome, Payload, Reply
from fapilog.exporters._pg_partitions import Partitioning
from fapilog.exporters._pg_rows import Rows
from fapilog.exporters._pg_schema import GIN_OPCLASSES, Table

__all__ = ["CopyFailed", "PoolSender", "copy_outcome"]

_TRANSIENT_CLASSES = ("08", "53", "57", "58", "40")
_DELIVERED = Reply(200)


class CopyFailed(Exception):
    """A COPY that failed; ``unknown`` when PostgreSQL may have committed it all the same."""

    def __init__(self, cause: BaseException, *, unknown: bool) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__)
        self.cause = cause
        self.unknown = unknown


class PoolSender:
    """``await sender(rows_payload)`` COPYs the rows into ``table`` through a pooled connection."""

    __slots__ = (
        "_connect",
        "_created",
        "_lock",
        "_loop",
        "_own",
        "_pool",
        "acquire_timeout",
        "columns",
        "create_table",
        "gin_opclass",
        "max_size",
        "min_size",
        "partitions",
        "table",
        "use_jsonb",
    )

    def __init__(
        self,
        connect: Mapping[str, Any],
        table: Table,
        columns: Sequence[str],
        *,
        min_size: int = 2,
        max_size: int = 10,
        acquire_timeout: float = 10.0,
        create_table: bool = True,
        use_jsonb: bool = True,
        gin_opclass: str = GIN_OPCLASSES[0],
        partitions: Partitioning | None = None,
        pool: Any = None,
    ) -> None:
        self._connect = dict(connect)
        self.table = table
        self.columns = list(columns)
        self.min_size = min_size
        self.max_size = max_size
        self.acquire_timeout = acquire_timeout
        self.create_table = create_table
        self.use_jsonb = use_jsonb
        self.gin_opclass = gin_opclass
        self.partitions = partitions
        self._pool = pool
        self._own = pool is None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None
        self._created = not create_table

    async def _get_pool(self) -> Any:
        if not self._own:
            return self._pool
        loop = asyncio.get_running_loop()
        if self._pool is not None and self._loop is loop:
            return self._pool
        if self._lock is None or self._lock[0] is not loop:
            self._lock = (loop, asyncio.Lock())
        async with self._lock[1]:  # batches in flight at once make one pool, not one each
            if self._pool is not None and self._loop is loop:
                return self._pool
            stale, self._pool = self._pool, None
            if stale is not None:  # a pool of a loop that is gone
                with contextlib.suppress(Exception):
                    stale.terminate()
            asyncpg: Any = require("asyncpg", extra="postgres")
            self._pool = await asyncpg.create_pool(
                **self._connect,
                min_size=min(self.min_size, self.max_size),
                max_size=self.max_size,
                server_settings={"application_name": "fapilog"},
            )
            self._loop = loop
            return self._pool

    async def __call__(self, payload: Payload) -> Reply:
        assert isinstance(payload, Rows)
        started = False
        try:
            pool = await self._get_pool()
            async with pool.acquire(timeout=self.acquire_timeout) as conn:
                if not self._created:
                    await self.table.create(
                        conn,
                        use_jsonb=self.use_jsonb,
                        gin_opclass=self.gin_opclass,
                        partitioned=self.partitions is not None,
                    )
                    self._created = True
                if self.partitions is not None:
                    at = self.columns.index("timestamp")
                    await self.partitions.ensure(conn, (row[at] for row in payload.rows))
                started = True
                await conn.copy_records_to_table(
                    self.table.name, schema_name=self.table.schema, columns=self.columns, records=payload.rows
                )
        except Exception as exc:
            from_server = _is_server_error(exc)
            if self._pool is not None and (not from_server or _transient(exc)):
                with contextlib.suppress(Exception):
                    await self._pool.expire_connections()  # reconnect: the server may have restarted
            raise CopyFailed(exc, unknown=started and not from_server) from exc
        return _DELIVERED

    async def release(self) -> None:
        """Close our own pool (if any, and if it belongs to the running loop)."""
        if not self._own:
            return
        pool, loop, self._pool, self._loop = self._pool, self._loop, None, None
        if pool is None:
            return
        if loop is asyncio.get_running_loop():
            try:
                await asyncio.wait_for(pool.close(), 5.0)
            except Exception:
                pool.terminate()
        else:
            with contextlib.suppress(Exception):
                pool.terminate()


def _is_server_error(exc: BaseException) -> bool:
    asyncpg: Any = require("asyncpg", extra="postgres")
    return isinstance(exc, asyncpg.PostgresError)


def _transient(exc: BaseException) -> bool:
    sqlstate = getattr(exc, "sqlstate", None) or ""
    return sqlstate.startswith(_TRANSIENT_CLASSES)


def copy_outcome(exc: BaseException) -> Outcome:
    """The delivery's verdict on a failed send: transient errors retried, PostgreSQL's refusals permanent."""
    if not isinstance(exc, CopyFailed):  # pragma: no cover - the sender wraps everything
        return Outcome("retry", message=f"{type(exc).__name__}: {exc}", unknown=True)
    cause = exc.cause
    if isinstance(cause, ValueError):  # our own refusal (e.g. a table of the wrong kind): retrying cannot help
        return Outcome("failed", message=str(exc))
    if _is_server_error(cause) and not _transient(cause):
        sqlstate = getattr(cause, "sqlstate", "")
        message = f"PostgreSQL {sqlstate}: {exc}"
        if sqlstate.startswith("22"):  # bad data: the server is fine, the batch is refused
            return Outcome("rejected", message=message)
        return Outcome("failed", message=message)
    return Outcome("retry", message=str(exc), unknown=exc.unknown)
