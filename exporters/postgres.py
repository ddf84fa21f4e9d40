"""PostgreSQL exporter: batches COPYed into a table through an asyncpg pool.

Each record becomes one row: the extracted columns (``timestamp``, ``level``, ``logger``, ``correlation_id``,
``message``; see ``_pg_rows``) and the whole fapilog envelope in ``event`` (JSONB, or JSON with
``use_jsonb=False``; ``{}`` with ``include_raw_json=False``, the column being NOT NULL). Batches go by binary
COPY (``copy_records_to_table``), the fastest of COPY, ``executemany`` and ``unnest`` measured here (see
docs/postgres.md). With ``create_table`` the seed's table and its four indexes are created once, under an
advisory lock (``_pg_schema``). Batching, retry with backoff, the circuit breaker, the fallback and the
counters are the shared ``Delivery``'s.

Guarantee: at least once. A batch whose COPY failed with the connection lost before PostgreSQL answered may
have been committed; it is sent again and counted in ``stats().duplicates_possible``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from fapilog.exporters._delivery import Delivery, network_delivery
from fapilog.exporters._netsettings import JsonList, validated
from fapilog.exporters._network import NetworkExporter
from fapilog.exporters._pg_partitions import Partitioning
from fapilog.exporters._pg_pool import PoolSender, copy_outcome
from fapilog.exporters._pg_rows import Row, RowCodec
from fapilog.exporters._pg_schema import COLUMNS, Table, check_identifier

__all__ = ["EnvPostgresExporter", "PostgresExporter", "PostgresSettings", "postgres_exporter"]

_ENV_PREFIX = "FAPILOG_POSTGRES__"
_DELIVERY_KEYS = frozenset({"batch_bytes", "max_buffered", "clock", "sleep", "rng", "diagnostics"})
_OBJECT_KWARGS = frozenset(
    {"pool", "fallback", "breaker_recovery", "max_backoff", "retry_deadline", "shutdown_timeout"} | _DELIVERY_KEYS
)


class PostgresSettings(BaseModel):
    """The PostgreSQL exporter's settings (``FAPILOG_POSTGRES__*``)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    dsn: SecretStr | None = Field(
        None, description="Full connection string (overrides host, port, database, user and password)."
    )
    host: str = Field("localhost", description="Database host.")
    port: int = Field(5432, ge=1, le=65535, description="Database port.")
    database: str = Field("fapilog", description="Database name.")
    user: str = Field("fapilog", description="Database user.")
    password: SecretStr | None = Field(None, description="Database password.")
    table_name: str = Field("logs", description="Target table name (quoted; at most 63 bytes).")
    schema_name: str = Field("public", description="Target schema name (quoted; at most 63 bytes).")
    create_table: bool = Field(True, description="Create the table and its indexes if they do not exist.")
    min_pool_size: int = Field(2, ge=0, description="Minimum connections in the pool.")
    max_pool_size: int = Field(10, ge=1, description="Maximum connections in the pool.")
    pool_acquire_timeout: float = Field(10.0, gt=0, description="Seconds to wait for a pooled connection.")
    batch_size: int = Field(100, ge=1, description="Rows per COPY at most.")
    batch_timeout_seconds: float = Field(5.0, ge=0, description="Longest a record waits for its batch to fill.")
    max_in_flight: int = Field(
        1,
        ge=1,
        description="COPYs at once, each on a pooled connection (at most max_pool_size). One keeps the batches "
        "in order; more store batches concurrently, so rows of later batches may come first.",
    )
    max_retries: int = Field(3, ge=0, description="Retries after the first attempt (lost connections, restarts).")
    retry_base_delay: float = Field(0.5, ge=0, description="Base delay of the exponential backoff (jittered).")
    circuit_breaker_enabled: bool = Field(True, description="Open a circuit after consecutive failures.")
    circuit_breaker_threshold: int = Field(5, ge=1, description="Consecutive failures before the circuit opens.")
    use_jsonb: bool = Field(True, description="JSONB event column (GIN-indexed) instead of JSON.")
    gin_opclass: Literal["jsonb_path_ops", "jsonb_ops"] = Field(
        "jsonb_path_ops",
        description="Operator class of the GIN index on event: jsonb_path_ops (containment and JSON path "
        "queries, about twice as fast to insert) or jsonb_ops (also the key-existence operators).",
    )
    partition_by: Literal["none", "day", "week", "month"] = Field(
        "none",
        description="Partition the table by range of timestamp, one partition per day, week or month (UTC); "
        "only for a table fapilog creates.",
    )
    retention_partitions: int = Field(
        0,
        ge=0,
        description="With partition_by: keep the current period and the N-1 before it, dropping older "
        "partitions (0 keeps all).",
    )
    include_raw_json: bool = Field(True, description="Store the whole envelope in event (else an empty object).")
    extract_fields: JsonList = Field(
        default_factory=lambda: list(COLUMNS),
        description="Columns filled from the record: timestamp, level, logger, correlation_id, message.",
    )

    @field_validator("table_name", "schema_name")
    @classmethod
    def _identifier(cls, value: str) -> str:
        return check_identifier(value, "table or schema name")

    @field_validator("extract_fields")
    @classmethod
    def _fields(cls, value: list[str]) -> list[str]:
        unknown = [f for f in value if f not in COLUMNS]
        if unknown:
            raise ValueError(f"unknown extract_fields {unknown}; choose among {list(COLUMNS)}")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> PostgresSettings:
        if self.min_pool_size > self.max_pool_size:
            raise ValueError("min_pool_size cannot exceed max_pool_size")
        if self.max_in_flight > self.max_pool_size:
            raise ValueError("max_in_flight cannot exceed max_pool_size (each COPY needs a connection)")
        if self.partition_by != "none" and "timestamp" not in self.extract_fields:
            raise ValueError("partition_by needs the timestamp column: keep 'timestamp' in extract_fields")
        if self.retention_partitions and self.partition_by == "none":
            raise ValueError("retention_partitions needs partition_by (day, week or month)")
        return self

    def connect_arguments(self) -> dict[str, Any]:
        """``asyncpg.create_pool`` connection arguments: the DSN when given, else the separate options."""
        if self.dsn is not None:
            return {"dsn": self.dsn.get_secret_value()}
        password = self.password.get_secret_value() if self.password is not None else None
        return {
            "host": self.host,
            "port": self.port,
            "database": self.database,
            "user": self.user,
            "password": password,
        }


