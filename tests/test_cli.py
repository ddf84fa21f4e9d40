"""The fapilog command: demo, pretty, doctor, presets, run as the installed command would run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path


def fapilog(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fapilog", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def test_demo_serves_traffic_and_drains(tmp_path: Path) -> None:
    """`fapilog demo` (README's main job) serves a FastAPI app to its own client: pretty lines on the console,
    every record as JSON in the file it names, failures included, and a drain summary that adds up."""
    result = fapilog("demo", "--out", str(tmp_path), "--color", "never")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    json_path = tmp_path / "demo.jsonl"
    assert f"JSON lines to {json_path}" in out
    assert "9 requests: 7 x HTTP 200, 1 x HTTP 404, 1 x HTTP 500" in out
    assert re.search(r"\| INFO     \| item loaded request_id=[0-9a-f]{32} user_id=u-alice item_id=1 ", out)
    assert re.search(r"\| WARNING  \| request_completed .*path=/items/99 .*status_code=404", out)
    assert re.search(r"\| DEBUG    \| cart loaded .*deferred=true", out)  # replayed for the failed request
    assert re.search(r"\| ERROR    \| request_failed .*path=/checkout .*status_code=500", out)
    assert "    ConnectionError: payment gateway unreachable" in out
    assert "password=***" in out
    records = [json.loads(line)["log"] for line in json_path.read_text(encoding="utf-8").splitlines()]
    access = [r for r in records if r["message"] in ("request_completed", "request_failed")]
    assert sorted(r["data"]["status_code"] for r in access) == [200, 200, 200, 200, 200, 404, 500]
    assert not any(r["data"]["path"] == "/healthz" for r in access)  # a skipped path
    failed = next(r for r in access if r["message"] == "request_failed")
    assert failed["diagnostics"]["exception"]["error.type"] == "ConnectionError"
    assert {r["diagnostics"]["service"] for r in records} == {"demo-shop"}
    assert "hunter2" not in out + json_path.read_text(encoding="utf-8")
    n = len(records)
    assert f"submitted={n} processed={n} dropped=0 retried=0 export_failures=0 " in out


def test_pretty_renders_envelopes_and_otlp_json_and_passes_other_lines() -> None:
    """`fapilog pretty` turns fapilog envelopes and OTLP JSON into pretty lines; anything else is kept."""
    envelope = {
        "log": {
            "timestamp": "2026-01-02T03:04:05.000000000Z",
            "level": "ERROR",
            "message": "boom",
            "logger": "app",
            "context": {"request_id": "r1"},
            "diagnostics": {"exception": {"error.stack": "Traceback...\nValueError: x\n"}},
            "data": {"n": 1},
        },
        "schema_version": "1.1",
    }
    otlp = {
        "resourceLogs": [
            {
                "scopeLogs": [
                    {
                        "logRecords": [
                            {
                                "timeUnixNano": "1767323045000000000",
                                "severityNumber": 13,
                                "body": {"stringValue": "from otlp"},
                                "attributes": [{"key": "k", "value": {"intValue": "7"}}],
                            }
                        ]
                    }
                ]
            }
        ]
    }
    lines = [json.dumps(envelope), "plain text line", json.dumps(otlp)]
    result = fapilog("pretty", "--color", "never", stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert out[0].endswith(" | ERROR    | boom request_id=r1 n=1")
    assert out[1:3] == ["    Traceback...", "    ValueError: x"]
    assert out[3] == "plain text line"
    assert out[4].endswith(" | WARNING  | from otlp k=7")


def test_presets_lists_every_preset() -> None:
    """`fapilog presets` names each preset with its description; -v shows the settings."""
    result = fapilog("presets", "-v")
    assert result.returncode == 0, result.stderr
    for name in ("dev", "production", "fastapi", "serverless", "hardened", "minimal"):
        assert f"\n{name}: " in "\n" + result.stdout
    assert '"max_queue_size": 100000' in result.stdout


def test_doctor_command_exit_codes(tmp_path: Path) -> None:
    """`fapilog doctor` exits 0 when every check passes, 1 when one fails, 2 for invalid settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FAPILOG_", "OTEL_"))}
    ok = fapilog("doctor", "--set", f'sinks=[{{"type": "rotating_file", "directory": "{tmp_path}"}}]', env=clean)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"rotating_file: OK: directory {tmp_path} is writable" in ok.stdout
    failing = fapilog("doctor", env={**clean, "FAPILOG_SINKS": '["rotating_file"]'})
    assert failing.returncode == 1
    assert "1 of 1 checks FAILED" in failing.stdout
    invalid = fapilog("doctor", env={**clean, "FAPILOG_CORE__MAX_QUEUE_SIZE": "lots"})
    assert invalid.returncode == 2
    assert "FAPILOG_CORE__MAX_QUEUE_SIZE" in invalid.stderr
