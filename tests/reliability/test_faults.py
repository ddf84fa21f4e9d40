"""Faults: exporters that raise, return failure, run slowly or hang; SIGTERM and interpreter exit while threads
log; ``os.fork`` under load and a prefork server (gunicorn-style). The others are unaffected, callers never wait
beyond the policy, every record is counted exactly once, and nothing hangs (subprocesses have hang guards)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

from fapilog import Settings, get_logger
from fapilog._otel import LogRecordExportResult, ReadableLogRecord
from fapilog.testing import BlockingExporter, CaptureExporter
from tests.test_docs import clean_env
from tests.test_lanes import wait_for

from ._figures import (
    FAULT_RECORDS,
    PREFORK_RECORDS_PER_WORKER,
    PREFORK_WORKERS,
    SHUTDOWN_EXTRA,
    SHUTDOWN_RECORDS,
    SHUTDOWN_THREADS,
)
from .conftest import Figures

pytestmark = pytest.mark.reliability

HANG_GUARD = 60.0  # seconds


class Raising(CaptureExporter):
    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        raise RuntimeError("exporter down")


class Failing(CaptureExporter):
    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        return LogRecordExportResult.FAILURE


class Slow(CaptureExporter):
    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        time.sleep(0.005)
        return super().export(batch)


def fault_settings(**core: Any) -> Settings:
    base = {"batch_max_size": 64, "batch_timeout_seconds": 0.01, "max_queue_size": 2 * FAULT_RECORDS}
    return Settings(core={**base, **core})


@pytest.mark.parametrize("fault", ["raises", "returns_failure", "slow"])
def test_a_faulty_exporter_leaves_the_others_whole_and_the_counts_exact(fault: str, figures: Figures) -> None:
    """Beside an exporter that raises, fails or is slow, another gets every record in order; nothing waits."""
    faulty = {"raises": Raising, "returns_failure": Failing, "slow": Slow}[fault]()
    good = CaptureExporter()
    logger = get_logger("faults", settings=fault_settings(), sinks=[faulty, good], reuse=False)
    for seq in range(FAULT_RECORDS):
        logger.info("record", seq=seq)
    result = logger.drain(HANG_GUARD)
    assert not result.timed_out
    assert (result.submitted, result.processed, result.dropped) == (FAULT_RECORDS, FAULT_RECORDS, 0)
    assert result.backpressure_retries == 0  # no caller ever waited
    assert [r.log_record.attributes["seq"] for r in good.records] == list(range(FAULT_RECORDS))  # type: ignore[index]
    expected_failures = 0 if fault == "slow" else FAULT_RECORDS
    assert result.export_failures == expected_failures
    assert logger.stats().exported == FAULT_RECORDS + (FAULT_RECORDS if fault == "slow" else 0)
    figures.add(f"faults.{fault}.delivered_to_the_other", len(good.records))


@pytest.mark.parametrize("policy", ["drop_newest", "block"])
def test_a_hanging_exporter_never_holds_the_caller_beyond_the_policy(policy: str, figures: Figures) -> None:
    """With the worker stuck in the only exporter, callers return (drop) or wait at most the block deadline per
    record; a drain honours its deadline; every record is counted once, also after the hang ends."""
    hanging = BlockingExporter(timeout=HANG_GUARD)
    core = {"max_queue_size": 500, "backpressure_policy": policy, "backpressure_wait_ms": 1, "emit_drop_summary": False}
    logger = get_logger("hang", settings=fault_settings(**core), sinks=[hanging], reuse=False)
    logger.info("first", seq=-1)
    assert logger.flush(0) is False  # wakes the worker, which gets stuck in the exporter
    assert hanging.entered.wait(HANG_GUARD)
    for seq in range(FAULT_RECORDS):
        logger.info("record", seq=seq)
    stats = logger.stats()
    submitted = FAULT_RECORDS + 1
    assert stats.submitted == submitted
    if policy == "drop_newest":
        assert stats.backpressure_waits == 0  # nobody waited
    else:
        assert stats.backpressure_waits == stats.dropped_by_reason["backpressure_timeout"]  # each waited once
    result = logger.drain(0.2)
    assert result.timed_out
    assert result.submitted == result.processed + result.dropped == submitted
    hanging.release()
    assert logger.flush(HANG_GUARD)
    after = logger.stats()
    assert after.submitted == after.processed + after.dropped == submitted
    assert after.queue_depth == 0
    assert len(hanging.records) == after.processed  # what was processed was exported once
    assert len({r.log_record.attributes["seq"] for r in hanging.records}) == after.processed  # type: ignore[index]
    logger.drain(HANG_GUARD)
    figures.add(f"faults.hang.{policy}.processed", after.processed)
    figures.add(f"faults.hang.{policy}.dropped", after.dropped)


def test_a_hanging_exporter_leaves_the_others_whole(figures: Figures) -> None:
    """Beside an exporter that hangs, another gets every record in order and no caller waits or loses one: the
    hung exporter is stalled after the stall timeout, what it misses is counted, and once it catches up it gets
    every new record again."""
    hanging, good = BlockingExporter(timeout=HANG_GUARD), CaptureExporter()
    settings = fault_settings(exporter_stall_timeout_seconds=0.2)
    logger = get_logger("hang", settings=settings, sinks=[hanging, good], reuse=False)
    for seq in range(FAULT_RECORDS):
        logger.info("record", seq=seq)
    assert logger.flush(HANG_GUARD)  # the stalled exporter is not waited for
    stats = logger.stats()
    assert (stats.dropped, stats.backpressure_waits) == (0, 0)
    assert [r.log_record.attributes["seq"] for r in good.records] == list(range(FAULT_RECORDS))  # type: ignore[index]
    hanging.release()
    missed = logger.stats().export_failures  # counted when each batch was refused to the stalled lane
    assert missed > 0
    # every miss counted, nothing twice: once its lane is empty, it got exactly what it did not miss
    wait_for(lambda: len(hanging.records) + missed == FAULT_RECORDS, "the released exporter to empty its lane")
    for seq in range(FAULT_RECORDS, 2 * FAULT_RECORDS):  # it has caught up: new records reach it again
        logger.info("record", seq=seq)
    result = logger.drain(HANG_GUARD)
    assert not result.timed_out
    assert result.export_failures == missed  # nothing missed after it caught up
    assert [r.log_record.attributes["seq"] for r in good.records] == list(range(2 * FAULT_RECORDS))  # type: ignore[index]
    seqs = [int(r.log_record.attributes["seq"]) for r in hanging.records]  # type: ignore[arg-type, index]
    assert seqs == sorted(seqs)  # what it did get, it got in order
    assert len(seqs) + missed == 2 * FAULT_RECORDS
    assert seqs[-FAULT_RECORDS:] == list(range(FAULT_RECORDS, 2 * FAULT_RECORDS))
    figures.add("faults.hang.delivered_to_the_other", len(good.records))
    figures.add("faults.hang.missed_and_counted", missed)


# ---- real processes -----------------------------------------------------------------------------------------


def python(code: str, *args: str) -> subprocess.Popen[str]:
    """``code`` running in a fresh interpreter with a clean environment (no FAPILOG_* or OTEL_* variable)."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )


