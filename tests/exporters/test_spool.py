"""The spool exporter and its pipeline wiring: outages, acknowledgement, restart, spill, settings, presets."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest
from opentelemetry._logs import LogRecord, SeverityNumber

from fapilog import Settings, SettingsError, get_logger
from fapilog._diagnostics import Diagnostics
from fapilog._otel import LogRecordExportResult, ReadableLogRecord, as_readable
from fapilog._pipeline import Pipeline
from fapilog.exporters._spool_store import Store
from fapilog.exporters.http import HttpExporter
from fapilog.exporters.spool import SpoolExporter, overflow_store
from fapilog.testing import BlockingExporter, CaptureExporter
from tests.exporters._servers import Fault, Receiver
from tests.exporters._spool_sink import FileSink, delivered
from tests.exporters.test_spool_store import rec, seq_of
from tests.test_docs import clean_env


def batch(seqs: Iterable[int]) -> Sequence[ReadableLogRecord]:
    """Records numbered ``seqs``, as exporters receive them."""
    return as_readable([rec(s) for s in seqs])


def spool_for(exporter: Any, directory: Path, **options: Any) -> SpoolExporter:
    """A spool that retries quickly (10 ms, at most 50 ms apart)."""
    return SpoolExporter(exporter, directory, retry_base_delay=0.01, retry_max_delay=0.05, **options)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll ``condition`` (a deadline only against hanging, never a performance bound)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.01)


def spool_settings(base: Path, **spool: Any) -> Settings:
    return Settings(
        core={"batch_timeout_seconds": 0.01},
        spool={"enabled": True, "directory": str(base), "retry_base_delay_seconds": 0.01, **spool},
    )


def test_a_sink_down_for_a_while_then_back_gets_every_record_in_order_per_logger(tmp_path: Path) -> None:
    """Three threads log through a spooled pipeline while the sink fails; once it is back every record arrives
    once, in order per logger, and the spool counted the retries and the replay."""
    out, down = tmp_path / "out.jsonl", tmp_path / "down"
    down.touch()
    sink = FileSink(out, down=down)
    settings = spool_settings(tmp_path / "spool", retry_max_delay_seconds=0.05)
    pipeline = Pipeline(settings, sinks=[sink])
    names = ["l0", "l1", "l2"]

    def produce(name: str) -> None:
        logger = pipeline.provider.get_logger(name)  # an OpenTelemetry API logger of the pipeline
        for i in range(1_000):
            logger.emit(LogRecord(body="m", attributes={"seq": i}, severity_number=SeverityNumber.INFO))

    threads = [threading.Thread(target=produce, args=(name,)) for name in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert pipeline.flush(10)  # returns although the sink is down: the records are on disk
    spool = pipeline.spools[0]
    wait_for(lambda: spool.stats().spooled == 3_000, "everything spooled")
    wait_for(lambda: sink.failures >= 3, "a few failed attempts")
    assert delivered(out) == []
    down.unlink()
    wait_for(lambda: spool.stats().pending == 0, "the backlog delivered")
    result = pipeline.drain(30, close=True)
    records = delivered(out)
    assert len(records) == 3_000 == len(set(records))
    for name in names:
        assert [seq for logger, seq in records if logger == name] == list(range(1_000))
    stats = spool.stats()
    assert stats.retried >= 3
    assert stats.replayed == 3_000
    assert (stats.pending, stats.dropped, stats.corrupt) == (0, 0, 0)
    assert (result.spooled, result.replayed) == (3_000, 3_000)


class Flaky(CaptureExporter):
    """Fails its first ``failures`` exports, then succeeds."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.left = failures
        self.attempts = 0

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        self.attempts += 1
        if self.left > 0:
            self.left -= 1
            return LogRecordExportResult.FAILURE
        return super().export(batch)


