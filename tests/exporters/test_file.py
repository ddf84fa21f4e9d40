"""The rotating file exporter, on real files: modes, size and time rotation, gzip, retention, several
processes writing one file, and faults (a full disk, a size limit, no permission) contained."""

from __future__ import annotations

import gzip
import os
import pwd
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import orjson
import pytest
from pydantic import ValidationError

from fapilog import Settings, get_logger
from fapilog._levels import level_for
from fapilog._otel import InstrumentationScope, LogRecordExportResult, ReadableLogRecord, Resource, as_readable
from fapilog._otel import new_record as _new_record
from fapilog.exporters.file import (
    EnvRotatingFileExporter,
    FileSettings,
    RotatingFileExporter,
    rotating_file_exporter,
)
from fapilog.sinks import rotating_file

P = ParamSpec("P")
T = TypeVar("T")

SCOPE = InstrumentationScope("files.test")
RESOURCE = Resource({"service.name": "files"})
T0 = 1_738_317_598.0  # 2025-01-31T09:59:58Z
SUCCESS, FAILURE = LogRecordExportResult.SUCCESS, LogRecordExportResult.FAILURE


def batch(*messages: str, level: str = "INFO", **attributes: Any) -> Sequence[ReadableLogRecord]:
    records = []
    for message in messages:
        record = _new_record(time.time_ns(), level_for(level).severity, level, message, dict(attributes), SCOPE, None)
        record.resource = RESOURCE
        records.append(record)
    return as_readable(records)


def numbered(start: int, count: int, **attributes: Any) -> Sequence[ReadableLogRecord]:
    return batch(*(f"m{i:05d}" for i in range(start, start + count)), **attributes)


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class HeldExecutor(Executor):
    """An executor that runs nothing until ``run_all()``: shows which work an export leaves for later."""

    def __init__(self) -> None:
        self.jobs: list[tuple[Future[Any], Callable[[], Any]]] = []

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        self.jobs.append((future, lambda: fn(*args, **kwargs)))
        return future

    def run_all(self) -> None:
        jobs, self.jobs = self.jobs, []
        for future, job in jobs:
            future.set_result(job())


def messages_in(path: Path) -> list[str]:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    return [orjson.loads(line)["log"]["message"] for line in data.splitlines()]


def log_files(active: Path) -> list[Path]:
    """The rotated files of ``active`` in name order, then ``active`` itself."""
    stem, suffix = active.stem, active.suffix
    rotated = sorted(p for p in active.parent.iterdir() if p.name.startswith(f"{stem}.") and p != active)
    rotated = [p for p in rotated if p.name.endswith((suffix, suffix + ".gz"))]
    return [*rotated, active] if active.exists() else rotated


def all_messages(active: Path) -> list[str]:
    return [m for path in log_files(active) for m in messages_in(path)]


# ---- modes --------------------------------------------------------------------------------------------


def test_json_mode_writes_envelope_lines_and_creates_the_directory(tmp_path: Path) -> None:
    """json mode: one fapilog envelope per line; missing directories are created at the first write."""
    path = tmp_path / "deep" / "er" / "app.log"
    log = get_logger("files", sinks=[rotating_file(path)])
    log.info("first", order=1)
    log.warning("second\nline")
    result = log.drain()
    assert result.export_failures == 0
    lines = path.read_bytes().splitlines()
    first, second = (orjson.loads(line) for line in lines)
    assert first["schema_version"] == "1.1"
    assert (first["log"]["message"], first["log"]["data"]) == ("first", {"order": 1})
    assert (second["log"]["level"], second["log"]["message"]) == ("WARNING", "second\nline")