def finish(proc: subprocess.Popen[str]) -> str:
    """Wait (at most the hang guard) for ``proc`` to exit; its stderr. A child that hangs is killed, not left."""
    try:
        _, err = proc.communicate(timeout=HANG_GUARD)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return err


def lines(path: Path) -> list[dict[str, Any]]:
    """Every record in ``path`` (each line must be a whole JSON envelope: no torn or interleaved lines)."""
    return [orjson.loads(line)["log"] for line in path.read_bytes().splitlines()]


def check_prefixes(records: list[dict[str, Any]], message: str, owners: int) -> int:
    """Per owner, the ``message`` records are seq 0..n-1 exactly once (a cut tail at most); returns the total."""
    by_owner: dict[int, list[int]] = {n: [] for n in range(owners)}
    for r in records:
        if r["message"] == message:
            by_owner[r["data"]["owner"]].append(r["data"]["seq"])
    for owner, seqs in by_owner.items():
        assert seqs == list(range(len(seqs))), f"owner {owner}: lost, repeated or reordered records"
    return sum(len(s) for s in by_owner.values())


SHUTDOWN_CHILD = """
    import atexit, json, os, signal, sys, threading, time
    from pathlib import Path
    path, mode, queued, nthreads, extra = Path(sys.argv[1]), sys.argv[2], *(int(a) for a in sys.argv[3:6])
    report = {}
    if mode == "atexit":  # registered first, so it runs last: after fapilog's drain at exit
        atexit.register(lambda: print(json.dumps(report | {"stats": vars_of(log.stats())}), file=sys.stderr))
    from fapilog import Settings, get_logger, install_shutdown_handlers
    from fapilog.sinks import rotating_file

    def vars_of(stats):
        return {k: getattr(stats, k) for k in ("submitted", "processed", "dropped", "queue_depth")}

    core = {"batch_timeout_seconds": 60, "max_queue_size": 1_000_000, "atexit_drain_timeout_seconds": 30}
    log = get_logger("shutdown", settings=Settings(core=core), sinks=[rotating_file(path)])
    stop = threading.Event()
    logged = [0] * nthreads

    def work(owner):
        for seq in range(extra):
            if stop.is_set():
                return
            log.info("extra", owner=owner, seq=seq)
            logged[owner] = seq + 1
            if seq % 100 == 99:
                time.sleep(0.001)  # spread the load over the time the signal (or the exit) arrives

    for seq in range(queued):
        log.info("queued", seq=seq)
    threads = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(nthreads)]
    for t in threads:
        t.start()
    while min(logged) < 100:  # every thread is logging
        time.sleep(0.001)
    if mode == "sigterm":
        def after_fapilog(signum, frame):  # the handler fapilog calls once its drain is done
            at_signal = sum(1 for line in path.read_text().splitlines() if '"queued"' in line)
            stop.set()
            for t in threads:
                t.join()
            result = log.drain(30)
            fields = ("submitted", "processed", "dropped", "timed_out")
            report = {"queued_out_at_signal": at_signal, "logged": sum(logged) + queued}
            report["drain"] = {k: getattr(result, k) for k in fields}
            print(json.dumps(report), file=sys.stderr, flush=True)
            os._exit(0)
        signal.signal(signal.SIGTERM, after_fapilog)
        assert install_shutdown_handlers(timeout=30)
        print("ready", file=sys.stderr, flush=True)
        # Short sleeps: the kernel may hand the signal to one of the logging threads, and Python runs the
        # handler only when the main thread next runs Python code, which one long sleep would put off.
        for _ in range(6_000):
            time.sleep(0.01)
        os._exit(3)  # the signal never came
    report["logged_before_exit"] = sum(logged) + queued
"""


