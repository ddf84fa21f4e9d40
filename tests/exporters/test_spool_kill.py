"""The spool across real processes: SIGKILL mid-stream, restart, nothing durable lost, duplicates counted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.exporters._spool_child import BATCH
from tests.exporters._spool_sink import delivered
from tests.test_docs import clean_env

ROOT = Path(__file__).resolve().parents[2]


def _child(mode: str, base: Path, out: Path, fsync: str) -> list[str]:
    return [sys.executable, "-m", "tests.exporters._spool_child", mode, str(base), str(out), fsync]


@pytest.mark.parametrize("fsync", ["batch", "interval", "never"])
def test_sigkill_mid_stream_then_restart_loses_at_most_the_unsynced_window(fsync: str, tmp_path: Path) -> None:
    """Killed with SIGKILL while logging and mid-delivery, a restarted process delivers every record the spool
    had synced, in order per logger; the loss is within the window the policy allows; duplicates are exactly
    the batch that was in flight, and counted."""
    base, out = tmp_path / "spool", tmp_path / "out.jsonl"
    hung = Path(str(out) + ".hung")
    proc = subprocess.Popen(
        _child("kill", base, out, fsync), cwd=ROOT, env=clean_env(), stdout=subprocess.PIPE, text=True
    )
    reports: list[tuple[int, int, int]] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        for line in proc.stdout:
            logged, next_seq, synced = map(int, line.split())
            reports.append((logged, next_seq, synced))
            if logged >= 5_000 and hung.exists() and synced > 0:
                break
            assert time.monotonic() < deadline, "the child never got going"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    before = delivered(out)
    assert len(before) > 0  # the sink took two batches and was stuck in the third
    logged, _next_seq, synced = reports[-1]
    if fsync == "batch":  # the policy's window on disk is empty: whatever the spool took was synced
        assert all(n == s for _, n, s in reports)

    restart = subprocess.run(
        _child("restart", base, out, fsync),
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert restart.returncode == 0, restart.stderr
    stats = json.loads(restart.stdout.splitlines()[-1])
    records = delivered(out)
    seqs = [seq for _, seq in records]
    unique = set(seqs)
    # Every record the spool reported synced before the kill came through.
    assert set(range(synced)) <= unique
    # What was lost is only what the spool had not taken (in memory) or not synced when killed.
    lost = [s for s in range(logged) if s not in unique]
    assert len(lost) <= logged - synced
    assert all(s >= synced for s in lost)
    # Duplicates: exactly the batch handed to the sink and never acknowledged; the spool counted them.
    duplicates = len(seqs) - len(unique)
    assert 0 < duplicates <= BATCH
    assert stats["spool"]["duplicates"] == duplicates
    assert stats["drain"]["duplicates"] == duplicates
    assert stats["spool"]["replayed"] >= len(unique) - len(before)
    assert stats["spool"]["pending"] == 0
    # In order per logger (first deliveries).
    for name in ("a", "b"):
        firsts: list[int] = []
        seen: set[int] = set()
        for logger, seq in records:
            if logger == name and seq not in seen:
                seen.add(seq)
                firsts.append(seq)
        assert firsts == sorted(firsts)
        assert all(seq % 2 == (0 if name == "a" else 1) for seq in firsts)
