"""Every code snippet of the seed documents (fapilog 0.18.1's public docs) runs unchanged against this package.

The seed text lost its indentation; each snippet below has it restored (whitespace only) and is otherwise
verbatim. ``setup`` supplies what the seed defined in an earlier snippet (an import, a ``logger``), and
``then`` checks the behaviour the seed describes; neither changes the snippet. A snippet that needs a part
not built yet is skipped by the ``NEEDS`` registry, naming the issue that delivers the part: that issue
deletes its entries and the snippet must then pass as it is.
"""

from __future__ import annotations

import ast
import asyncio
import importlib.metadata
import inspect
import os
import re
import shlex
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from tests.conftest import service_unavailable
from tests.test_docs import TIMEOUT_SECONDS, clean_env

SEEDS = Path("/work/shared/seeds")
POSTGRES_DSN = os.environ.get("FAPILOG_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")

Language = Literal["python", "bash", "pip", "sql", "signature"]


@dataclass(frozen=True)
class Snippet:
    """One code snippet of a seed document, and what the test adds around it."""

    seed: str  # the seed file
    section: str  # the section of the seed it comes from
    code: str  # the snippet itself
    language: Language = "python"
    shell: str = ""  # a shell snippet of the same section that runs before this one (environment variables)
    setup: str = ""  # python run before the snippet: what the seed's earlier snippets defined
    then: str = ""  # python run after the snippet: checks of the behaviour the seed describes
    stdout_has: tuple[str, ...] = ()
    stdout_lacks: tuple[str, ...] = ()
    stderr_has: tuple[str, ...] = ()


README = "fapilog-readme.txt"
SINKS = "fapilog-sinks.txt"

# ---- fapilog-readme.txt -------------------------------------------------------------------------------------

# Section "Installation".
README_INSTALL = """\
pip install fapilog
"""

# Section "Quick Start".
README_QUICK_START = """\
from fapilog import get_logger, runtime
# Zero-config logger with isolated background worker and auto console output
logger = get_logger(name="app")
logger.info("Application started", environment="production")
# Scoped runtime that auto-flushes on exit
with runtime() as log:
    log.error("Something went wrong", code=500)
"""

# Section "Configuration Presets".
README_PRESETS = """\
from fapilog import get_logger, get_async_logger
# Development: DEBUG level, immediate flush, no redaction
logger = get_logger(preset="dev")
logger.debug("Debugging info")
# Production: INFO level, file rotation, automatic redaction
logger = get_logger(preset="production")
logger.info("User login", password="secret") # password auto-redacted
# Minimal: Matches default behavior (backwards compatible)
logger = get_logger(preset="minimal")
"""

# Section "Sink routing by level" (the shell part, then the python part).
README_ROUTING_ENV = """\
export FAPILOG_SINK_ROUTING__ENABLED=true
export FAPILOG_SINK_ROUTING__RULES='[
  {"levels": ["ERROR", "CRITICAL"], "sinks": ["postgres"]},
  {"levels": ["DEBUG", "INFO", "WARNING"], "sinks": ["stdout_json"]}
]'
"""
README_ROUTING = """\
from fapilog import runtime
with runtime() as log:
    log.info("Routine operation") # → stdout_json
    log.error("Something broke!") # → postgres
"""

# Section "FastAPI request logging".
README_FASTAPI = """\
from fastapi import Depends, FastAPI
from fapilog.fastapi import get_request_logger, setup_logging
app = FastAPI(
    lifespan=setup_logging(
        preset="production",
        sample_rate=1.0, # sampling for successes; errors always logged
        redact_headers=["authorization"], # mask sensitive headers
        skip_paths=["/healthz"], # skip noisy paths
    )
)
@app.get("/")
async def root(logger=Depends(get_request_logger)):
    await logger.info("Root endpoint accessed") # request_id auto-included
    return {"message": "Hello World"}
"""

# Section "FastAPI request logging", "Need manual middleware control?".
README_FASTAPI_MIDDLEWARE = """\
from fastapi import FastAPI
from fapilog.fastapi import setup_logging
from fapilog.fastapi.context import RequestContextMiddleware
from fapilog.fastapi.logging import LoggingMiddleware
app = FastAPI(lifespan=setup_logging(auto_middleware=False))
app.add_middleware(RequestContextMiddleware) # sets correlation IDs
app.add_middleware(LoggingMiddleware) # emits request_completed / request_failed
"""