def test_sigterm_while_threads_log_drains_everything_within_the_deadline(tmp_path: Path, figures: Figures) -> None:
    """SIGTERM with a full queue and threads logging: the drain completes within its deadline (every queued
    record is out before the previous handler runs), and every record logged is written exactly once."""
    path = tmp_path / "out.jsonl"
    proc = python(
        SHUTDOWN_CHILD, str(path), "sigterm", str(SHUTDOWN_RECORDS), str(SHUTDOWN_THREADS), str(SHUTDOWN_EXTRA)
    )
    assert proc.stderr is not None
    ready = proc.stderr.readline().strip()
    assert ready == "ready", ready + finish(proc)
    proc.send_signal(signal.SIGTERM)
    err = finish(proc)
    assert proc.returncode == 0, err
    report = json.loads(err.strip().splitlines()[-1])
    assert report["queued_out_at_signal"] == SHUTDOWN_RECORDS  # the signal's drain finished, not timed out
    drain = report["drain"]
    assert not drain["timed_out"]
    assert drain["submitted"] == drain["processed"] == report["logged"]
    assert drain["dropped"] == 0
    records = lines(path)
    queued = [r["data"]["seq"] for r in records if r["message"] == "queued"]
    assert queued == list(range(SHUTDOWN_RECORDS))
    extra = check_prefixes(records, "extra", SHUTDOWN_THREADS)
    assert len(records) == SHUTDOWN_RECORDS + extra == report["logged"]
    figures.add("shutdown.sigterm.records_written", len(records))
    figures.add("shutdown_records", len(queued))


def test_interpreter_exit_while_threads_log_drains_the_queue(tmp_path: Path, figures: Figures) -> None:
    """The interpreter exits while daemon threads still log: the drain at exit writes every queued record once;
    the threads' records are each thread's first ones, in order, none twice; the counts add up."""
    path = tmp_path / "out.jsonl"
    proc = python(
        SHUTDOWN_CHILD, str(path), "atexit", str(SHUTDOWN_RECORDS), str(SHUTDOWN_THREADS), str(SHUTDOWN_EXTRA)
    )
    err = finish(proc)
    assert proc.returncode == 0, err
    report = json.loads(err.strip().splitlines()[-1])
    stats = report["stats"]
    assert stats["submitted"] == stats["processed"] + stats["dropped"] + stats["queue_depth"]
    assert stats["submitted"] >= report["logged_before_exit"]
    records = lines(path)
    assert [r["data"]["seq"] for r in records if r["message"] == "queued"] == list(range(SHUTDOWN_RECORDS))
    extra = check_prefixes(records, "extra", SHUTDOWN_THREADS)
    assert SHUTDOWN_RECORDS + extra >= report["logged_before_exit"]  # all logged before exit began are out
    figures.add("shutdown.atexit.records_written", len(records))