def test_text_mode_writes_pretty_lines_without_colours(tmp_path: Path) -> None:
    """text mode: pretty lines with no ANSI codes, tracebacks indented under their line."""
    path = tmp_path / "app.log"
    log = get_logger("files", sinks=[rotating_file(path, mode="text")])
    log.info("ready", port=8080)
    try:
        raise KeyError("gone")
    except KeyError:
        log.exception("lookup failed")
    log.drain()
    text = path.read_text()
    assert "\x1b[" not in text
    lines = text.splitlines()
    assert lines[0].endswith("| INFO     | ready port=8080")
    assert "| ERROR    | lookup failed" in lines[1]
    assert lines[2] == "    Traceback (most recent call last):"
    assert lines[-1] == "    KeyError: 'gone'"


def test_each_batch_is_appended_after_what_the_file_held(tmp_path: Path) -> None:
    """An existing file is appended to, never truncated."""
    path = tmp_path / "app.log"
    path.write_text('{"log":{"message":"old"}}\n')
    exporter = RotatingFileExporter(path)
    assert exporter.export(batch("a", "b")) is SUCCESS
    assert exporter.export(batch("c")) is SUCCESS
    assert messages_in(path) == ["old", "a", "b", "c"]


def test_bad_mode_and_sizes_are_refused_at_construction(tmp_path: Path) -> None:
    """Invalid options fail when the exporter is built, not when it writes."""
    with pytest.raises(ValueError, match="mode"):
        RotatingFileExporter(tmp_path / "a", mode="xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="size"):
        RotatingFileExporter(tmp_path / "a", max_bytes="ten")
    with pytest.raises(ValueError, match="at least 1"):
        RotatingFileExporter(tmp_path / "a", max_bytes=0)
    with pytest.raises(ValueError, match="interval"):
        RotatingFileExporter(tmp_path / "a", interval=0)
    with pytest.raises(ValueError, match="rotation must be"):
        rotating_file(tmp_path / "a", rotation="sometimes")


# ---- size rotation ------------------------------------------------------------------------------------


def test_size_rotation_keeps_each_file_within_max_bytes_and_every_record_in_order(tmp_path: Path) -> None:
    """Files rotate before a write would pass max_bytes; batches split between records; nothing is lost."""
    path = tmp_path / "app.log"
    exporter = RotatingFileExporter(path, max_bytes=2_000)
    for start in range(0, 200, 20):
        assert exporter.export(numbered(start, 20, pad="x" * 40)) is SUCCESS
    files = log_files(path)
    assert len(files) > 5
    assert exporter.rotations == len(files) - 1
    assert all(0 < f.stat().st_size <= 2_000 for f in files)
    assert all_messages(path) == [f"m{i:05d}" for i in range(200)]


def test_a_record_larger_than_max_bytes_gets_a_file_of_its_own(tmp_path: Path) -> None:
    """A single record bigger than max_bytes is written whole, alone, rather than torn."""
    path = tmp_path / "app.log"
    exporter = RotatingFileExporter(path, max_bytes=500)
    exporter.export(batch("small"))
    exporter.export(batch("huge", blob="y" * 2_000))
    exporter.export(batch("after"))
    files = log_files(path)
    assert [messages_in(f) for f in files] == [["small"], ["huge"], ["after"]]


def test_text_records_with_tracebacks_are_never_split_between_files(tmp_path: Path) -> None:
    """In text mode a batch splits between records: a traceback stays in the file of its line."""
    path = tmp_path / "app.log"
    exporter = RotatingFileExporter(path, mode="text", max_bytes=400)
    stack = 'Traceback (most recent call last):\n  File "app.py", line 1\nValueError: boom\n'
    records = batch(*(f"failure {i}" for i in range(12)), level="ERROR", **{"exception.stacktrace": stack})
    assert exporter.export(records) is SUCCESS
    files = log_files(path)
    assert len(files) > 3
    texts = [f.read_text() for f in files]
    assert all(not text.startswith(" ") and text.endswith("    ValueError: boom\n") for text in texts)
    assert sum(text.count("| ERROR    | failure") for text in texts) == 12


def test_otlp_json_batches_are_never_split(tmp_path: Path) -> None:
    """In otlp_json mode a batch is one line: the file rotates before a batch that would not fit."""
    path = tmp_path / "app.otlp.jsonl"
    exporter = RotatingFileExporter(path, mode="otlp_json", max_bytes=3_000)
    for start in range(0, 40, 8):
        assert exporter.export(numbered(start, 8)) is SUCCESS
    files = log_files(path)
    assert len(files) > 1
    bodies = []
    for f in files:
        for line in f.read_bytes().splitlines():
            request = orjson.loads(line)
            records = request["resourceLogs"][0]["scopeLogs"][0]["logRecords"]
            assert len(records) == 8
            bodies += [r["body"]["stringValue"] for r in records]
    assert bodies == [f"m{i:05d}" for i in range(40)]


def test_rotated_names_carry_the_utc_rotation_time_and_sort_in_time_order(tmp_path: Path) -> None:
    """Rotated files are named <stem>.<UTC time>.<suffix>; rotations in the same microsecond still sort."""
    path = tmp_path / "app.log"
    clock = Clock()
    exporter = RotatingFileExporter(path, max_bytes=1, clock=clock)
    for i in range(3):
        exporter.export(batch(f"same instant {i}"))
    clock.now += 3600.5
    exporter.export(batch("an hour later"))
    names = [p.name for p in log_files(path)[:-1]]
    assert names == [
        "app.2025-01-31T09-59-58.000000Z.log",
        "app.2025-01-31T09-59-58.000001Z.log",
        "app.2025-01-31T10-59-58.500000Z.log",
    ]
    assert all_messages(path) == ["same instant 0", "same instant 1", "same instant 2", "an hour later"]


# ---- time rotation ------------------------------------------------------------------------------------


def test_hourly_rotation_happens_on_the_hour(tmp_path: Path) -> None:
    """Hourly rotation: writes up to 09:59:59.999 share a file; the first write from 10:00 starts a new one."""
    path = tmp_path / "app.log"
    clock = Clock(T0)  # 09:59:58
    exporter = RotatingFileExporter(path, interval="hourly", clock=clock)
    exporter.export(batch("09:59:58"))
    clock.now = T0 + 1.999
    exporter.export(batch("09:59:59.999"))
    assert exporter.rotations == 0
    clock.now = T0 + 2  # 10:00:00
    exporter.export(batch("10:00:00"))
    clock.now = T0 + 2 + 3599
    exporter.export(batch("10:59:59"))
    assert exporter.rotations == 1
    rotated, active = log_files(path)
    assert rotated.name == "app.2025-01-31T10-00-00.000000Z.log"
    assert messages_in(rotated) == ["09:59:58", "09:59:59.999"]
    assert messages_in(active) == ["10:00:00", "10:59:59"]


def test_an_interval_is_aligned_to_wall_clock_boundaries(tmp_path: Path) -> None:
    """A 15-minute interval started at 10:07 rotates at 10:15 and 10:30, not 15 minutes after the start."""
    path = tmp_path / "app.log"
    ten = T0 + 2
    clock = Clock(ten + 7 * 60)
    exporter = RotatingFileExporter(path, interval="15m", clock=clock)
    for minute in (7, 14, 15, 22, 29, 30):
        clock.now = ten + minute * 60
        exporter.export(batch(f"10:{minute:02d}"))
    groups = [messages_in(f) for f in log_files(path)]
    assert groups == [["10:07", "10:14"], ["10:15", "10:22", "10:29"], ["10:30"]]


def test_an_idle_period_does_not_leave_empty_files(tmp_path: Path) -> None:
    """Periods with no records produce no files: after a quiet day only one rotation happens."""
    path = tmp_path / "app.log"
    clock = Clock()
    exporter = RotatingFileExporter(path, interval="hourly", clock=clock)
    exporter.export(batch("before"))
    clock.now += 26 * 3600
    exporter.export(batch("a day later"))
    assert [messages_in(f) for f in log_files(path)] == [["before"], ["a day later"]]


def test_a_file_left_from_an_earlier_period_is_rotated_before_the_first_write(tmp_path: Path) -> None:
    """After a restart, daily rotation moves yesterday's file aside before writing today's first record."""
    path = tmp_path / "app.log"
    path.write_text('{"log":{"message":"yesterday"}}\n')
    os.utime(path, (T0 - 86_400, T0 - 86_400))
    exporter = RotatingFileExporter(path, interval="daily", clock=Clock())
    exporter.export(batch("today"))
    assert [messages_in(f) for f in log_files(path)] == [["yesterday"], ["today"]]


def test_size_and_time_rotation_together(tmp_path: Path) -> None:
    """With both limits, whichever comes first rotates the file."""
    path = tmp_path / "app.log"
    clock = Clock()
    exporter = RotatingFileExporter(path, max_bytes=1_000, interval="hourly", clock=clock)
    exporter.export(numbered(0, 3))
    clock.now += 3600
    exporter.export(numbered(3, 12))
    files = log_files(path)
    assert messages_in(files[0]) == ["m00000", "m00001", "m00002"]
    assert len(files) >= 3
    assert all_messages(path) == [f"m{i:05d}" for i in range(15)]


# ---- gzip and retention -------------------------------------------------------------------------------


def test_rotated_files_are_gzipped_and_readable(tmp_path: Path) -> None:
    """compress=True: each rotated file becomes <name>.gz, a gzip of the same lines; the active file stays plain."""
    path = tmp_path / "app.log"
    exporter = RotatingFileExporter(path, max_bytes=1_500, compress=True)
    for start in range(0, 60, 10):
        exporter.export(numbered(start, 10))
    assert exporter.force_flush(10_000)
    files = log_files(path)
    assert files[-1] == path
    assert all(f.name.endswith(".log.gz") for f in files[:-1])
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
    assert all_messages(path) == [f"m{i:05d}" for i in range(60)]
    exporter.shutdown()


def test_compression_runs_on_the_executor_not_in_the_export(tmp_path: Path) -> None:
    """The export that rotates only schedules the gzip; it happens when the executor runs it."""
    path = tmp_path / "app.log"
    executor = HeldExecutor()
    exporter = RotatingFileExporter(path, max_bytes=1, compress=True, executor=executor)
    exporter.export(batch("one"))
    exporter.export(batch("two"))
    (rotated, _active) = log_files(path)
    assert rotated.suffix == ".log"  # rotated but not yet compressed
    assert len(executor.jobs) == 1
    executor.run_all()
    (packed, _active) = log_files(path)
    assert packed.name == rotated.name + ".gz"
    assert messages_in(packed) == ["one"]


def test_the_default_executor_is_a_background_thread(tmp_path: Path) -> None:
    """Without an executor, maintenance runs on the exporter's own 'fapilog-file' thread."""
    import threading

    path = tmp_path / "app.log"
    exporter = RotatingFileExporter(path, max_bytes=1, compress=True)
    exporter.export(batch("one"))
    exporter.export(batch("two"))
    assert exporter.force_flush(10_000)
    assert any(t.name.startswith("fapilog-file") for t in threading.enumerate())
    exporter.shutdown()
    assert exporter.export(batch("after shutdown")) is FAILURE


def test_retention_by_count_keeps_the_newest_rotated_files(tmp_path: Path) -> None:
    """max_files=2: after five rotations the two newest rotated files remain, beside the active file."""
    path = tmp_path / "app.log"
    exporter = RotatingFileExporter(path, max_bytes=1, max_files=2, clock=Clock())
    for i in range(6):
        exporter.export(batch(f"file {i}"))
    assert exporter.force_flush(10_000)
    assert [messages_in(f) for f in log_files(path)] == [["file 3"], ["file 4"], ["file 5"]]


def test_retention_by_count_applies_to_compressed_files(tmp_path: Path) -> None:
    """Retention counts .gz files too: compress + max_files=1 leaves one .gz and the active file."""
    path = tmp_path / "app.log"
    exporter = RotatingFileExporter(path, max_bytes=1, max_files=1, compress=True)
    for i in range(4):
        exporter.export(batch(f"file {i}"))
    assert exporter.force_flush(10_000)
    files = log_files(path)
    assert [f.name.endswith(".gz") for f in files] == [True, False]
    assert [messages_in(f) for f in files] == [["file 2"], ["file 3"]]


def test_retention_by_total_bytes_deletes_the_oldest_first(tmp_path: Path) -> None:
    """max_total_bytes: the rotated files kept add up to at most the limit, newest kept."""
    path = tmp_path / "app.log"
    exporter = RotatingFileExporter(path, max_bytes=1, max_total_bytes=1_000)
    for i in range(8):
        exporter.export(batch(f"file {i}", pad="z" * 200))
    assert exporter.force_flush(10_000)
    files = log_files(path)
    rotated = files[:-1]
    sizes = [f.stat().st_size for f in rotated]
    assert sum(sizes) <= 1_000
    assert sum(sizes) + sizes[0] > 1_000  # one more would not have fitted
    assert [messages_in(f)[0] for f in files] == [f"file {i}" for i in range(8 - len(files), 8)]


def test_retention_leaves_other_files_alone(tmp_path: Path) -> None:
    """Only this exporter's rotated files are pruned: other names in the directory are never touched."""
    path = tmp_path / "app.log"
    keep = [tmp_path / "other.2025-01-01T00-00-00.000000Z.log", tmp_path / "app.log.bak", tmp_path / "notes.txt"]
    for other in keep:
        other.write_text("x")
    exporter = RotatingFileExporter(path, max_bytes=1, max_files=0)
    for i in range(3):
        exporter.export(batch(f"file {i}"))
    assert exporter.force_flush(10_000)
    assert [messages_in(f) for f in log_files(path)] == [["file 2"]]
    assert all(other.exists() for other in keep)


# ---- settings and factories ---------------------------------------------------------------------------


def test_file_settings_take_the_seed_values() -> None:
    """FileSettings accepts the seed's FAPILOG_FILE__* values as strings (sizes, 'daily', booleans)."""
    settings = FileSettings(
        directory="/var/log/myapp",
        max_bytes="10 MB",
        max_files="5",
        compress_rotated="true",
        interval_seconds="daily",
    )
    assert str(settings.directory) == "/var/log/myapp"
    assert (settings.max_bytes, settings.max_files, settings.compress_rotated) == (10_000_000, 5, True)
    assert settings.interval_seconds == 86_400
    assert FileSettings(interval_seconds="hourly").interval_seconds == 3_600
    assert FileSettings(max_bytes="none").max_bytes is None
    with pytest.raises(ValidationError):
        FileSettings(interval_seconds="fortnightly")
    with pytest.raises(ValidationError):
        FileSettings(filename_prefix="../escape")
    with pytest.raises(ValidationError):
        FileSettings(colour=True)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("mode", "name"), [("json", "svc.jsonl"), ("text", "svc.log"), ("otlp_json", "svc.otlp.jsonl")]
)
def test_from_settings_names_the_file_by_prefix_and_mode(tmp_path: Path, mode: str, name: str) -> None:
    """from_settings: <directory>/<filename_prefix><suffix of the mode>, with every limit carried over."""
    settings = FileSettings.model_validate(
        {
            "directory": tmp_path,
            "filename_prefix": "svc",
            "mode": mode,
            "max_bytes": "1 KB",
            "interval_seconds": "15m",
            "max_files": 3,
            "max_total_bytes": "1 MiB",
            "compress_rotated": True,
        }
    )
    exporter = RotatingFileExporter.from_settings(settings)
    assert exporter.path == tmp_path / name
    assert (exporter.mode, exporter.max_bytes, exporter.interval) == (mode, 1_000, 900.0)
    assert (exporter.max_files, exporter.max_total_bytes, exporter.compress) == (3, 1_048_576, True)
    with pytest.raises(ValueError, match="FAPILOG_FILE__DIRECTORY"):
        RotatingFileExporter.from_settings(FileSettings())