# Section "Configuration", "Builder API (Recommended)".
README_BUILDER = """\
from fapilog import LoggerBuilder
# Production setup with file rotation and CloudWatch
logger = (
    LoggerBuilder()
    .with_preset("production")
    .with_level("INFO")
    .add_file("logs/app", max_bytes="100 MB", max_files=10)
    .add_cloudwatch("/myapp/prod", region="us-east-1")
    .with_circuit_breaker(enabled=True)
    .with_redaction(fields=["password", "api_key"])
    .build()
)
# Async version for FastAPI
from fapilog import AsyncLoggerBuilder
logger = await (
    AsyncLoggerBuilder()
    .with_preset("fastapi")
    .add_stdout()
    .build_async()
)
"""

# Section "Configuration", "Settings Class".
README_SETTINGS_CLASS = """\
from fapilog import get_logger
from fapilog.core.settings import Settings
settings = Settings() # reads env at call time
logger = get_logger(name="api", settings=settings)
logger.info("configured", queue=settings.core.max_queue_size)
"""

# Section "Default enrichers".
README_ENRICHERS = """\
from fapilog.plugins.enrichers.runtime_info import RuntimeInfoEnricher
logger.disable_enricher("context_vars")
logger.enable_enricher(RuntimeInfoEnricher())
"""

# Section "Internal diagnostics (optional)".
README_DIAGNOSTICS_ENV = """\
export FAPILOG_CORE__INTERNAL_LOGGING_ENABLED=true
"""
README_DIAGNOSTICS_STDOUT_ENV = """\
export FAPILOG_CORE__DIAGNOSTICS_OUTPUT=stdout
"""

# Section "Execution Modes & Throughput".
README_EXECUTION_MODES = """\
# Async mode (fastest) - for FastAPI and async code
from fapilog import get_async_logger
logger = await get_async_logger(preset="fastapi")
await logger.info("event") # ~100K+ events/sec
# Bound loop mode - sync API, async performance
async def main():
    logger = get_logger(preset="production") # Started inside async context
    logger.info("event") # ~100K+ events/sec (no cross-thread overhead)
# Thread mode - for traditional sync code
logger = get_logger(preset="production") # Started outside async context
logger.info("event") # ~10-15K events/sec (cross-thread sync)
"""

# ---- fapilog-sinks.txt --------------------------------------------------------------------------------------

# Section "Optional methods", "write_serialized" (a method signature).
SINKS_WRITE_SERIALIZED = """\
async def write_serialized(self, view: SerializedView) -> None
"""

# Section "Optional methods", "SerializedView exposes".
SINKS_SERIALIZED_VIEW = """\
@dataclass
class SerializedView:
    data: memoryview

    def __bytes__(self) -> bytes:
        return bytes(self.data)
"""

# Section "Convenience factories", "rotating_file (fapilog.sinks)".
SINKS_ROTATING_FILE = """\
from fapilog.sinks import rotating_file
sink = rotating_file(
    "logs/app.log",
    rotation="10 MB",
    retention=7,
    compression=True,
    mode="json",
)
"""

# Section "Configuration (env)", "Rotating file".
SINKS_FILE_ENV = """\
export FAPILOG_FILE__DIRECTORY=/var/log/myapp
export FAPILOG_FILE__MAX_BYTES="10 MB"
export FAPILOG_FILE__MAX_FILES=5
export FAPILOG_FILE__COMPRESS_ROTATED=true
export FAPILOG_FILE__INTERVAL_SECONDS="daily"
"""

# Section "Configuration (env)", "HTTP sink".
SINKS_HTTP_ENV = """\
export FAPILOG_HTTP__ENDPOINT=https://logs.example.com/ingest
export FAPILOG_HTTP__TIMEOUT_SECONDS=5
export FAPILOG_HTTP__RETRY_MAX_ATTEMPTS=3
export FAPILOG_HTTP__BATCH_SIZE=100
export FAPILOG_HTTP__BATCH_TIMEOUT_SECONDS=5
export FAPILOG_HTTP__BATCH_FORMAT=array # array|ndjson|wrapped
export FAPILOG_HTTP__BATCH_WRAPPER_KEY=logs
"""