def test_a_batch_is_acknowledged_only_after_the_exporter_succeeded(tmp_path: Path) -> None:
    """Failed attempts leave the batch pending on disk; it is acknowledged once an attempt succeeds, and a
    reopened spool sends nothing again."""
    flaky = Flaky(failures=3)
    spool = spool_for(flaky, tmp_path)
    assert spool.export(batch(range(5))) is LogRecordExportResult.SUCCESS
    wait_for(lambda: spool.stats().acked == 5, "the batch acknowledged")
    stats = spool.stats()
    assert (flaky.attempts, stats.retried, stats.pending) == (4, 3, 0)
    assert [seq_of(r) for r in flaky.records] == list(range(5))
    spool.shutdown()
    again = CaptureExporter()
    reopened = spool_for(again, tmp_path)
    assert reopened.force_flush(1_000)
    assert again.records == []
    reopened.shutdown()


def test_records_left_at_shutdown_are_delivered_by_the_next_process_in_order(tmp_path: Path) -> None:
    """Shut down while the exporter fails: the records stay on disk; the next spool on the directory delivers
    them first, in order, counted as replayed, with no duplicates."""
    first = spool_for(Flaky(failures=10**9), tmp_path, shutdown_timeout=0.1)
    for b in range(10):
        first.export(batch(range(b * 10, b * 10 + 10)))
    assert not first.force_flush(5_000)  # the exporter is failing: flush does not wait for it
    first.shutdown()
    after = CaptureExporter()
    second = spool_for(after, tmp_path)
    second.export(batch([100]))
    assert second.force_flush(10_000)
    assert [seq_of(r) for r in after.records] == list(range(101))
    stats = second.stats()
    assert (stats.replayed, stats.duplicates, stats.spooled) == (100, 0, 1)
    second.shutdown()


def test_records_left_on_disk_at_shutdown_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Shutting down with records not delivered says so on the diagnostics channel: how many, and where."""
    spool = spool_for(Flaky(failures=10**9), tmp_path, shutdown_timeout=0.1, diagnostics=Diagnostics(enabled=True))
    spool.export(batch(range(7)))
    spool.shutdown()
    assert f"records left on disk for the next start directory={tmp_path} records=7" in capsys.readouterr().err


def test_a_network_exporter_is_acknowledged_only_after_the_server_stored_the_batch(tmp_path: Path) -> None:
    """In front of the HTTP exporter, a batch the server refused (503, no retries left) is sent again later;
    every record reaches the server."""
    with Receiver() as server:
        server.fail_next(Fault(status=503), Fault(status=503))
        http = HttpExporter(server.url, max_retries=0, circuit_breaker=False, batch_timeout=0.01)
        spool = spool_for(http, tmp_path, batch_size=10)
        spool.export(batch(range(10)))
        wait_for(lambda: spool.stats().acked == 10, "the batch acknowledged")
        spool.shutdown()
        bodies = [json.loads(r.body) for r in server.delivered()]
    assert server.statuses()[:2] == [503, 503]
    assert [e["log"]["data"]["seq"] for body in bodies for e in body] == list(range(10))
    assert spool.stats().retried == 2


def test_a_full_queue_spills_to_disk_and_records_keep_their_order(tmp_path: Path) -> None:
    """With the spill policy a full queue writes records to the overflow spool; they come back into the
    pipeline in order, and DrainResult counts spilled, spooled and replayed."""
    stalled = BlockingExporter()
    settings = spool_settings(tmp_path, exclude=["BlockingExporter"]).model_copy(
        update={
            "core": Settings().core.model_copy(
                update={"max_queue_size": 5, "protected_queue_size": 0, "batch_timeout_seconds": 0.01}
            )
        }
    )
    logger = get_logger("spill", settings=settings, sinks=[stalled], reuse=False)
    assert logger._pipeline.policy == "spill"
    logger.info("first", seq=0)
    logger.flush(0)
    assert stalled.entered.wait(10)
    for i in range(1, 200):
        logger.error("m", seq=i) if i % 50 == 0 else logger.info("m", seq=i)
    stalled.release()
    result = logger.drain(30)
    assert [seq_of(r) for r in stalled.records] == list(range(200))
    assert result.spilled > 0
    assert result.submitted == result.processed + result.dropped + result.spilled == 200
    assert result.replayed == result.spilled == result.spooled
    assert logger.stats().spooled == result.spooled  # the self-metrics carry the same counts


def test_records_left_in_the_overflow_spool_are_replayed_when_a_pipeline_starts(tmp_path: Path) -> None:
    """Records an earlier process spilled and never replayed are delivered by the next pipeline on the
    directory, before its own records."""
    settings = spool_settings(tmp_path)
    leftover = overflow_store(settings.spool, tmp_path / "slot-0" / "queue")
    assert leftover.append([rec(i) for i in range(3)])
    leftover.close()
    capture = CaptureExporter()
    logger = get_logger("later", settings=settings, sinks=[capture], reuse=False)
    logger.info("new", seq=3)
    result = logger.drain(10)
    assert [seq_of(r) for r in capture.records] == [0, 1, 2, 3]
    assert result.replayed >= 3


def test_one_setting_spools_every_exporter_but_the_console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """FAPILOG_SPOOL__ENABLED=true (with the production preset) puts a spool in front of each exporter except
    stdout, each in a directory of its own under this process's slot, and the policy becomes spill."""
    monkeypatch.setenv("FAPILOG_SPOOL__ENABLED", "true")
    monkeypatch.setenv("FAPILOG_SPOOL__DIRECTORY", str(tmp_path))
    capture = CaptureExporter()
    logger = get_logger("one", preset="production", sinks=["stdout_json", capture, CaptureExporter()], reuse=False)
    pipeline: Pipeline = logger._pipeline
    kinds = [type(e).__name__ for e in pipeline.exporters]
    assert kinds == ["StdoutJsonExporter", "SpoolExporter", "SpoolExporter"]
    assert sorted(p.name for p in (tmp_path / "slot-0").iterdir()) == [
        "CaptureExporter",
        "CaptureExporter-2",
        "lock",
        "queue",
    ]
    assert pipeline.policy == "spill"
    logger.info("hello")
    logger.drain()
    assert capture.messages() == ["hello"]
    second = get_logger("two", preset="production", sinks=[CaptureExporter()], reuse=False)
    assert second._pipeline.spools[0].directory.parent.name == "slot-1"  # another pipeline: its own slot