def test_rotating_file_factory_maps_the_seed_parameters(tmp_path: Path) -> None:
    """rotating_file(path, rotation, retention, compression, mode): sizes or periods, count, gzip, mode."""
    sized = rotating_file(tmp_path / "a.log", rotation="10 MB", retention=7, compression=True, mode="text")
    assert (sized.max_bytes, sized.interval, sized.max_files, sized.compress, sized.mode) == (
        10_000_000,
        None,
        7,
        True,
        "text",
    )
    assert rotating_file(tmp_path / "b.log", rotation=4096).max_bytes == 4096
    daily = rotating_file(tmp_path / "c.log", rotation="daily")
    assert (daily.max_bytes, daily.interval) == (None, 86_400.0)
    plain = rotating_file(tmp_path / "d.log")
    assert (plain.max_bytes, plain.interval, plain.max_files, plain.compress) == (None, None, None, False)


def test_a_sink_dict_builds_the_exporter_from_settings_fields(tmp_path: Path) -> None:
    """{"type": "rotating_file", ...} takes FileSettings fields; an unknown one fails naming the sink."""
    spec = {"type": "rotating_file", "directory": str(tmp_path), "filename_prefix": "svc", "max_bytes": "1 KB"}
    log = get_logger("files", settings=Settings(sinks=[spec]))
    log.info("via settings")
    log.drain()
    assert messages_in(tmp_path / "svc.jsonl") == ["via settings"]
    with pytest.raises(ValueError, match="rotating_file"):
        rotating_file_exporter(directory=str(tmp_path), rotate="daily")