# Section "Building Blocks", "MemoryMappedPersistence".
SINKS_MMAP = '''\
from fapilog.plugins.sinks import BaseSink, MemoryMappedPersistence
import json

class MyMmapSink:
    """Example custom sink using MemoryMappedPersistence."""

    name = "my_mmap"

    def __init__(self, path: str):
        self._mmap = MemoryMappedPersistence(path)

    async def start(self) -> None:
        await self._mmap.open()

    async def write(self, entry: dict) -> None:
        data = json.dumps(entry).encode()
        await self._mmap.append_line(data)

    async def stop(self) -> None:
        await self._mmap.close()

    async def health_check(self) -> bool:
        return await self._mmap.health_check()
'''

# Section "CloudWatch Sink" (the install command).
SINKS_CLOUDWATCH_INSTALL = """\
pip install "fapilog[cloudwatch]"
"""

# Section "CloudWatch Sink", "Usage Example".
SINKS_CLOUDWATCH_SETTINGS = """\
from fapilog import Settings

settings = Settings(
    sinks=[
        {
            "type": "cloudwatch",
            "log_group_name": "/myapp/production",
            "log_stream_name": "api-server-1",
            "region": "us-east-1",
            "batch_size": 50,
        }
    ]
)
"""

# Section "Loki Sink", "Authentication Options", "Basic Authentication".
SINKS_LOKI_BASIC_AUTH = """\
settings = Settings(
    sinks=[
        {
            "type": "loki",
            "url": "https://loki.example.com",
            "auth_username": "user",
            "auth_password": "secret",
        }
    ]
)
"""

# Section "Loki Sink", "Authentication Options", "Bearer Token".
SINKS_LOKI_BEARER = """\
settings = Settings(
    sinks=[
        {
            "type": "loki",
            "url": "https://loki.example.com",
            "auth_token": "your-api-token",
        }
    ]
)
"""

# Section "Loki Sink", "Labels Configuration".
SINKS_LOKI_LABELS = """\
settings = Settings(
    sinks=[
        {
            "type": "loki",
            "labels": {
                "service": "api-gateway",
                "env": "production",
            },
            "label_keys": ["level", "logger"], # Extract from each log entry
        }
    ]
)
"""

# Section "PostgreSQL Sink" (the install command).
SINKS_POSTGRES_INSTALL = """\
pip install "fapilog[postgres]"
"""

# Section "PostgreSQL Sink", "Table Schema".
SINKS_POSTGRES_SCHEMA = """\
CREATE TABLE IF NOT EXISTS "public"."logs" (
    id BIGSERIAL PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    timestamp TIMESTAMPTZ,
    level VARCHAR(10),
    logger VARCHAR(255),
    correlation_id VARCHAR(64),
    message TEXT,
    event JSONB NOT NULL
)
"""

# Section "PostgreSQL Sink", "Usage Example".
SINKS_POSTGRES_SETTINGS = """\
from fapilog import Settings

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
"""

# Section "PostgreSQL Sink", "Using DSN".
SINKS_POSTGRES_DSN = """\
settings = Settings(
    sinks=[
        {
            "type": "postgres",
            "dsn": "postgresql://user:pass@host:5432/dbname",
        }
    ]
)
"""

# ---- what each snippet is run with --------------------------------------------------------------------------

_BROKEN_SINK = """\
from fapilog import Settings as _Settings, get_logger as _get_logger

class _BrokenSink:
    async def write(self, entry):
        raise ConnectionError("sink down")

_logger = _get_logger("diagnostics", settings=_Settings(core={"internal_logging_enabled": True}), sinks=[_BrokenSink()])
_logger.info("goes nowhere")
_logger.drain()
"""

_FASTAPI_CLIENT = """\
from fastapi.testclient import TestClient

with TestClient(app) as client:
    response = client.get("/", headers={"X-Request-ID": "req-seed-1"})
assert response.status_code == 200, response.status_code
assert response.json() == {"message": "Hello World"}
assert response.headers.get("x-request-id") == "req-seed-1"
"""

_FASTAPI_MIDDLEWARE_CLIENT = """\
from fastapi.testclient import TestClient

with TestClient(app) as client:
    response = client.get("/missing", headers={"X-Request-ID": "req-seed-2"})
assert response.status_code == 404
assert response.headers.get("x-request-id") == "req-seed-2"
"""

