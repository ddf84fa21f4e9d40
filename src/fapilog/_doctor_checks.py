"""``fapilog doctor``, part two: is each configured exporter's destination there?

Each check is real and cheap, and never delivers a record:

* console (``stdout_json``, ``stdout_pretty``, no sinks at all): OK;
* ``rotating_file``: the directory (or the nearest existing parent it would be created in) takes a file;
* ``http`` / ``webhook``: a ``HEAD`` request to the endpoint with the configured headers. Any HTTP answer
  proves name resolution, TCP and TLS; 5xx is a failure, 401/403 a warning (a signed webhook refuses an
  unsigned request), anything else OK;
* ``loki``: ``GET /ready`` must answer 200;
* ``postgres``: connect with asyncpg and ``SELECT 1`` (and say whether the table exists yet);
* ``cloudwatch``: ``DescribeLogGroups`` for the group through boto3, one attempt, short timeouts;
* ``otlp``: a TCP connection to the endpoint (gRPC and HTTP receivers alike);
* plugin sinks: skipped (their own ``health_check`` is theirs to run).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError

from fapilog._settings import Settings
from fapilog._sinks import known_sink_types
from fapilog.exporters import cloudwatch, http, loki, postgres

__all__ = ["CheckResult", "Verdict", "run_checks", "targets"]

Verdict = Literal["OK", "WARN", "FAIL", "SKIP"]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The verdict on one exporter, with the reason in a few words."""

    name: str
    verdict: Verdict
    detail: str

    def line(self) -> str:
        return f"{self.name}: {self.verdict}: {self.detail}"


class CheckFailed(Exception):
    """A check's negative verdict, with its reason as the message."""


# Sink type -> its Settings section, and the keyword arguments its exporter factory takes besides the
# section's fields (every other option must be a field, as when the application builds the exporter).
_SECTIONS: dict[str, tuple[str, Collection[str]]] = {
    "rotating_file": ("file", ()),
    "http": ("http", http._HTTP_KWARGS),
    "webhook": ("webhook", http._HTTP_KWARGS),
    "loki": ("loki", loki._OBJECT_KWARGS),
    "postgres": ("postgres", postgres._OBJECT_KWARGS),
    "cloudwatch": ("cloudwatch", cloudwatch._OBJECT_KWARGS),
}
_CONSOLE = ("stdout_json", "stdout_pretty")