def test_env_exporter_reads_fapilog_file_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """EnvRotatingFileExporter (OTEL_LOGS_EXPORTER=fapilog_file) is configured by FAPILOG_FILE__* alone."""
    monkeypatch.setenv("FAPILOG_FILE__DIRECTORY", str(tmp_path))
    monkeypatch.setenv("FAPILOG_FILE__MAX_BYTES", "2 KB")
    monkeypatch.setenv("FAPILOG_FILE__INTERVAL_SECONDS", "daily")
    monkeypatch.setenv("FAPILOG_FILE__MODE", "text")
    exporter = EnvRotatingFileExporter()
    assert (exporter.path, exporter.max_bytes, exporter.interval) == (tmp_path / "fapilog.log", 2_000, 86_400.0)
    assert exporter.export(batch("from env")) is SUCCESS
    assert "from env" in (tmp_path / "fapilog.log").read_text()


SEED_ROTATING_FILE = """\
from fapilog.sinks import rotating_file
sink = rotating_file(
    "logs/app.log",
    rotation="10 MB",
    retention=7,
    compression=True,
    mode="json",
)
"""


def test_seed_rotating_file_snippet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The seed's rotating_file snippet, verbatim, works as get_logger(sinks=[sink])."""
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    exec(SEED_ROTATING_FILE, namespace)
    log = get_logger("files", sinks=[namespace["sink"]])
    log.info("written to a file")
    log.drain()
    assert messages_in(tmp_path / "logs" / "app.log") == ["written to a file"]


