"""``fapilog doctor``: settings with their sources and masked secrets, and real checks of every exporter."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from fapilog._cli import main
from fapilog._doctor_settings import MASK, mask
from tests.conftest import service_unavailable

POSTGRES_DSN = os.environ.get("FAPILOG_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``fapilog doctor args`` in this process: exit code, stdout, stderr."""
    code = main(["doctor", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def report(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    """``fapilog doctor --json args``: exit code and the parsed report."""
    code, out, _err = doctor(capsys, "--json", *args)
    return code, json.loads(out)


def sinks(monkeypatch: pytest.MonkeyPatch, *specs: Any) -> None:
    monkeypatch.setenv("FAPILOG_SINKS", json.dumps(list(specs)))


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test runs in a directory of its own (the doctor looks for a .env file there)."""
    monkeypatch.chdir(tmp_path)


@contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound, never listening, held until the block ends."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


class _Handler(BaseHTTPRequestHandler):
    """Answers by path: ``/<status>/...`` with that status; records each request's method, path and headers."""

    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str, dict[str, str]]]

    def _answer(self) -> None:
        type(self).seen.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
        status = int(self.path.strip("/").split("/")[0])
        body = b"" if status == 200 else b"Ingester not ready: waiting for 15s after being ready"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def web() -> Iterator[tuple[str, list[tuple[str, str, dict[str, str]]]]]:
    """A local HTTP server on 127.0.0.1 answering ``/<status>/...`` with that status; yields URL and log."""
    seen: list[tuple[str, str, dict[str, str]]] = []
    handler: type[_Handler] = type("Handler", (_Handler,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# ---- settings and their sources -------------------------------------------------------------------------------


def test_each_setting_names_its_source(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Explicit values, FAPILOG_* variables, the preset and the defaults are each named as the source."""
    monkeypatch.setenv("FAPILOG_CORE__MAX_QUEUE_SIZE", "1234")
    code, doc = report(capsys, "--preset", "production", "--set", "service=shop", "--set", "core.log_level=WARNING")
    assert code == 0
    by_path = {s["path"]: s for s in doc["settings"]}
    assert by_path["service"] == {"path": "service", "value": "shop", "source": "explicit", "origin": "--set"}
    assert (by_path["core.log_level"]["value"], by_path["core.log_level"]["source"]) == ("WARNING", "explicit")
    assert by_path["core.max_queue_size"] == {
        "path": "core.max_queue_size",
        "value": 1234,
        "source": "env",
        "origin": "FAPILOG_CORE__MAX_QUEUE_SIZE",
    }
    assert (by_path["core.drop_on_full"]["value"], by_path["core.drop_on_full"]["source"]) == (False, "preset")
    assert by_path["core.drop_on_full"]["origin"] == "production"
    assert (by_path["core.batch_max_size"]["value"], by_path["core.batch_max_size"]["source"]) == (256, "default")
    assert doc["checks"] == [{"exporter": "stdout_json", "verdict": "OK", "detail": "writes to stdout"}]


def test_a_section_given_as_json_sets_only_its_fields(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """FAPILOG_CORE='{...}' is the source of the fields it names; the preset still sets the others."""
    monkeypatch.setenv("FAPILOG_CORE", '{"log_level": "DEBUG"}')
    _code, doc = report(capsys, "--preset", "production", "--no-checks")
    by_path = {s["path"]: s for s in doc["settings"]}
    assert (by_path["core.log_level"]["value"], by_path["core.log_level"]["origin"]) == ("DEBUG", "FAPILOG_CORE")
    assert (by_path["core.max_queue_size"]["value"], by_path["core.max_queue_size"]["source"]) == (100_000, "preset")
    assert doc["checks"] == []


def test_text_report_lists_changed_settings_and_counts_the_rest(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --all only settings off their defaults are listed, each with its source, then a count."""
    monkeypatch.setenv("FAPILOG_CORE__LOG_LEVEL", "debug")
    code, out, _err = doctor(capsys, "--environment", "local", "--no-checks")
    assert code == 0
    assert "settings (explicit > environment variables > detected environment local > defaults)" in out
    lines = [line.split() for line in out.splitlines() if line.startswith("  ")]
    assert lines[0] == ["core.log_level", "DEBUG", "[env", "FAPILOG_CORE__LOG_LEVEL]"]
    assert "settings at their defaults (--all lists them)" in out
    assert "exporters" not in out


def test_secrets_are_masked(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """SecretStr fields, sensitive header and option names and URL passwords are shown masked, never in clear."""
    monkeypatch.setenv("FAPILOG_POSTGRES__PASSWORD", "pg-hunter2")
    monkeypatch.setenv("FAPILOG_WEBHOOK__SECRET", "hook-s3cret")
    monkeypatch.setenv("FAPILOG_LOKI__URL", "http://loki:url-pw@127.0.0.1:3100")
    monkeypatch.setenv("FAPILOG_HTTP__HEADERS", '{"Authorization": "Bearer tok-9", "X-Team": "blue"}')
    sinks(monkeypatch, {"type": "webhook", "endpoint": "http://127.0.0.1:1/hook", "secret": "opt-s3cret"})
    _code, out, err = doctor(capsys, "--all", "--no-checks")
    for secret in ("pg-hunter2", "hook-s3cret", "url-pw", "tok-9", "opt-s3cret"):
        assert secret not in out + err
    assert next(line for line in out.splitlines() if "postgres.password" in line).split()[1:] == [
        "**********",
        "[env",
        "FAPILOG_POSTGRES__PASSWORD]",
    ]
    assert "http://loki:**********@127.0.0.1:3100" in out
    assert '"X-Team":"blue"' in out
    assert '"Authorization":"**********"' in out
    assert '"secret":"**********"' in out


@given(
    secret=st.text(alphabet="0123456789XYZ", min_size=6, max_size=40),
    key=st.sampled_from(["password", "Authorization", "api_key", "X-Api-Key", "client_secret", "token", "dsn"]),
)
def test_mask_hides_secrets_wherever_they_sit(secret: str, key: str) -> None:
    """A secret under a sensitive name, in a SecretStr or as a URL password (also inside a string), at any
    depth, is never shown."""
    value = {
        "plain": SecretStr(secret),
        "url": f"postgresql://app:{secret}@db.internal:6543/logs",
        "in_text": f"retry with conn=postgresql://app:{secret}@[::1]:6543/logs",
        "nested": {"headers": {key: secret, "X-Team": "blue"}, "sinks": [{"type": "webhook", key: secret}]},
    }
    shown = json.dumps(mask(value))
    assert secret not in shown
    assert shown.count(MASK) == 5
    assert "conn=postgresql://app:**********@[::1]:6543/logs" in shown  # a URL inside a string, host kept
    assert '"X-Team": "blue"' in shown


def test_invalid_settings_name_the_variable_and_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An invalid value fails with the SettingsError naming the variable, exit code 2, and no report."""
    monkeypatch.setenv("FAPILOG_CORE__LOG_LEVEL", "LOUD")
    code, out, err = doctor(capsys)
    assert code == 2
    assert out == ""
    assert "FAPILOG_CORE__LOG_LEVEL" in err
    assert "unknown log level 'LOUD'" in err


def test_unknown_variable_and_unknown_preset_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unknown variable or preset, --preset with --environment, or a malformed --set exits 2 saying so."""
    code, _out, err = doctor(capsys, "--preset", "turbo")
    assert (code, "unknown preset 'turbo'" in err) == (2, True)
    code, _out, err = doctor(capsys, "--preset", "dev", "--environment", "ci")
    assert (code, "either --preset or --environment" in err) == (2, True)
    code, _out, err = doctor(capsys, "--set", "core.log_level")
    assert (code, "--set needs KEY=VALUE" in err) == (2, True)
    monkeypatch.setenv("FAPILOG_LOKKI__URL", "http://127.0.0.1:3100")
    code, _out, err = doctor(capsys)
    assert (code, "FAPILOG_LOKKI__URL" in err) == (2, True)


def test_dotenv_variables_are_pointed_out(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """FAPILOG_* lines of ./.env are reported as not read (fapilog reads the process environment only)."""
    (tmp_path / ".env").write_text("# local\nexport FAPILOG_CORE__LOG_LEVEL=DEBUG\nOTHER=1\n", encoding="utf-8")
    _code, doc = report(capsys, "--no-checks")
    assert len(doc["notes"]) == 1
    assert "sets FAPILOG_CORE__LOG_LEVEL, but fapilog does not read .env files" in doc["notes"][0]


# ---- exporter checks ------------------------------------------------------------------------------------------


def test_console_and_file_checks(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """stdout is OK; a writable or creatable directory is OK; a directory under a regular file FAILs."""
    (tmp_path / "plain").write_text("x", encoding="utf-8")
    sinks(
        monkeypatch,
        "stdout_pretty",
        {"type": "rotating_file", "directory": str(tmp_path)},
        {"type": "rotating_file", "directory": str(tmp_path / "new" / "logs")},
        {"type": "rotating_file", "directory": str(tmp_path / "plain" / "logs")},
    )
    code, out, _err = doctor(capsys)
    assert code == 1
    assert "  stdout_pretty: OK: writes to stdout" in out
    assert f"  rotating_file: OK: directory {tmp_path} is writable" in out
    assert (
        f"  rotating_file#2: OK: directory {tmp_path / 'new' / 'logs'} will be created ({tmp_path} is writable)" in out
    )
    assert f"  rotating_file#3: FAIL: {tmp_path / 'plain'} is not a directory" in out
    assert "1 of 4 checks FAILED" in out
    assert not (tmp_path / "new").exists()


def test_missing_required_options_and_unknown_sinks_fail(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file sink without a directory, an http sink without an endpoint and an unknown sink type each FAIL."""
    sinks(monkeypatch, "rotating_file", "http", "kafka")
    code, doc = report(capsys)
    assert (code, doc["ok"]) == (1, False)
    verdicts = {c["exporter"]: (c["verdict"], c["detail"]) for c in doc["checks"]}
    assert verdicts["rotating_file"][0] == "FAIL"
    assert "FAPILOG_FILE__DIRECTORY" in verdicts["rotating_file"][1]
    assert verdicts["http"] == (
        "FAIL",
        "the http exporter needs an endpoint: set FAPILOG_HTTP__ENDPOINT (or give {'type': 'http', 'endpoint': ...})",
    )
    assert verdicts["kafka"][0] == "FAIL"
    assert verdicts["kafka"][1].startswith("unknown sink type 'kafka'")


def test_options_are_validated_as_the_exporter_validates_them(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    web: tuple[str, list[tuple[str, str, dict[str, str]]]],
) -> None:
    """An option the exporter would refuse at start-up (a typo) FAILs; one its factory takes besides the
    section's fields (shutdown_timeout) is accepted."""
    url, _seen = web
    sinks(
        monkeypatch,
        {"type": "loki", "url": f"{url}/200", "shutdown_timeout": 2},
        {"type": "loki", "url": f"{url}/200", "tenant": "team-a"},
    )
    code, doc = report(capsys)
    assert code == 1
    assert [(c["verdict"], c["detail"]) for c in doc["checks"]] == [
        ("OK", f"{url}/200 is ready"),
        ("FAIL", "invalid options: tenant: Extra inputs are not permitted"),
    ]


def test_http_and_webhook_checks_send_head(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    web: tuple[str, list[tuple[str, str, dict[str, str]]]],
) -> None:
    """HEAD with the configured headers: 2xx-4xx OK, 401/403 WARN, 5xx FAIL, a refused connection FAIL."""
    url, seen = web
    with refusing_port() as closed:
        monkeypatch.setenv("FAPILOG_HTTP__HEADERS", '{"X-Team": "blue"}')
        sinks(
            monkeypatch,
            {"type": "http", "endpoint": f"{url}/200/logs"},
            {"type": "http", "endpoint": f"{url}/405/logs"},
            {"type": "webhook", "endpoint": f"{url}/401/hook", "secret": "s"},
            {"type": "webhook", "endpoint": f"{url}/503/hook"},
            {"type": "http", "endpoint": f"http://127.0.0.1:{closed}/logs"},
        )
        code, doc = report(capsys)
    assert code == 1
    verdicts = [(c["exporter"], c["verdict"]) for c in doc["checks"]]
    assert verdicts == [
        ("http", "OK"),
        ("http#2", "OK"),
        ("webhook", "WARN"),
        ("webhook#2", "FAIL"),
        ("http#3", "FAIL"),
    ]
    assert doc["checks"][3]["detail"] == f"HEAD {url}/503/hook answered HTTP 503"
    assert doc["checks"][4]["detail"] == f"connection refused at 127.0.0.1:{closed}"
    assert {(method, path) for method, path, _h in seen} == {
        ("HEAD", "/200/logs"),
        ("HEAD", "/405/logs"),
        ("HEAD", "/401/hook"),
        ("HEAD", "/503/hook"),
    }
    assert next(h for _m, p, h in seen if p == "/200/logs")["x-team"] == "blue"


def test_loki_check_gets_ready(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    web: tuple[str, list[tuple[str, str, dict[str, str]]]],
) -> None:
    """GET <url>/ready with the tenant header: 200 is OK, anything else FAILs with the status and body."""
    url, seen = web
    sinks(
        monkeypatch,
        {"type": "loki", "url": f"{url}/200", "tenant_id": "team-a"},
        {"type": "loki", "url": f"{url}/503/loki/api/v1/push"},
    )
    code, out, _err = doctor(capsys)
    assert code == 1
    assert f"  loki: OK: {url}/200 is ready" in out
    assert f"  loki#2: FAIL: GET {url}/503/ready answered HTTP 503: Ingester not ready" in out
    ready = {path: headers for _m, path, headers in seen}
    assert ready["/200/ready"]["x-scope-orgid"] == "team-a"


def test_otlp_check_connects(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A listening OTLP endpoint is OK, a refusing one FAILs with its address."""
    listener = socket.create_server(("127.0.0.1", 0))
    with listener, refusing_port() as closed:
        port = listener.getsockname()[1]
        sinks(
            monkeypatch,
            {"type": "otlp", "endpoint": f"127.0.0.1:{port}", "insecure": True},
            {"type": "otlp", "protocol": "http/protobuf", "endpoint": f"http://127.0.0.1:{closed}/v1/logs"},
        )
        code, out, _err = doctor(capsys)
    assert code == 1
    assert f"  otlp: OK: grpc receiver at 127.0.0.1:{port} accepts connections" in out
    assert f"  otlp#2: FAIL: connection refused at 127.0.0.1:{closed}" in out


def _postgres_reachable() -> None:
    asyncpg = pytest.importorskip("asyncpg")

    async def probe() -> None:
        conn = await asyncpg.connect(POSTGRES_DSN, timeout=5)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception:
        service_unavailable(f"PostgreSQL at {POSTGRES_DSN}")


@pytest.mark.services
def test_postgres_check_selects_one(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The real server answers SELECT 1: OK with its address and version; the DSN's password stays masked."""
    _postgres_reachable()
    monkeypatch.setenv("FAPILOG_POSTGRES__DSN", POSTGRES_DSN)
    monkeypatch.setenv("FAPILOG_POSTGRES__TABLE_NAME", "fapilog_doctor_absent")
    sinks(monkeypatch, "postgres")
    code, out, _err = doctor(capsys)
    assert code == 0, out
    line = next(line for line in out.splitlines() if line.startswith("  postgres: "))
    assert line.startswith("  postgres: OK: SELECT 1 on 127.0.0.1:5432 (PostgreSQL ")
    assert line.endswith('table "public"."fapilog_doctor_absent" will be created')
    assert "postgres.dsn" in out
    assert "all checks passed" in out


def test_postgres_check_reports_a_refused_connection(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing listening at the configured host and port: FAIL naming the address, exit code 1."""
    with refusing_port() as closed:
        monkeypatch.setenv("FAPILOG_POSTGRES__HOST", "127.0.0.1")
        monkeypatch.setenv("FAPILOG_POSTGRES__PORT", str(closed))
        sinks(monkeypatch, "postgres")
        code, out, _err = doctor(capsys)
    assert code == 1
    assert f"  postgres: FAIL: connection refused at 127.0.0.1:{closed}\n" in out


@pytest.fixture
def moto_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's threaded server on 127.0.0.1, with test credentials in the environment."""
    moto_server = pytest.importorskip("moto.server")
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def test_cloudwatch_check_describes_the_group(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, moto_url: str
) -> None:
    """An existing group is OK, a missing one OK when it will be created, else FAIL; no region FAILs."""
    import boto3

    boto3.client("logs", endpoint_url=moto_url, region_name="eu-west-1").create_log_group(logGroupName="/app/prod")
    common = {"type": "cloudwatch", "endpoint_url": moto_url, "region": "eu-west-1"}
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    sinks(
        monkeypatch,
        {**common, "log_group_name": "/app/prod"},
        {**common, "log_group_name": "/app/new"},
        {**common, "log_group_name": "/app/new", "create_log_group": False},
        {"type": "cloudwatch", "endpoint_url": moto_url},
    )
    code, doc = report(capsys)
    assert code == 1
    assert [(c["verdict"], c["detail"]) for c in doc["checks"]] == [
        ("OK", "log group /app/prod exists in eu-west-1"),
        ("OK", "log group /app/new will be created in eu-west-1 (create_log_group is on)"),
        ("FAIL", "log group /app/new does not exist in eu-west-1 and create_log_group is off"),
        ("FAIL", "no AWS region: set FAPILOG_CLOUDWATCH__REGION or AWS_REGION"),
    ]


def test_a_silent_server_times_out(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that accepts connections but never answers gives a FAIL saying it timed out, not a hang."""
    listener = socket.create_server(("127.0.0.1", 0))  # the kernel accepts; nobody ever reads or answers
    with listener:
        port = listener.getsockname()[1]
        sinks(monkeypatch, {"type": "loki", "url": f"http://127.0.0.1:{port}"})
        code, out, _err = doctor(capsys, "--timeout", "0.2")
    assert code == 1
    assert f"  loki: FAIL: timed out at 127.0.0.1:{port}\n" in out
