"""Console exporters: JSON lines and pretty lines, colours only on a terminal (checked through a pty)."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
import textwrap

import orjson

from fapilog import get_logger
from fapilog.exporters.stdout import StdoutJsonExporter, StdoutPrettyExporter


def test_json_exporter_writes_one_valid_envelope_per_line() -> None:
    """Every record becomes exactly one JSON line, even with newlines in the message."""
    stream = io.StringIO()
    log = get_logger("j", sinks=[StdoutJsonExporter(stream)])
    log.info("two\nlines", note="a\nb")
    log.info("plain")
    log.drain()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert orjson.loads(lines[0])["log"]["message"] == "two\nlines"


def test_pretty_exporter_without_tty_has_no_colours_and_readable_tracebacks() -> None:
    """Pretty output to a non-terminal has no ANSI codes; a traceback follows its line, indented."""
    stream = io.StringIO()
    log = get_logger("p", sinks=[StdoutPrettyExporter(stream)])
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed", order=7)
    log.drain()
    text = stream.getvalue()
    assert "\x1b[" not in text
    first, *rest = text.rstrip("\n").split("\n")
    assert "| ERROR    | failed order=7" in first
    assert rest[0] == "    Traceback (most recent call last):"
    assert rest[-1] == "    ValueError: boom"


def _run_in_pty(code: str) -> str:
    primary, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAPILOG_", "OTEL_"))}
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdout=secondary, stderr=secondary, env=env)
    os.close(secondary)
    chunks = []
    while True:
        try:
            data = os.read(primary, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=30)
    os.close(primary)
    return b"".join(chunks).decode()


def test_auto_format_on_a_terminal_is_pretty_with_colours() -> None:
    """On a TTY the default logger prints pretty, coloured lines."""
    out = _run_in_pty(
        """
        from fapilog import get_logger
        log = get_logger("tty")
        log.warning("careful", n=1)
        log.drain()
        """
    )
    assert "careful n=1" in out
    assert "\x1b[33m" in out  # WARNING in yellow
    assert '{"log"' not in out


def test_json_format_on_a_terminal_stays_json() -> None:
    """format='json' prints JSON even on a TTY."""
    out = _run_in_pty(
        """
        from fapilog import get_logger
        log = get_logger("tty", format="json")
        log.info("x")
        log.drain()
        """
    )
    assert '{"log":' in out


def test_console_exporter_follows_sys_stdout_redirection() -> None:
    """With no stream given, the exporter writes to whatever sys.stdout is at export time."""
    buffer = io.StringIO()
    saved = sys.stdout
    sys.stdout = buffer
    try:
        log = get_logger("redir", format="json")
        log.info("captured")
        log.drain()
    finally:
        sys.stdout = saved
    assert '"message":"captured"' in buffer.getvalue()


def test_closed_exporter_reports_failure() -> None:
    """After shutdown an exporter refuses writes, which the pipeline counts as failures."""
    stream = io.StringIO()
    exporter = StdoutJsonExporter(stream)
    exporter.shutdown()
    log = get_logger("closed", sinks=[exporter])
    log.info("x")
    result = log.drain()
    assert result.export_failures == 1
    assert stream.getvalue() == ""
