"""The cost of each part of fapilog, in one process and one run, printed as markdown tables.

Run with the project's interpreter (the one fapilog is installed in)::

    python benchmarks/components.py            # the full run (about 4 minutes)
    python benchmarks/components.py --quick    # a smoke run (under a minute)

Groups: 1. each built-in stage alone (µs per record) and the stages end to end into a file; 2. the Loki
encoder; 3. CloudWatch Logs into moto's server; 4. PostgreSQL into the seed's indexed schema (skipped with a
note when the server does not answer); 5. the rotating file; 6. the disk spool against the in-memory queue.
Every measurement is warmed up first and is the median of 3 runs, interleaved with the other measurements of
its group. The tables are printed and written to ``benchmarks/results/components.md``.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import importlib.util
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

from _components_common import Sizes, Table, clean_environment
from _runner import HERE
from run import _commit, _machine

GROUPS = ("stages", "loki", "cloudwatch", "postgres", "files", "spool")


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--only", help="comma-separated groups: " + ",".join(GROUPS))
    parser.add_argument("--out", type=Path, default=HERE / "results" / "components.md", help="the markdown file")
    return parser.parse_args()


def _groups(only: set[str] | None) -> list[tuple[str, Callable[[Sizes], Table]]]:
    # Imported here, after the environment is cleaned: they import fapilog.
    from _components_pg import postgres
    from _components_sinks import cloudwatch, loki_encoder, rotating_files
    from _components_spool import spool_costs
    from _components_stages import pipeline_costs, stage_costs

    chosen = [
        ("stages", stage_costs),
        ("stages", pipeline_costs),
        ("loki", loki_encoder),
        ("cloudwatch", cloudwatch),
        ("postgres", postgres),
        ("files", rotating_files),
        ("spool", spool_costs),
    ]
    return [(group, measure) for group, measure in chosen if only is None or group in only]


def main() -> None:
    args = _parse()
    if importlib.util.find_spec("fapilog") is None:
        sys.exit("fapilog is not importable here: run with the project's venv, e.g. .venv/bin/python " + __file__)
    only = set(args.only.split(",")) if args.only else None
    unknown = (only or set()) - set(GROUPS)
    if unknown:
        sys.exit(f"unknown group(s) {', '.join(sorted(unknown))}; known: {', '.join(GROUPS)}")
    clean_environment()
    sizes = Sizes.quick() if args.quick else Sizes.full()
    started = time.perf_counter()
    tables: list[Table] = []
    for group, measure in _groups(only):
        print(f"[{group}] {measure.__name__} ...", end=" ", flush=True)
        begun = time.perf_counter()
        tables.append(measure(sizes))
        print(f"{time.perf_counter() - begun:.1f} s", flush=True)
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = [
        "# fapilog components: latest run",
        "",
        f"Run {date} on {_machine()}; Python {platform.python_version()}; fapilog "
        f"{importlib.metadata.version('fapilog')} at commit {_commit()}; "
        f"{'quick' if args.quick else 'full'} sizes, median of {sizes.repeats} runs; "
        f"{time.perf_counter() - started:.0f} s in all.",
    ]
    text = "\n\n".join(["\n".join(header), *(t.markdown() for t in tables)]) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print()
    print(text)
    print(f"Written: {args.out}")


if __name__ == "__main__":
    main()