# The signature is a method of a sink: the test gives it a class and a body around it.
_WRITE_SERIALIZED_SINK = """\
from __future__ import annotations

from fapilog import Settings, get_logger

received = []

class FastSink:
    name = "fast"

    async def write(self, entry: dict) -> None:
        raise AssertionError("write() was called although the sink has write_serialized()")

    <<SIGNATURE>>:
        received.append(bytes(view))

logger = get_logger("fast", settings=Settings(core={"serialize_in_flush": True}), sinks=[FastSink()])
logger.info("pre-serialized")
logger.drain()
assert len(received) == 1 and b"pre-serialized" in received[0], received
"""

SNIPPETS: dict[str, Snippet] = {
    "readme-install": Snippet(README, "Installation", README_INSTALL, "pip"),
    "readme-quick-start": Snippet(
        README,
        "Quick Start",
        README_QUICK_START,
        stdout_has=("Application started", "Something went wrong"),
    ),
    "readme-presets": Snippet(
        README, "Configuration Presets", README_PRESETS, stdout_has=("Debugging info", "User login")
    ),
    "readme-presets-redaction": Snippet(
        README, "Configuration Presets", README_PRESETS, stdout_has=("User login",), stdout_lacks=("secret",)
    ),
    "readme-routing": Snippet(
        README,
        "Sink routing by level",
        README_ROUTING,
        shell=README_ROUTING_ENV,
        stdout_has=("Routine operation",),
        stdout_lacks=("Something broke!",),
    ),
    "readme-fastapi": Snippet(
        README,
        "FastAPI request logging",
        README_FASTAPI,
        then=_FASTAPI_CLIENT,
        stdout_has=("Root endpoint accessed", "req-seed-1"),
    ),
    "readme-fastapi-middleware": Snippet(
        README,
        "FastAPI request logging",
        README_FASTAPI_MIDDLEWARE,
        then=_FASTAPI_MIDDLEWARE_CLIENT,
        stdout_has=("request_completed",),
    ),
    "readme-builder": Snippet(README, "Builder API (Recommended)", README_BUILDER),
    "readme-settings-class": Snippet(
        README, "Settings Class", README_SETTINGS_CLASS, stdout_has=('"configured"', '"queue":10000')
    ),
    "readme-enrichers": Snippet(
        README,
        "Default enrichers",
        README_ENRICHERS,
        setup='from fapilog import get_logger\nlogger = get_logger(name="app")\n',
        then='logger.bind(request_id="req-hidden")\nlogger.info("after toggle")\n',
        stdout_has=("after toggle",),
        stdout_lacks=("req-hidden",),
    ),
    "readme-diagnostics-env": Snippet(
        README,
        "Internal diagnostics (optional)",
        README_DIAGNOSTICS_ENV,
        "bash",
        then="from fapilog import Settings\nassert Settings().core.internal_logging_enabled is True\n" + _BROKEN_SINK,
        stderr_has=("[fapilog][sink][WARN]",),
    ),
    "readme-diagnostics-stdout-env": Snippet(
        README,
        "Internal diagnostics (optional)",
        README_DIAGNOSTICS_STDOUT_ENV,
        "bash",
        then='from fapilog import Settings\nassert Settings().core.diagnostics_output == "stdout"\n' + _BROKEN_SINK,
        stdout_has=("[fapilog][sink][WARN]",),
    ),
    "readme-execution-modes": Snippet(
        README,
        "Execution Modes & Throughput",
        README_EXECUTION_MODES,
        setup="from fapilog import get_logger\n",
        stdout_has=('"message":"event"',),
    ),
    "sinks-write-serialized": Snippet(SINKS, "Optional methods: write_serialized", SINKS_WRITE_SERIALIZED, "signature"),
    "sinks-serialized-view": Snippet(
        SINKS,
        "Optional methods: SerializedView",
        SINKS_SERIALIZED_VIEW,
        setup="from dataclasses import dataclass\n",
        then='assert bytes(SerializedView(memoryview(b"{}"))) == b"{}"\n',
    ),
    "sinks-rotating-file": Snippet(
        SINKS,
        "Convenience factories: rotating_file",
        SINKS_ROTATING_FILE,
        then=(
            "from pathlib import Path\nfrom fapilog import get_logger\n"
            'logger = get_logger("files", sinks=[sink])\nlogger.info("written to a file")\nlogger.drain()\n'
            'assert "written to a file" in Path("logs/app.log").read_text()\n'
        ),
    ),
    "sinks-file-env": Snippet(
        SINKS,
        "Configuration (env): Rotating file",
        SINKS_FILE_ENV,
        "bash",
        then=(
            "from fapilog import Settings\nsettings = Settings()\n"
            'assert str(settings.file.directory) == "/var/log/myapp"\n'
            "assert settings.file.max_files == 5\nassert settings.file.compress_rotated is True\n"
        ),
    ),
    "sinks-http-env": Snippet(
        SINKS,
        "Configuration (env): HTTP sink",
        SINKS_HTTP_ENV,
        "bash",
        then=(
            "from fapilog import Settings\nsettings = Settings()\n"
            'assert str(settings.http.endpoint) == "https://logs.example.com/ingest"\n'
            'assert settings.http.batch_size == 100\nassert settings.http.batch_format == "array"\n'
            'assert settings.http.batch_wrapper_key == "logs"\n'
        ),
    ),
    "sinks-mmap": Snippet(
        SINKS,
        "Building Blocks: MemoryMappedPersistence",
        SINKS_MMAP,
        then=(
            "from pathlib import Path\nfrom fapilog import get_logger\n"
            'logger = get_logger("mmap", sinks=[MyMmapSink("app.mmap")])\nlogger.info("mapped")\nlogger.drain()\n'
            'assert b"mapped" in Path("app.mmap").read_bytes()\n'
        ),
    ),
    "sinks-cloudwatch-install": Snippet(SINKS, "CloudWatch Sink", SINKS_CLOUDWATCH_INSTALL, "pip"),
    "sinks-cloudwatch-settings": Snippet(SINKS, "CloudWatch Sink: Usage Example", SINKS_CLOUDWATCH_SETTINGS),
    "sinks-loki-basic-auth": Snippet(
        SINKS, "Loki Sink: Basic Authentication", SINKS_LOKI_BASIC_AUTH, setup="from fapilog import Settings\n"
    ),
    "sinks-loki-bearer": Snippet(
        SINKS, "Loki Sink: Bearer Token", SINKS_LOKI_BEARER, setup="from fapilog import Settings\n"
    ),
    "sinks-loki-labels": Snippet(
        SINKS, "Loki Sink: Labels Configuration", SINKS_LOKI_LABELS, setup="from fapilog import Settings\n"
    ),
    "sinks-postgres-install": Snippet(SINKS, "PostgreSQL Sink", SINKS_POSTGRES_INSTALL, "pip"),
    "sinks-postgres-schema": Snippet(SINKS, "PostgreSQL Sink: Table Schema", SINKS_POSTGRES_SCHEMA, "sql"),
    "sinks-postgres-settings": Snippet(SINKS, "PostgreSQL Sink: Usage Example", SINKS_POSTGRES_SETTINGS),
    "sinks-postgres-dsn": Snippet(
        SINKS, "PostgreSQL Sink: Using DSN", SINKS_POSTGRES_DSN, setup="from fapilog import Settings\n"
    ),
}

