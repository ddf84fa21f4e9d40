"""Side-by-side benchmarks: fapilog against its peers, each library in its own process.

Run with the project's interpreter (the one fapilog is installed in, e.g. ``.venv/bin/python``)::

    python benchmarks/run.py            # the full run (a few minutes)
    python benchmarks/run.py --quick    # a smoke run (under two minutes)

The peers (fapilog 0.18.1 from PyPI, structlog, loguru, the OpenTelemetry SDK, matplotlib for the chart)
live in ``benchmarks/.venv-peers``, created on first use from ``requirements-peers.txt``. Children run one at
a time. Results: ``benchmarks/results/latest.{md,json,png}``; the tables and target verdicts are printed.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _report
import _targets
from _jobs import OURS, PEERS, REPEATED, SCENARIOS, Job, Sizes, jobs_for
from _runner import HERE, Setup, combine, peers_python, run_job, snapshot_ours


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--n", type=int, help="records in the steady sync and asyncio loops (default 100,000)")
    parser.add_argument("--repeat", type=int, help="runs of each sync, async and burst job (default 3; quick: 1)")
    parser.add_argument("--only", help="comma-separated scenarios: " + ",".join(s.name for s in SCENARIOS))
    parser.add_argument("--out-dir", type=Path, default=HERE / "results", help="where latest.* are written")
    parser.add_argument("--keep-logs", action="store_true", help="keep the children's log files and print where")
    return parser.parse_args()


def _check_ours() -> str:
    if importlib.util.find_spec("fapilog") is None:
        sys.exit("fapilog is not importable here: run with the project's venv, e.g. .venv/bin/python benchmarks/run.py")
    version = importlib.metadata.version("fapilog")
    if version == "0.18.1":
        sys.exit("this interpreter has PyPI's fapilog 0.18.1: run with the project's venv python")
    return version


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    memory = ""
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            kib = int(f.readline().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{memory}, {platform.system()} {platform.release()}"


def _commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], check=False, capture_output=True, text=True, cwd=HERE
        )
        dirty = subprocess.run(["git", "status", "--porcelain"], check=False, capture_output=True, text=True, cwd=HERE)
    except OSError:
        return "unknown"
    return head.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def _versions(rows: list[dict[str, Any]], ours: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for row in rows:
        for dist, version in row.get("versions", {}).items():
            if dist == "imported_from":  # where our child found fapilog: the run's snapshot
                continue
            name = dist
            if dist == "fapilog":
                name = "fapilog (ours)" if row["ours"] else "fapilog (PyPI)"
            found.setdefault(name, version)
    found["fapilog (ours)"] = ours
    return found


def _chart(python: Path, out_dir: Path) -> None:
    command = [str(python), str(HERE / "_chart.py"), str(out_dir / "latest.json"), str(out_dir / "latest.png")]
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"chart failed: {done.stderr.strip()[-1000:]}", file=sys.stderr)


def _run_all(jobs: list[Job], pythons: dict[str, Path], repeats: int, *, keep_logs: bool) -> list[dict[str, Any]]:
    """Every job, one child at a time; repeated jobs run round-robin so machine noise spreads over all."""
    plan = [(r, job) for r in range(repeats) for job in jobs if r == 0 or job.scenario in REPEATED]
    runs: dict[Job, list[dict[str, Any]]] = {job: [] for job in jobs}
    workdir = Path(tempfile.mkdtemp(prefix="fapilog-bench-"))
    try:
        setup = Setup(pythons, workdir, snapshot_ours(workdir), keep_logs)
        for i, (r, job) in enumerate(plan, 1):
            print(f"[{i:2d}/{len(plan)}] run {r + 1} {job.scenario:9s} {job.label} ...", end=" ", flush=True)
            row = run_job(job, setup)
            print("ERROR" if "error" in row else f"{row['wall_seconds']:.1f} s", flush=True)
            runs[job].append(row)
    finally:
        if keep_logs:
            print(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return [combine(runs[job]) for job in jobs]


def main() -> None:
    args = _parse()
    ours = _check_ours()
    sizes = Sizes.quick(args.n or 10_000) if args.quick else Sizes.full(args.n or 100_000)
    only = set(args.only.split(",")) if args.only else None
    unknown = (only or set()) - {s.name for s in SCENARIOS}
    if unknown:
        sys.exit(f"unknown scenario(s) {', '.join(sorted(unknown))}; known: {', '.join(s.name for s in SCENARIOS)}")
    repeats = max(1, args.repeat or (1 if args.quick else 3))
    pythons = {OURS: Path(sys.executable), PEERS: peers_python()}
    started = time.perf_counter()
    rows = _run_all(jobs_for(sizes, only), pythons, repeats, keep_logs=args.keep_logs)
    _report.add_ratios(rows)
    verdicts = _targets.targets(rows)
    meta = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": _machine(),
        "python": platform.python_version(),
        "commit": _commit(),
        "versions": _versions(rows, ours),
        "sizes": {"steady": sizes.steady, "burst": sizes.burst, "slow": sizes.slow, "stalled": sizes.stalled},
        "quick": args.quick,
        "repeats": repeats,
        "seconds": round(time.perf_counter() - started, 1),
    }
    text = _report.write(args.out_dir, meta, rows, verdicts)
    _chart(pythons[PEERS], args.out_dir)
    print()
    print(text)
    print(f"Written: {args.out_dir / 'latest.md'}, latest.json, latest.png ({meta['seconds']} s)")


if __name__ == "__main__":
    main()
