"""Internal diagnostics: opt-in, rate-limited, on stderr or stdout, and never fed back into a pipeline."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest

from fapilog import Settings, get_logger
from fapilog._diagnostics import Diagnostics
from fapilog._otel import LogRecordExportResult, ReadableLogRecord
from fapilog.testing import CaptureExporter


def test_disabled_diagnostics_write_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    """With diagnostics off (the default) nothing is written."""
    Diagnostics().warn("sink", "export failed")
    assert capsys.readouterr() == ("", "")


def test_repeats_are_rate_limited_and_counted(capsys: pytest.CaptureFixture[str]) -> None:
    """The same warning is written once per window; the next line written says how many were suppressed."""
    diag = Diagnostics(enabled=True, window=0.05)
    for _ in range(5):
        diag.warn("sink", "export failed", exporter="X")
    diag.warn("worker", "other message")
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["[fapilog][sink][WARN] export failed exporter=X", "[fapilog][worker][WARN] other message"]
    time.sleep(0.06)
    diag.warn("sink", "export failed", exporter="X")
    assert "suppressed_repeats=4" in capsys.readouterr().err


def test_output_can_be_stdout_and_values_cannot_forge_lines(capsys: pytest.CaptureFixture[str]) -> None:
    """diagnostics_output=stdout writes there; newlines in values are escaped."""
    Diagnostics(enabled=True, output="stdout").warn("sink", "bad", error="a\nb")
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert "a\\nb" in out


def test_pipeline_failures_reach_diagnostics_not_the_pipeline(capsys: pytest.CaptureFixture[str]) -> None:
    """A failing exporter is reported on stderr when enabled, and the report is not logged as a record."""

    class Failing(CaptureExporter):
        def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
            return LogRecordExportResult.FAILURE

    good = CaptureExporter()
    settings = Settings(core={"internal_logging_enabled": True})
    log = get_logger("diag", settings=settings, sinks=[Failing(), good])
    log.info("app record")
    result = log.drain()
    err = capsys.readouterr().err
    assert "[fapilog][sink][WARN] export failed exporter=Failing records=1" in err
    assert good.messages() == ["app record"]
    assert result.export_failures == 1
