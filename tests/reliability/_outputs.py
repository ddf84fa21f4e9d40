"""Every output a record can take, attached to one logger, and the checks that each stayed well-formed."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import orjson

from fapilog._cli_pretty import pretty_lines
from fapilog.exporters.otlp import OtlpExporter
from fapilog.sinks import rotating_file, stdout_json, stdout_pretty
from fapilog.testing import CaptureExporter
from tests.exporters._otlp_receiver import Received
from tests.exporters.test_otlp_json import parse as parse_otlp_json

PRETTY_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| (?P<level>\S+) *\| ")
FILE_SPECS = {"json": "out.jsonl", "text": "out.log", "otlp_json": "out.otlp.jsonl"}


class Outputs:
    """JSON lines, OTLP/JSON lines and text lines in files, JSON and pretty lines on streams, OTLP/protobuf
    over HTTP to a receiver, and records in memory; ``check`` reads what each got since the last check."""

    def __init__(self, directory: Path, receiver: tuple[str, Received]) -> None:
        self.directory = directory
        self.endpoint = f"{receiver[0]}/v1/logs"
        self.received = receiver[1]
        self.capture = CaptureExporter()
        self.json_stream = io.StringIO()
        self.pretty_stream = io.StringIO()
        self._offsets: dict[str, int] = {}

    def sinks(self) -> list[Any]:
        """Exporter objects for every output."""
        return [
            self.capture,
            stdout_json(self.json_stream),
            stdout_pretty(self.pretty_stream, colors=False),
            *(rotating_file(self.directory / name, mode=mode) for mode, name in FILE_SPECS.items()),  # type: ignore[arg-type]
            OtlpExporter("http/protobuf", endpoint=self.endpoint, timeout=10),
        ]

    def specs(self) -> list[dict[str, Any]]:
        """The same files and OTLP receiver as sink specs in ``Settings.sinks`` (no streams, no capture)."""
        files = [
            {
                "type": "rotating_file",
                "directory": str(self.directory),
                "filename_prefix": "out",
                "mode": mode,
                "max_bytes": None,
            }  # no rotation: the checks read one file
            for mode in FILE_SPECS
        ]
        return [*files, {"type": "otlp", "protocol": "http/protobuf", "endpoint": self.endpoint, "timeout": 10}]

    def mark(self) -> None:
        """Start a new example: ``check`` looks only at what arrives from now on."""
        for name in FILE_SPECS.values():
            path = self.directory / name
            self._offsets[name] = path.stat().st_size if path.exists() else 0
        for stream in (self.json_stream, self.pretty_stream):
            stream.seek(0)
            stream.truncate(0)
        with self.received.lock:
            self.received.requests.clear()
            self.received.headers.clear()
        self.capture.clear()

    def _file(self, name: str) -> bytes:
        path = self.directory / name
        if not path.exists():
            return b""
        with path.open("rb") as file:
            file.seek(self._offsets.get(name, 0))
            return file.read()

    def check(self, levels: list[str], *, streams: bool = True) -> None:
        """Every output got exactly one well-formed record per entry of ``levels``, at that level, in order."""
        json_lines = check_json_lines(self._file(FILE_SPECS["json"]), levels)
        check_otlp_json(self._file(FILE_SPECS["otlp_json"]), levels)
        check_pretty(self._file(FILE_SPECS["text"]).decode("utf-8"), levels)
        check_pretty("".join(pretty_lines([line.decode("utf-8") + "\n" for line in json_lines], colors=False)), levels)
        assert [r.severity_text for _, _, r in self.received.records()] == levels
        if streams:
            check_json_lines(self.json_stream.getvalue().encode("utf-8"), levels)
            check_pretty(self.pretty_stream.getvalue(), levels)
            assert [r.log_record.severity_text for r in self.capture.records] == levels


def check_json_lines(data: bytes, levels: list[str]) -> list[bytes]:
    """One JSON envelope per line (``\\n`` only: no raw CR), strict JSON and UTF-8, at the expected levels."""
    assert data.endswith(b"\n") or not levels
    assert b"\r" not in data
    lines = data[:-1].split(b"\n") if data else []
    assert len(lines) == len(levels)
    for line, level in zip(lines, levels, strict=True):
        doc = orjson.loads(line)  # strict: rejects NaN, invalid UTF-8, trailing data
        assert doc["schema_version"] == "1.1"
        assert doc["log"]["level"] == level
    return lines


def check_otlp_json(data: bytes, levels: list[str]) -> None:
    """Each line is an ExportLogsServiceRequest opentelemetry-proto parses; the records are the expected ones."""
    found: list[str] = []
    for line in data.splitlines():
        request = parse_otlp_json(line)
        found.extend(
            record.severity_text
            for resource_logs in request.resource_logs
            for scope_logs in resource_logs.scope_logs
            for record in scope_logs.log_records
        )
    assert found == levels


def check_pretty(text: str, levels: list[str]) -> None:
    """One pretty line per record (anything else is an indented traceback line), every line printable."""
    assert text.endswith("\n") or not levels
    lines = text[:-1].split("\n") if text else []
    for line in lines:
        assert line.isprintable(), f"raw control character in {line[:200]!r}"
    primary = [line for line in lines if not line.startswith("    ")]
    assert len(primary) == len(levels)
    for line, level in zip(primary, levels, strict=True):
        match = PRETTY_LINE.match(line)
        assert match is not None, line[:200]
        assert match.group("level") == level
