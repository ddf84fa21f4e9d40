"""The local services a docs example marked ``<!-- run-with: NAME -->`` runs against, unchanged.

Each yields the environment to add for the example's interpreter and a check, run afterwards, that the
service really received the example's records. The examples name the usual local addresses
(``localhost:3100`` for Loki, ``localhost:4317`` for an OTLP collector), so those fakes listen there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tests.conftest import service_unavailable
from tests.exporters._otlp_receiver import grpc_receiver
from tests.exporters._servers import FakeLoki

Check = Callable[[], None]
POSTGRES_DSN = "postgresql://postgres@127.0.0.1:5432/test"
LOKI_PORT = 3100
OTLP_GRPC_PORT = 4317


@contextmanager
def doc_service(name: str) -> Iterator[tuple[dict[str, str], Check]]:
    """The service ``name`` (postgres, moto, loki, otlp-grpc) running for one example."""
    services: dict[str, Callable[[], Any]] = {
        "postgres": _postgres,
        "moto": _moto,
        "loki": _loki,
        "otlp-grpc": _otlp_grpc,
    }
    if name not in services:
        raise ValueError(f"unknown run-with service {name!r}; known: {sorted(services)}")
    with services[name]() as provided:
        yield provided


def _pg_rows() -> int:
    """Rows in every table of the test database that has fapilog's ``event`` column."""
    import asyncpg

    async def count() -> int:
        conn = await asyncpg.connect(POSTGRES_DSN, timeout=5)
        try:
            tables = await conn.fetch(
                "SELECT table_schema, table_name FROM information_schema.columns WHERE column_name = 'event' "
                "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
            )
            total = 0
            for schema, table in tables:
                quoted = '"{}"."{}"'.format(schema.replace('"', '""'), table.replace('"', '""'))
                total += int(await conn.fetchval(f"SELECT count(*) FROM {quoted}"))
            return total
        finally:
            await conn.close()

    return asyncio.run(count())


@contextmanager
def _postgres() -> Iterator[tuple[dict[str, str], Check]]:
    try:
        before = _pg_rows()
    except Exception as exc:
        service_unavailable(f"PostgreSQL at {POSTGRES_DSN}: {exc}")

    def check() -> None:
        assert _pg_rows() > before, "no new row in any table with an event column"

    yield {}, check


@contextmanager
def _moto() -> Iterator[tuple[dict[str, str], Check]]:
    import boto3
    from moto import server as moto_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    env = {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }

    def check() -> None:
        client = boto3.client(
            "logs", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
        groups = client.describe_log_groups()["logGroups"]
        events = sum(len(client.filter_log_events(logGroupName=g["logGroupName"])["events"]) for g in groups)
        assert events >= 1, f"moto holds no log event (groups: {[g['logGroupName'] for g in groups]})"

    try:
        yield env, check
    finally:
        server.stop()


@contextmanager
def _loki() -> Iterator[tuple[dict[str, str], Check]]:
    with FakeLoki(port=LOKI_PORT) as loki:

        def check() -> None:
            assert loki.stored, f"Loki stored nothing (answers: {loki.statuses()})"

        yield {}, check


@contextmanager
def _otlp_grpc() -> Iterator[tuple[dict[str, str], Check]]:
    with grpc_receiver(OTLP_GRPC_PORT) as (_, received):

        def check() -> None:
            assert received.records(), "the OTLP receiver got no record"

        yield {}, check