def test_the_spill_policy_without_the_spool_fails_naming_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """backpressure_policy=spill needs spool.enabled: SettingsError naming both environment variables."""
    monkeypatch.setenv("FAPILOG_CORE__BACKPRESSURE_POLICY", "spill")
    with pytest.raises(SettingsError, match="FAPILOG_CORE__BACKPRESSURE_POLICY=spill") as info:
        Settings()
    assert "FAPILOG_SPOOL__ENABLED=true" in str(info.value)


def test_a_spool_sink_spec_wraps_the_named_sink(tmp_path: Path) -> None:
    """{"type": "spool", "sink": {...}} builds that sink behind a spool in the given directory."""
    out = tmp_path / "files"
    spec = {"type": "spool", "sink": {"type": "rotating_file", "directory": str(out)}, "directory": str(tmp_path / "s")}
    logger = get_logger("spec", sinks=[spec], reuse=False)
    (exporter,) = logger._pipeline.exporters
    assert isinstance(exporter, SpoolExporter)
    assert exporter.directory == tmp_path / "s"
    logger.info("through the spool")
    logger.drain()
    assert "through the spool" in (out / "fapilog.jsonl").read_text(encoding="utf-8")
    with pytest.raises(ValueError, match='needs "sink"'):
        get_logger("bad", sinks=[{"type": "spool"}], reuse=False)