# ---- several processes --------------------------------------------------------------------------------

_WRITER = """
import os, sys, time
from pathlib import Path
from fapilog import get_logger
from fapilog.sinks import rotating_file

path, proc, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
log = get_logger("writer", sinks=[rotating_file(path, rotation="256 KB")])
while not go.exists():
    time.sleep(0.001)
for seq in range(count):
    log.info("line", proc=proc, seq=seq, payload=proc * 3000)
result = log.drain(timeout=60)
assert result.export_failures == 0 and result.dropped == 0, result
"""


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("FAPILOG_", "OTEL_"))}


def _check_whole_lines(active: Path, expected: dict[str, int]) -> None:
    seen: dict[str, list[int]] = {proc: [] for proc in expected}
    for path in log_files(active):
        data = path.read_bytes()
        assert data.endswith(b"\n") or not data, path
        for line in data.splitlines():
            entry = orjson.loads(line)["log"]["data"]  # a torn or interleaved line would not parse
            assert entry["payload"] == entry["proc"] * 3000
            seen[entry["proc"]].append(entry["seq"])
    for proc, count in expected.items():
        assert sorted(seen[proc]) == list(range(count)), proc
        assert seen[proc] == sorted(seen[proc]), f"{proc}: out of order"


def test_concurrent_processes_never_tear_or_interleave_lines(tmp_path: Path) -> None:
    """Four processes log 3.5 KB records (batches far above PIPE_BUF) to one rotating file at once:
    every line parses, each process's records are all there, in order, exactly once."""
    path = tmp_path / "shared.log"
    go = tmp_path / "go"
    count = 1_500
    names = "abcd"
    running = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), name, str(count), str(go)], env=_env(), stderr=subprocess.PIPE
        )
        for name in names
    ]
    time.sleep(0.5)
    go.touch()
    for proc in running:
        _, err = proc.communicate(timeout=110)
        assert proc.returncode == 0, err.decode()
    assert len(log_files(path)) > 10  # the processes rotated the file under each other many times
    _check_whole_lines(path, dict.fromkeys(names, count))


