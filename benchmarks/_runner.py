"""Runs workloads in child processes: ours with this interpreter, the peers from their own virtual env."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _jobs import OURS, Job

HERE = Path(__file__).resolve().parent
WORKLOADS = HERE / "_workloads"
PEERS_VENV = HERE / ".venv-peers"
REQUIREMENTS = HERE / "requirements-peers.txt"
CHILD_TIMEOUT = 900.0
_CLEARED_PREFIXES = ("FAPILOG_", "OTEL_", "LOGURU_", "STRUCTLOG_")


def peers_python() -> Path:
    """The peers' interpreter, creating ``.venv-peers`` (or reinstalling it when the pins changed)."""
    python = PEERS_VENV / "bin" / "python"
    stamp = PEERS_VENV / "requirements.installed"
    wanted = REQUIREMENTS.read_text(encoding="utf-8")
    if python.exists() and stamp.exists() and stamp.read_text(encoding="utf-8") == wanted:
        return python
    print(f"Setting up the peers' virtual environment in {PEERS_VENV} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(PEERS_VENV)], check=True)
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "install", "--quiet"]
    subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
    stamp.write_text(wanted, encoding="utf-8")
    return python


@dataclass(frozen=True, slots=True)
class Setup:
    pythons: dict[str, Path]  # venv name -> interpreter
    workdir: Path  # the children's working directory, log files and results
    ours_snapshot: Path  # a directory holding a copy of our package, put first on our children's path
    keep_logs: bool = False


def snapshot_ours(workdir: Path) -> Path:
    """Copy our package as it is now, so that edits to the work tree during a run cannot mix versions."""
    spec = importlib.util.find_spec("fapilog")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("fapilog is not importable from this interpreter")
    package = Path(next(iter(spec.submodule_search_locations)))
    target = workdir / "ours-snapshot"
    shutil.copytree(package, target / "fapilog", ignore=shutil.ignore_patterns("__pycache__"))
    return target


def child_env(python_path: Path | None = None) -> dict[str, str]:
    """This environment without the variables that would configure a library or shadow its imports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CLEARED_PREFIXES) and k != "PYTHONPATH"}
    if python_path is not None:
        env["PYTHONPATH"] = str(python_path)
    return env


def count_delivered(path: Path, marker: bytes = b"request handled") -> int:
    """Lines of ``path`` that carry one of the workload's records."""
    if not path.exists():
        return 0
    with path.open("rb") as f:
        return sum(1 for line in f if marker in line)


def run_job(job: Job, setup: Setup) -> dict[str, Any]:
    """Run one job in its own process; its result plus what the parent measured (delivered, rate)."""
    workdir = setup.workdir
    out = workdir / f"{job.key}.log"
    result_file = workdir / f"{job.key}.json"
    console = workdir / f"{job.key}.console"
    command = [
        str(setup.pythons[job.venv]),
        str(WORKLOADS / f"w_{job.library}.py"),
        *("--scenario", job.scenario, "--n", str(job.n), "--variant", job.variant),
        *("--out", str(out), "--result", str(result_file)),
    ]
    row: dict[str, Any] = {
        "key": job.key,
        "scenario": job.scenario,
        "library": job.library,
        "variant": job.variant,
        "label": job.label,
        "group": job.group,
        "ours": job.venv == OURS,
        "n": job.n,
    }
    env = child_env(setup.ours_snapshot if job.venv == OURS else None)
    started = time.perf_counter()
    try:
        with console.open("wb") as sink:
            proc = subprocess.run(
                command,
                check=False,
                stdout=sink,
                stderr=subprocess.STDOUT,
                cwd=workdir,
                env=env,
                timeout=CHILD_TIMEOUT,
            )
        failed = proc.returncode != 0 or not result_file.exists()
        error = f"exit code {proc.returncode}" if failed else None
    except subprocess.TimeoutExpired:
        error = f"timed out after {CHILD_TIMEOUT:.0f} s"
    row["wall_seconds"] = time.perf_counter() - started
    if error is not None:
        tail = console.read_text(encoding="utf-8", errors="replace")[-2000:] if console.exists() else ""
        row["error"] = f"{error}: {tail.strip()}"
        return row
    row.update(json.loads(result_file.read_text(encoding="utf-8")))
    if job.scenario != "stalled":
        delivered = count_delivered(out)
        row["delivered"] = delivered
        row["lost"] = job.n - delivered
        row["rate_per_s"] = delivered / row["e2e_seconds"] if row["e2e_seconds"] > 0 else 0.0
    if not setup.keep_logs:
        out.unlink(missing_ok=True)
    return row


_MEDIAN_FIELDS = ("median_us", "p99_us", "p999_us", "max_us", "mean_us", "calls_seconds", "e2e_seconds", "rate_per_s")


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One row from repeated runs of a job: the median of each timing, the worst of losses and memory.

    ``runs`` keeps each run's rate, caller median and losses, so the spread is visible in latest.json.
    """
    good = [r for r in runs if "error" not in r]
    if not good:
        return runs[0]
    row = dict(good[0])
    for field in _MEDIAN_FIELDS:
        if field in row:
            row[field] = statistics.median(r[field] for r in good)
    for field in ("lost", "rss_peak_kib"):
        if field in row:
            row[field] = max(r[field] for r in good)
    if "delivered" in row:
        row["delivered"] = min(r["delivered"] for r in good)
    row["runs"] = [
        {k: r.get(k) for k in ("median_us", "p99_us", "rate_per_s", "lost", "error") if k in r} for r in runs
    ]
    row["failed_runs"] = len(runs) - len(good)
    return row
