"""Machine instructions per record in the steady sync loop, counted by valgrind's cachegrind.

Unlike a rate, an instruction count does not move with the machine's load, so it shows what a change to the
code did when timings on a shared machine cannot. Each workload of the suite's steady sync loop runs twice
under ``valgrind --tool=cachegrind`` (SMALL and LARGE records); the difference in instructions divided by
LARGE - SMALL is what one record costs end to end, start-up excluded. It does not count time in the kernel
(system calls such as a write per record) or waiting. Needs valgrind (``apt-get install valgrind``); takes
about a minute per row.

    .venv/bin/python benchmarks/instructions.py
    .venv/bin/python benchmarks/instructions.py --only ours-defaults,structlog-orjson
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _jobs import Sizes, jobs_for
from _runner import WORKLOADS, child_env, peers_python, snapshot_ours

SMALL, LARGE = 10_000, 30_000
DEFAULT_ROWS = "ours-defaults,ours-default,structlog-default,structlog-orjson"
_REFS = re.compile(rb"I\s+refs:\s+([\d,]+)")


def _instructions(python: Path, script: Path, n: int, variant: str, workdir: Path, path: Path | None) -> int:
    command = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        str(python),
        str(script),
        *("--scenario", "sync", "--n", str(n), "--variant", variant),
        *("--out", str(workdir / "out.log"), "--result", str(workdir / "result.json")),
    ]
    done = subprocess.run(command, check=False, capture_output=True, cwd=workdir, env=child_env(path))
    found = _REFS.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"{script.name} {variant!r} failed: {done.stderr.decode(errors='replace')[-1500:]}")
    return int(found.group(1).replace(b",", b""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--only", default=DEFAULT_ROWS, help=f"comma-separated rows (default {DEFAULT_ROWS})")
    wanted = parser.parse_args().only.split(",")
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    jobs = {f"{j.library}-{j.variant or 'default'}": j for j in jobs_for(Sizes.full(), {"sync"})}
    unknown = [row for row in wanted if row not in jobs]
    if unknown:
        sys.exit(f"unknown rows {unknown}; known: {', '.join(jobs)}")
    with tempfile.TemporaryDirectory(prefix="fapilog-instructions-") as tmp:
        workdir = Path(tmp)
        ours = snapshot_ours(workdir)
        print("| Library | Instructions per record |\n|---|--:|")
        for row in wanted:
            job = jobs[row]
            python, path = (Path(sys.executable), ours) if job.ours else (peers_python(), None)
            script = WORKLOADS / f"w_{job.library}.py"
            counts = [_instructions(python, script, n, job.variant, workdir, path) for n in (SMALL, LARGE)]
            print(f"| {job.label} | {(counts[1] - counts[0]) / (LARGE - SMALL):,.0f} |", flush=True)


if __name__ == "__main__":
    main()