_FORKER = """
import os, sys
from fapilog import get_logger
from fapilog.sinks import rotating_file

log = get_logger("forker", sinks=[rotating_file(sys.argv[1], rotation="128 KB")])
log.info("line", proc="p", seq=0, payload="p" * 3000)
log.drain()
children = []
for name in "xyz":
    pid = os.fork()
    if pid == 0:
        for seq in range(400):
            log.info("line", proc=name, seq=seq, payload=name * 3000)
        result = log.drain(timeout=60)
        os._exit(0 if result.export_failures == 0 and result.dropped == 0 else 1)
    children.append(pid)
for seq in range(1, 400):
    log.info("line", proc="p", seq=seq, payload="p" * 3000)
log.drain(timeout=60)
codes = [os.waitpid(pid, 0)[1] for pid in children]
assert codes == [0, 0, 0], codes
"""


def test_forked_children_write_through_locks_of_their_own(tmp_path: Path) -> None:
    """A parent and three forked children share one exporter's file: still no torn or lost lines."""
    path = tmp_path / "forked.log"
    result = subprocess.run(
        [sys.executable, "-c", _FORKER, str(path)], env=_env(), capture_output=True, timeout=110, check=False
    )
    assert result.returncode == 0, result.stderr.decode()
    _check_whole_lines(path, {"p": 400, "x": 400, "y": 400, "z": 400})


