"""The fapilog command: demo, pretty, presets."""

from __future__ import annotations

import json
import subprocess
import sys


def fapilog(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fapilog", *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def test_demo_command_runs() -> None:
    """`fapilog demo` (README's main job) prints pretty lines, JSON lines and a drain summary."""
    result = fapilog("demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "| INFO     | request handled request_id=req-7f3a" in out
    assert '"message":"request handled"' in out
    assert "demo.json: submitted=5 processed=5 dropped=0" in out


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