class PostgresExporter(NetworkExporter):
    """COPYs batches of rows into ``schema_name.table_name`` (see the module doc).

    ``options`` are ``PostgresSettings`` fields (or give ``settings``); ``pool`` is the transport seam (an
    asyncpg pool, used as is and never closed; default: one of our own per worker loop); ``fallback`` an
    exporter that gets batches while the circuit is open; ``max_buffered``, ``batch_bytes``, ``clock``,
    ``sleep``, ``rng`` and ``diagnostics`` go to the ``Delivery``.
    """

    name = "postgres"

    def __init__(
        self,
        settings: PostgresSettings | None = None,
        *,
        pool: Any = None,
        fallback: Any = None,
        breaker_recovery: float = 30.0,
        max_backoff: float = 30.0,
        retry_deadline: float = 120.0,
        shutdown_timeout: float = 10.0,
        **options: Any,
    ) -> None:
        delivery = {k: options.pop(k) for k in list(options) if k in _DELIVERY_KEYS}
        if settings is None or options:
            start = settings.model_dump(exclude_unset=True) if settings is not None else {}
            try:
                settings = PostgresSettings(**{**start, **options})
            except ValidationError as exc:
                raise ValueError(f"sink 'postgres': {exc}") from None
        self.settings = settings
        self.table = Table(settings.schema_name, settings.table_name)
        self._codec = RowCodec(settings.extract_fields, include_raw_json=settings.include_raw_json)
        self._sender = PoolSender(
            settings.connect_arguments(),
            self.table,
            self._codec.columns,
            min_size=settings.min_pool_size,
            max_size=settings.max_pool_size,
            acquire_timeout=settings.pool_acquire_timeout,
            create_table=settings.create_table,
            use_jsonb=settings.use_jsonb,
            gin_opclass=settings.gin_opclass,
            partitions=(
                Partitioning(self.table, settings.partition_by, settings.retention_partitions)
                if settings.partition_by != "none"
                else None
            ),
            pool=pool,
        )
        engine: Delivery[Row] = network_delivery(
            self._codec,
            self._sender,
            name=self.name,
            batch_size=settings.batch_size,
            batch_age=settings.batch_timeout_seconds,
            max_in_flight=settings.max_in_flight,
            max_retries=settings.max_retries,
            base_delay=settings.retry_base_delay,
            max_delay=max_backoff,
            deadline=retry_deadline,
            breaker=settings.circuit_breaker_enabled,
            threshold=settings.circuit_breaker_threshold,
            recovery=breaker_recovery,
            fallback=fallback,
            transport_outcome=copy_outcome,
            **delivery,
        )
        super().__init__(engine, release=self._sender.release, shutdown_timeout=shutdown_timeout)

    @property
    def partitions_dropped(self) -> int:
        """How many partitions retention has dropped (``partition_by`` with ``retention_partitions``)."""
        partitions = self._sender.partitions
        return partitions.dropped if partitions is not None else 0

    @property
    def sanitised(self) -> int:
        """How many records had NUL characters or lone surrogates replaced to be storable."""
        return self._codec.sanitised


def postgres_exporter(base: PostgresSettings | None = None, /, **options: Any) -> PostgresExporter:
    """The exporter of the sink ``"postgres"`` / ``{"type": "postgres", ...}``: ``PostgresSettings`` fields
    over ``base`` (fapilog's ``Settings.postgres``) or else the ``FAPILOG_POSTGRES__*`` values."""
    extra = {k: options.pop(k) for k in list(options) if k in _OBJECT_KWARGS}
    return PostgresExporter(validated(PostgresSettings, "postgres", base, _ENV_PREFIX, options), **extra)


class EnvPostgresExporter(PostgresExporter):
    """A ``PostgresExporter`` configured by ``FAPILOG_POSTGRES__*`` alone (``OTEL_LOGS_EXPORTER=fapilog_postgres``)."""

    def __init__(self) -> None:
        super().__init__(validated(PostgresSettings, "postgres", None, _ENV_PREFIX, {}))