# ---- faults -------------------------------------------------------------------------------------------


def _diagnosed_logger(exporter: RotatingFileExporter) -> Any:
    settings = Settings(core={"internal_logging_enabled": True})
    return get_logger("faulty", settings=settings, sinks=[exporter], reuse=False)


def test_a_path_that_is_a_directory_fails_the_export_without_raising(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The log path is a directory: the export fails (counted, diagnosed); the logging call never raises."""
    path = tmp_path / "app.log"
    path.mkdir()
    exporter = RotatingFileExporter(path)
    log = _diagnosed_logger(exporter)
    log.info("lost")
    result = log.drain()
    assert result.export_failures == 1
    assert isinstance(exporter.last_error, IsADirectoryError)
    assert exporter.failed_batches == 1
    assert "[fapilog][sink][WARN] export failed exporter=RotatingFileExporter" in capsys.readouterr().err


def test_the_exporter_recovers_once_the_fault_is_gone(tmp_path: Path) -> None:
    """After a failed export the next one retries from scratch: fix the path and writing resumes."""
    path = tmp_path / "app.log"
    path.mkdir()
    exporter = RotatingFileExporter(path)
    assert exporter.export(batch("lost")) is FAILURE
    path.rmdir()
    assert exporter.export(batch("kept")) is SUCCESS
    assert messages_in(path) == ["kept"]


def test_a_directory_that_is_a_file_fails_the_export(tmp_path: Path) -> None:
    """The directory path names a regular file: NotADirectoryError, contained."""
    blocker = tmp_path / "logs"
    blocker.write_text("not a directory")
    exporter = RotatingFileExporter(blocker / "app.log")
    assert exporter.export(batch("lost")) is FAILURE
    assert isinstance(exporter.last_error, NotADirectoryError)


def test_the_directory_removed_while_running_is_made_again(tmp_path: Path) -> None:
    """Someone deletes the log directory: the next batch recreates it and its file."""
    path = tmp_path / "logs" / "app.log"
    exporter = RotatingFileExporter(path)
    exporter.export(batch("before"))
    for child in path.parent.iterdir():
        child.unlink()
    path.parent.rmdir()
    assert exporter.export(batch("after")) is SUCCESS
    assert messages_in(path) == ["after"]


@pytest.mark.skipif(not os.access("/dev/full", os.W_OK), reason="needs a writable /dev/full")
def test_a_full_disk_fails_the_export_without_raising(tmp_path: Path) -> None:
    """Writes that hit ENOSPC (the log path links to /dev/full) make the export fail; nothing raises."""
    path = tmp_path / "app.log"
    path.symlink_to("/dev/full")
    exporter = RotatingFileExporter(path)
    log = get_logger("full", sinks=[exporter], reuse=False)
    log.info("nowhere to go")
    result = log.drain()
    assert result.export_failures == 1
    assert isinstance(exporter.last_error, OSError)
    assert exporter.last_error.errno == 28  # ENOSPC


_SIZE_LIMITED = """
import resource, signal, sys
from pathlib import Path
from fapilog import get_logger
from fapilog.sinks import rotating_file

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # over the limit: EFBIG instead of being killed
resource.setrlimit(resource.RLIMIT_FSIZE, (10_000, 10_000))
sink = rotating_file(sys.argv[1])
log = get_logger("limited", sinks=[sink])
for i in range(30):
    log.info("record", i=i, pad="q" * 900)
result = log.drain()
print(result.export_failures, sink.last_error.errno if sink.last_error else None)
"""


def test_a_write_cut_short_by_a_file_size_limit_leaves_no_torn_line(tmp_path: Path) -> None:
    """A batch that only partly fits (RLIMIT_FSIZE) is cut back: the file holds whole lines only."""
    path = tmp_path / "app.log"
    result = subprocess.run(
        [sys.executable, "-c", _SIZE_LIMITED, str(path)], env=_env(), capture_output=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr.decode()
    failures, errno_ = result.stdout.split()
    assert int(failures) > 0
    assert errno_ == b"27"  # EFBIG
    data = path.read_bytes()
    assert len(data) <= 10_000
    assert data == b"" or data.endswith(b"\n")
    assert all(orjson.loads(line)["log"]["message"] == "record" for line in data.splitlines())


_READ_ONLY = """
import os, sys
from fapilog import get_logger
from fapilog.sinks import rotating_file

if os.geteuid() == 0:  # root ignores permissions: drop to an unprivileged user for real
    os.setgid(int(sys.argv[3]))
    os.setuid(int(sys.argv[2]))
sink = rotating_file(os.path.join(sys.argv[1], "app.log"))
log = get_logger("ro", sinks=[sink])
log.info("denied")
result = log.drain()
print(result.export_failures, type(sink.last_error).__name__)
"""


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory outside pytest's private temp dir, which an unprivileged user can reach."""
    with tempfile.TemporaryDirectory() as name:
        os.chmod(name, 0o755)
        yield Path(name)


def test_a_read_only_directory_fails_the_export_without_raising(shared_dir: Path) -> None:
    """No permission to create the log file (a real EACCES, as an unprivileged user): contained."""
    target = shared_dir / "ro"
    target.mkdir()
    target.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    nobody = pwd.getpwnam("nobody")
    result = subprocess.run(
        [sys.executable, "-c", _READ_ONLY, str(target), str(nobody.pw_uid), str(nobody.pw_gid)],
        env=_env(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.split() == [b"1", b"PermissionError"]
    assert list(target.iterdir()) == []