FORK_CHILD = """
    import os, sys, threading, time
    from pathlib import Path
    from fapilog import Settings, configure, get_logger
    from fapilog.sinks import rotating_file
    path, workers, per_worker, mode = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    core = {"batch_timeout_seconds": 60, "max_queue_size": 1_000_000}
    configure(Settings(core=core), sinks=[rotating_file(path)])  # the parent configures, as a server does
    log = get_logger("server")
    for seq in range(500):
        log.info("parent-boot", seq=seq)  # still queued when the workers fork
    stop = threading.Event()

    def busy():  # under load: the parent keeps logging while it forks (its locks may be held at fork)
        seq = 0
        while not stop.is_set():
            log.info("parent-busy", owner=0, seq=seq)
            seq += 1

    busy_thread = threading.Thread(target=busy, daemon=True)
    if mode == "under_load":
        busy_thread.start()
    pids = []
    for worker in range(workers):
        pid = os.fork()
        if pid == 0:
            wlog = get_logger("worker")
            wlog.bind(worker=worker)
            for seq in range(per_worker):
                wlog.info("worker", owner=worker, seq=seq, pid=os.getpid())
            sys.exit(0)  # a normal worker exit: the drain at exit sends the rest
        pids.append(pid)
    deadline = time.monotonic() + 50
    statuses = []
    for pid in pids:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                statuses.append(os.waitstatus_to_exitcode(status))
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                statuses.append("hung")
                break
            time.sleep(0.01)
    stop.set()
    if mode == "under_load":
        busy_thread.join()
    result = log.drain(30)
    print(statuses, pids, result.submitted, result.processed, result.dropped, file=sys.stderr)
"""


@pytest.mark.parametrize("mode", ["quiet", "under_load"])
def test_prefork_workers_each_log_once_and_never_resend_the_parents_queue(
    tmp_path: Path, mode: str, figures: Figures
) -> None:
    """Gunicorn-style: the parent configures and logs, forks workers (with threads logging in the parent, too);
    each worker's records arrive exactly once with its own pid, the parent's queued records exactly once."""
    path = tmp_path / "out.jsonl"
    proc = python(FORK_CHILD, str(path), str(PREFORK_WORKERS), str(PREFORK_RECORDS_PER_WORKER), mode)
    err = finish(proc)
    assert proc.returncode == 0, err
    summary = err.strip().splitlines()[-1]
    assert summary.startswith("[" + ", ".join(["0"] * PREFORK_WORKERS) + "]"), err  # every worker exited cleanly
    parent_submitted, parent_processed, parent_dropped = (int(x) for x in summary.rsplit(" ", 3)[1:])
    assert parent_submitted == parent_processed
    assert parent_dropped == 0
    records = lines(path)
    boot = [r["data"]["seq"] for r in records if r["message"] == "parent-boot"]
    assert boot == list(range(500))  # written once, by the parent: no worker re-sent the inherited queue
    counts = Counter(r["data"]["owner"] for r in records if r["message"] == "worker")
    assert counts == dict.fromkeys(range(PREFORK_WORKERS), PREFORK_RECORDS_PER_WORKER)
    check_prefixes(records, "worker", PREFORK_WORKERS)
    pids: dict[int, set[tuple[int, int, int]]] = {
        r["data"]["owner"]: set() for r in records if r["message"] == "worker"
    }
    for r in records:
        if r["message"] == "worker":
            pids[r["data"]["owner"]].add((r["data"]["pid"], r["diagnostics"]["pid"], r["context"]["worker"]))
    for owner, seen in pids.items():
        ((pid, resource_pid, bound),) = seen  # one process per worker, its own pid in the resource too
        assert pid == resource_pid
        assert bound == owner
    assert len({next(iter(s))[0] for s in pids.values()}) == PREFORK_WORKERS
    busy = check_prefixes(records, "parent-busy", 1)
    assert parent_processed == 500 + busy
    figures.add(f"prefork.{mode}.worker_records", sum(counts.values()))
    figures.add("prefork_workers", len(counts))