def targets(settings: Settings) -> list[tuple[str, str, dict[str, Any]]]:
    """``(label, sink type, options)`` of each configured sink; the console when there are none."""
    specs = settings.sinks or [_console(settings.format)]
    out: list[tuple[str, str, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for spec in specs:
        kind, options = (spec, {}) if isinstance(spec, str) else (str(spec["type"]), dict(spec))
        options.pop("type", None)
        seen[kind] = seen.get(kind, 0) + 1
        out.append((kind if seen[kind] == 1 else f"{kind}#{seen[kind]}", kind, options))
    return out


def _console(fmt: str) -> str:
    if fmt == "auto":
        from fapilog.exporters.stdout import stream_is_tty

        return "stdout_pretty" if stream_is_tty(sys.stdout) else "stdout_json"
    return "stdout_pretty" if fmt == "pretty" else "stdout_json"


async def run_checks(settings: Settings, *, timeout: float) -> list[CheckResult]:
    """Every configured exporter checked at once, each within ``timeout`` seconds."""
    jobs = [_one(label, kind, options, settings, timeout) for label, kind, options in targets(settings)]
    return list(await asyncio.gather(*jobs))


async def _one(label: str, kind: str, options: dict[str, Any], settings: Settings, timeout: float) -> CheckResult:
    if kind in _CONSOLE:
        return CheckResult(label, "OK", "writes to stdout")
    check = _CHECKS.get(kind)
    if check is None:
        if kind in known_sink_types():
            return CheckResult(label, "SKIP", "a plugin sink: no connectivity check")
        return CheckResult(label, "FAIL", f"unknown sink type {kind!r}; known: {', '.join(known_sink_types())}")
    try:
        section = _section(kind, options, settings)
        verdict, detail = await asyncio.wait_for(check(section, options, timeout), timeout + 1.0)
    except CheckFailed as exc:
        return CheckResult(label, "FAIL", str(exc))
    except TimeoutError:
        return CheckResult(label, "FAIL", f"no answer within {timeout:g} s")
    except Exception as exc:  # a check must give a verdict, whatever went wrong
        return CheckResult(label, "FAIL", _reason(exc))
    return CheckResult(label, verdict, detail)


def _section(kind: str, options: dict[str, Any], settings: Settings) -> Any:
    """The sink's settings section with the spec's own options over it, validated."""
    if kind == "otlp":
        return None
    name, passed_on = _SECTIONS[kind]
    base: BaseModel = getattr(settings, name)
    model = type(base)
    fields = {k: v for k, v in options.items() if k not in passed_on}
    try:
        return model(**{**base.model_dump(exclude_unset=True), **fields})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise CheckFailed(f"invalid options: {problems}") from None


def _reason(exc: BaseException, where: str = "") -> str:
    """A failure in a few words: ``connection refused at 127.0.0.1:5999``."""
    at = f" at {where}" if where else ""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError) or getattr(seen, "errno", None) == errno.ECONNREFUSED:
            return f"connection refused{at}"
        if isinstance(seen, TimeoutError):
            return f"timed out{at}"
        if isinstance(seen, OSError) and seen.strerror:
            return f"{seen.strerror.lower()}{at}"
        seen = seen.__cause__ or seen.__context__
    text = str(exc) or type(exc).__name__
    if "Connect call failed" in text or "Connection refused" in text:
        return f"connection refused{at}"
    return f"{type(exc).__name__}: {text}{at}"


# ---- the checks ----------------------------------------------------------------------------------------------

Check = Callable[[Any, dict[str, Any], float], Awaitable[tuple[Verdict, str]]]


async def _file(section: Any, options: dict[str, Any], timeout: float) -> tuple[Verdict, str]:
    directory: Path | None = section.directory
    if directory is None:
        raise CheckFailed('no directory: set FAPILOG_FILE__DIRECTORY (or give {"type": "rotating_file", ...})')
    return await asyncio.to_thread(_writable, Path(directory))


def _writable(directory: Path) -> tuple[Verdict, str]:
    target, existing = directory, directory
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise CheckFailed(f"{existing} is not a directory")
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".fapilog-doctor-"):
            pass
    except OSError as exc:
        raise CheckFailed(f"cannot write in {existing}: {exc.strerror or exc}") from None
    if existing == target:
        return "OK", f"directory {target} is writable"
    return "OK", f"directory {target} will be created ({existing} is writable)"


def _host_port(url: str, default_port: int | None = None) -> str:
    parts = urlsplit(url if "://" in url else f"//{url}")
    port = parts.port or default_port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname or 'localhost'}:{port}"


async def _http(section: Any, options: dict[str, Any], timeout: float) -> tuple[Verdict, str]:
    import httpx

    try:  # the endpoint and headers the exporter would use, or its own refusal
        arguments = http._arguments(section, "webhook" if isinstance(section, http.WebhookSettings) else "http")
    except ValueError as exc:
        raise CheckFailed(str(exc)) from None
    headers = arguments["headers"]
    where = _host_port(section.endpoint)
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            reply = await client.head(section.endpoint, headers=headers)
    except httpx.HTTPError as exc:
        raise CheckFailed(_reason(exc, where)) from None
    status = reply.status_code
    if status >= 500:
        raise CheckFailed(f"HEAD {section.endpoint} answered HTTP {status}")
    if status in (401, 403):
        return "WARN", f"reachable, but HEAD was refused with HTTP {status} (check the credentials or signature)"
    return "OK", f"{where} answered HEAD with HTTP {status}"