def test_hardened_spools_and_still_delivers_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hardened preset runs with the spool (fsync every batch) and delivers every record on drain."""
    monkeypatch.setenv("FAPILOG_SPOOL__DIRECTORY", str(tmp_path))
    capture = CaptureExporter()
    logger = get_logger("hard", preset="hardened", sinks=[capture], reuse=False)
    for i in range(500):
        logger.info("m", seq=i)
    result = logger.drain()
    assert [seq_of(r) for r in capture.records] == list(range(500))
    assert result.spooled >= 500
    assert logger._pipeline.spools[0].store.fsync == "batch"


def test_a_child_forked_while_the_spool_is_busy_exports_directly_and_leaves_the_spool_alone(tmp_path: Path) -> None:
    """os.fork while another thread holds the spool (as mid-append under load): the child's records go straight
    to the exporter, its drain reads the spool's counters without hanging, and the parent's spool on disk holds
    only the parent's records."""
    code = f"""
import os, threading
from fapilog import Settings, get_logger
from fapilog.testing import CaptureExporter

capture = CaptureExporter()
settings = Settings(core={{"batch_timeout_seconds": 0.01}}, spool={{"enabled": True, "directory": {str(tmp_path)!r}}})
log = get_logger("fork", settings=settings, sinks=[capture], reuse=False)
log.info("parent-before")
assert log.flush(10)
spool = log._pipeline.spools[0]
held, release = threading.Event(), threading.Event()

def busy():
    with spool.store._lock:
        held.set()
        release.wait()

threading.Thread(target=busy, daemon=True).start()
held.wait()
pid = os.fork()
if pid == 0:
    log.info("child")
    result = log.drain(10)
    os._exit(0 if capture.messages()[-1] == "child" and result.spooled == 0 else 3)
release.set()
_, status = os.waitpid(pid, 0)
log.info("parent-after")
result = log.drain(10)
print(os.waitstatus_to_exitcode(status), capture.messages(), result.spooled)
"""
    script = tmp_path / "fork.py"
    script.write_text(code, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], env=clean_env(), capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == "0 ['parent-before', 'parent-after'] 2"
    store = Store(tmp_path / "slot-0" / "CaptureExporter")
    assert (store.stats().next_seq, store.stats().pending) == (2, 0)  # nothing from the child
    store.close()


def test_shutdown_with_a_hung_exporter_keeps_to_its_deadline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An exporter stuck in export cannot hold the spool's shutdown much past shutdown_timeout (0.2 s here;
    the guard is a generous 5 s against the 30 s hang): the batch stays on disk, and it is said."""
    hung = BlockingExporter(timeout=30.0)
    spool = spool_for(hung, tmp_path, shutdown_timeout=0.2, diagnostics=Diagnostics(enabled=True))
    spool.export(batch(range(3)))
    assert hung.entered.wait(10)
    started = time.monotonic()
    spool.shutdown()
    assert time.monotonic() - started < 5.0
    assert "still busy at shutdown" in capsys.readouterr().err
    hung.release()
    restarted = spool_for(CaptureExporter(), tmp_path)
    wait_for(lambda: restarted.stats().acked >= 3, "the batch left on disk delivered by the next spool")
    restarted.shutdown()


@pytest.mark.parametrize("kind", ["missing parent", "a file"])
def test_an_unusable_spool_directory_fails_at_start_up_naming_the_variable(tmp_path: Path, kind: str) -> None:
    """A spool directory that cannot be created or written is a settings error naming
    FAPILOG_SPOOL__DIRECTORY, raised when the logger is made (not an OSError from deep inside)."""
    if kind == "a file":
        directory = tmp_path / "taken"
        directory.write_text("not a directory")
    else:
        directory = tmp_path / "no" / "such" / "dir"
        (tmp_path / "no").write_text("a file where a directory should be")
    with pytest.raises(SettingsError, match="FAPILOG_SPOOL__DIRECTORY") as error:
        get_logger("x", settings=Settings(spool={"enabled": True, "directory": str(directory)}), reuse=False)
    assert str(directory) in str(error.value)


def test_records_a_full_spool_deletes_are_in_the_drain_result(tmp_path: Path) -> None:
    """With the sink down and a small disk bound, drop_oldest deletes the oldest segments: DrainResult and
    stats() report those records as spool_dropped, the same number the spool itself counted."""
    out, down = tmp_path / "out.jsonl", tmp_path / "down"
    down.touch()
    sink = FileSink(out, down=down)
    settings = spool_settings(tmp_path / "spool", max_bytes="64 KiB", segment_bytes="8 KiB", fsync="never")
    logger = get_logger("bound", settings=settings, sinks=[sink], reuse=False)
    for i in range(3_000):
        logger.info("m", seq=i, padding="x" * 40)
    logger.flush(timeout=30)
    spool = logger._pipeline.spools[0]
    wait_for(lambda: spool.stats().dropped > 0, "the disk bound to delete old segments")
    assert logger.stats().spool_dropped == spool.stats().dropped
    result = logger.drain(timeout=5)
    assert result.spool_dropped == spool.stats().dropped > 0