# The parts not built yet: (snippet, part, issue that delivers it). An issue deletes its own lines.
NEEDS: list[tuple[str, str, int]] = []
KNOWN_ISSUES = {4, 5, 6, 7, 8, 10, 12}


def _skip_if_not_built(snippet_id: str) -> None:
    needs = [f"needs {part}: issue {issue}" for sid, part, issue in NEEDS if sid == snippet_id]
    if needs:
        pytest.skip("; ".join(needs))


def _has_top_level_await(code: str) -> bool:
    compiled = compile(code, "<snippet>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    return bool(compiled.co_flags & inspect.CO_COROUTINE)


def script_for(snippet: Snippet) -> str:
    """The python program a snippet runs as: setup, the snippet, the checks; wrapped when it awaits."""
    if snippet.language == "signature":
        return _WRITE_SERIALIZED_SINK.replace("<<SIGNATURE>>", snippet.code.strip())
    code = snippet.code if snippet.language == "python" else ""
    body = "".join(part if part.endswith("\n") else part + "\n" for part in (snippet.setup, code, snippet.then) if part)
    if _has_top_level_await(body):
        body = f"import asyncio\n\n\nasync def main():\n{textwrap.indent(body, '    ')}\n\nasyncio.run(main())\n"
    return body


def _run(snippet: Snippet, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = cwd / "seed_snippet.py"
    script.write_text(script_for(snippet), encoding="utf-8")
    shell = snippet.code if snippet.language == "bash" else snippet.shell
    if shell:  # the seed's exports, then the program in the environment they set
        command = ["bash", "-c", f'{shell}\nexec "$0" "$1"', sys.executable, str(script)]
    else:
        command = [sys.executable, str(script)]
    return subprocess.run(
        command, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
    )


PROGRAMS = [sid for sid, s in SNIPPETS.items() if s.language in ("python", "bash", "signature")]


@pytest.mark.parametrize("snippet_id", PROGRAMS)
def test_seed_snippet_runs(snippet_id: str, tmp_path: Path) -> None:
    """A seed snippet runs unchanged in a fresh interpreter and behaves as the seed says."""
    _skip_if_not_built(snippet_id)
    snippet = SNIPPETS[snippet_id]
    result = _run(snippet, tmp_path)
    output = f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode == 0, f"{snippet_id} exited {result.returncode}\n{output}"
    assert "Traceback" not in result.stderr, output
    for text in snippet.stdout_has:
        assert text in result.stdout, f"{text!r} not on stdout\n{output}"
    for text in snippet.stdout_lacks:
        assert text not in result.stdout, f"{text!r} on stdout\n{output}"
    for text in snippet.stderr_has:
        assert text in result.stderr, f"{text!r} not on stderr\n{output}"


@pytest.mark.parametrize("snippet_id", [sid for sid, s in SNIPPETS.items() if s.language == "pip"])
def test_seed_install_command_names_real_extras(snippet_id: str) -> None:
    """A seed `pip install` command names this distribution and extras it declares (nothing is installed)."""
    _skip_if_not_built(snippet_id)
    words = shlex.split(SNIPPETS[snippet_id].code)
    assert words[:2] == ["pip", "install"], words
    for requirement in words[2:]:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[([A-Za-z0-9_,.-]+)\])?", requirement)
        assert match is not None, requirement
        metadata = importlib.metadata.metadata(match.group(1))
        extras = set(metadata.get_all("Provides-Extra") or [])
        wanted = set(filter(None, (match.group(2) or "").split(",")))
        assert wanted <= extras, f"{requirement}: extras {sorted(wanted - extras)} not declared"


def test_seed_table_schema_is_valid_postgresql() -> None:
    """The seed's CREATE TABLE statement runs on a real PostgreSQL server (inside a rolled-back transaction)."""
    _skip_if_not_built("sinks-postgres-schema")
    asyncpg = pytest.importorskip("asyncpg")

    async def create() -> list[str]:
        connection = await asyncpg.connect(POSTGRES_DSN, timeout=5)
        try:
            transaction = connection.transaction()
            await transaction.start()
            try:
                await connection.execute(SINKS_POSTGRES_SCHEMA)
                rows = await connection.fetch(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = 'public' AND table_name = 'logs' ORDER BY ordinal_position"
                )
            finally:
                await transaction.rollback()
        finally:
            await connection.close()
        return [str(row["column_name"]) for row in rows]

    try:
        columns = asyncio.run(create())
    except (TimeoutError, OSError) as exc:
        service_unavailable(f"PostgreSQL at {POSTGRES_DSN}: {exc}")
        return
    expected = ["id", "created_at", "timestamp", "level", "logger", "correlation_id", "message", "event"]
    assert set(expected) <= set(columns), columns


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("snippet_id", list(SNIPPETS))
def test_snippet_is_verbatim_from_its_seed(snippet_id: str) -> None:
    """Apart from whitespace, each snippet here is exactly the text of its seed document."""
    snippet = SNIPPETS[snippet_id]
    path = SEEDS / snippet.seed
    if not path.exists():
        pytest.skip(f"seed document not available at {path}")
    seed = _squash(path.read_text(encoding="utf-8"))
    for part in (snippet.shell, snippet.code):
        assert _squash(part) in seed, f"{snippet_id} differs from {snippet.seed} ({snippet.section})"


def test_needs_registry_is_consistent() -> None:
    """The NEEDS registry names only known snippets and the issues that deliver the parts."""
    for snippet_id, part, issue in NEEDS:
        assert snippet_id in SNIPPETS, snippet_id
        assert part, snippet_id
        assert issue in KNOWN_ISSUES, (snippet_id, issue)


def test_top_level_await_snippets_are_wrapped() -> None:
    """A snippet using top-level await runs inside ``async def main()`` with ``asyncio.run``."""
    script = script_for(SNIPPETS["readme-execution-modes"])
    assert script.startswith("import asyncio\n")
    assert script.rstrip().endswith("asyncio.run(main())")
    compile(script, "<wrapped>", "exec", dont_inherit=True)  # valid without top-level await