async def _loki(section: Any, options: dict[str, Any], timeout: float) -> tuple[Verdict, str]:
    import httpx

    from fapilog.exporters.loki import PUSH_PATH, _auth_headers, _secret

    base = section.url.rstrip("/").removesuffix(PUSH_PATH)
    headers = _auth_headers(section.auth_username, _secret(section.auth_password), _secret(section.auth_token))
    if section.tenant_id:
        headers["X-Scope-OrgID"] = section.tenant_id
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            reply = await client.get(f"{base}/ready", headers=headers)
    except httpx.HTTPError as exc:
        raise CheckFailed(_reason(exc, _host_port(base))) from None
    if reply.status_code != 200:
        text = " ".join(reply.text.split())[:80]
        raise CheckFailed(f"GET {base}/ready answered HTTP {reply.status_code}" + (f": {text}" if text else ""))
    return "OK", f"{base} is ready"


async def _postgres(section: Any, options: dict[str, Any], timeout: float) -> tuple[Verdict, str]:
    from fapilog._optional import require

    asyncpg: Any = require("asyncpg", extra="postgres")
    arguments = section.connect_arguments()
    where = _host_port(arguments["dsn"], 5432) if "dsn" in arguments else f"{section.host}:{section.port}"
    try:
        conn = await asyncpg.connect(**arguments, timeout=timeout)
    except Exception as exc:
        raise CheckFailed(_reason(exc, where)) from None
    try:
        await conn.fetchval("SELECT 1")
        table = f'"{section.schema_name}"."{section.table_name}"'
        exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table)
        version = conn.get_server_version()
    finally:
        await conn.close()
    state = "exists" if exists else ("will be created" if section.create_table else "is MISSING")
    if not exists and not section.create_table:
        raise CheckFailed(f"connected to {where}, but table {table} does not exist and create_table is off")
    return "OK", f"SELECT 1 on {where} (PostgreSQL {version.major}.{version.minor}); table {table} {state}"


async def _cloudwatch(section: Any, options: dict[str, Any], timeout: float) -> tuple[Verdict, str]:
    return await asyncio.to_thread(_describe_group, section, timeout)


def _describe_group(section: Any, timeout: float) -> tuple[Verdict, str]:
    from fapilog.exporters._cw_client import make_client

    group = section.log_group_name
    try:
        client = make_client(section.region, section.endpoint_url, timeout)
        reply = client.describe_log_groups(logGroupNamePrefix=group, limit=50)
    except Exception as exc:
        raise CheckFailed(_aws_reason(exc, section.endpoint_url)) from None
    found = any(g.get("logGroupName") == group for g in reply.get("logGroups", []))
    region = client.meta.region_name
    if found:
        return "OK", f"log group {group} exists in {region}"
    if section.create_log_group:
        return "OK", f"log group {group} will be created in {region} (create_log_group is on)"
    raise CheckFailed(f"log group {group} does not exist in {region} and create_log_group is off")


def _aws_reason(exc: BaseException, endpoint: str | None) -> str:
    name = type(exc).__name__
    if name == "NoRegionError":
        return "no AWS region: set FAPILOG_CLOUDWATCH__REGION or AWS_REGION"
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return "no AWS credentials (environment, ~/.aws, or an instance role)"
    if name == "ClientError":
        error = getattr(exc, "response", {}).get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
    where = _host_port(endpoint) if endpoint else ""
    return _reason(exc, where)


async def _otlp(section: Any, options: dict[str, Any], timeout: float) -> tuple[Verdict, str]:
    from fapilog.exporters.otlp import resolve_protocol

    protocol = resolve_protocol(options.get("protocol"))
    endpoint = (
        options.get("endpoint")
        or os.environ.get("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or ("localhost:4317" if protocol == "grpc" else "http://localhost:4318")
    )
    where = _host_port(str(endpoint), 4317 if protocol == "grpc" else 4318)
    host, _, port = where.rpartition(":")
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), timeout)
    except Exception as exc:
        raise CheckFailed(_reason(exc, where)) from None
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return "OK", f"{protocol} receiver at {where} accepts connections"


_CHECKS: dict[str, Check] = {
    "rotating_file": _file,
    "http": _http,
    "webhook": _http,
    "loki": _loki,
    "postgres": _postgres,
    "cloudwatch": _cloudwatch,
    "otlp": _otlp,
}
