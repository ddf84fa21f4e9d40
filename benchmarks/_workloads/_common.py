"""What every workload script shares: its arguments, the timed loops, and the JSON result it writes.

A workload script configures one library and hands ``main`` a builder; ``main`` runs the scenario's loop,
timing each call with ``perf_counter_ns``, then closes the library (which must deliver every record to its
file before it returns) and writes one JSON object to the ``--result`` file. The parent counts the lines
of the ``--out`` file itself. Scripts run under both virtual environments, so this module uses only the
standard library.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import inspect
import json
import math
import os
import resource
import sys
import time
from array import array
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import IO, Any

MESSAGE = "request handled"
PATH = "/api/items"
SLOW_WRITE_SECONDS = 0.003
SCENARIOS = ("sync", "async", "burst", "slow_sink", "stalled")

Reported = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Args:
    scenario: str
    n: int
    out: str  # the file the library logs to
    result: str  # where this script writes its JSON result
    variant: str  # a library-specific configuration ("" = the library's plain setup)


@dataclass(slots=True)
class Bench:
    """A configured library: ``call(i)`` logs record ``i``; ``close()`` delivers everything and reports.

    In the async scenario ``call`` may return an awaitable (the library's async API) and ``close`` may be
    a coroutine function. ``hard_exit`` skips the interpreter's shutdown (for a sink that never returns).
    """

    call: Callable[[int], Any]
    close: Callable[[], Any]
    hard_exit: bool = False


Builder = Callable[[Args], Bench]
AsyncBuilder = Callable[[Args], Awaitable[Bench]]


def parse_args() -> Args:
    parser = argparse.ArgumentParser(description="One library, one scenario; writes one JSON result.")
    parser.add_argument("--scenario", choices=SCENARIOS, required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--result", required=True)
    parser.add_argument("--variant", default="")
    ns = parser.parse_args()
    return Args(ns.scenario, ns.n, ns.out, ns.result, ns.variant)


def peak_rss_kib() -> int:
    """The process's peak resident set size so far, in KiB (Linux reports ``ru_maxrss`` in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def current_rss_kib() -> int:
    """The process's resident set size now, in KiB (the peak so far where /proc is missing)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            pages = int(f.read().split()[1])
    except OSError:
        return peak_rss_kib()
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def versions(*dists: str) -> dict[str, str]:
    found = {"python": sys.version.split()[0]}
    for dist in dists:
        try:
            found[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            found[dist] = "not installed"
    return found


def redirect_stdout(path: str) -> None:
    """Point file descriptor 1 (and so ``sys.stdout``) at ``path``, for libraries that log to stdout."""
    sys.stdout.flush()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.close(fd)


class SlowSeedSink:
    """A sink with the seed's contract (``start``/``write(entry)``/``stop``) whose every write takes 3 ms.

    Each entry is then written to ``path`` as one JSON line (flushed at once, so the line count is right
    even if the library never calls ``stop``).
    """

    name = "slow_seed_sink"

    def __init__(self, path: str) -> None:
        self._path = path
        self._file: IO[str] | None = None

    async def start(self) -> None:
        if self._file is None:
            self._file = open(self._path, "w", encoding="utf-8")  # noqa: SIM115 - closed in stop()

    async def write(self, entry: dict[str, Any]) -> None:
        await asyncio.sleep(SLOW_WRITE_SECONDS)
        if self._file is None:
            await self.start()
        assert self._file is not None
        self._file.write(json.dumps(entry, default=str) + "\n")
        self._file.flush()

    async def stop(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _timed_sync(call: Callable[[int], Any], n: int, latencies: array[int]) -> None:
    clock = time.perf_counter_ns
    for i in range(n):
        t0 = clock()
        call(i)
        latencies[i] = clock() - t0


async def _timed_async(call: Callable[[int], Any], n: int, latencies: array[int]) -> None:
    clock = time.perf_counter_ns
    if inspect.iscoroutinefunction(call):
        for i in range(n):
            t0 = clock()
            await call(i)
            latencies[i] = clock() - t0
    else:
        _timed_sync(call, n, latencies)


def _summary(latencies: array[int]) -> dict[str, float]:
    ordered = sorted(latencies)
    n = len(ordered)

    def rank(q: float) -> float:  # nearest-rank percentile, in microseconds
        return ordered[max(0, math.ceil(q * n) - 1)] / 1000

    return {
        "median_us": rank(0.5),
        "p99_us": rank(0.99),
        "p999_us": rank(0.999),
        "max_us": ordered[-1] / 1000,
        "mean_us": sum(ordered) / n / 1000,
    }


def _result(
    args: Args, latencies: array[int], times: tuple[int, int, int], rss: tuple[int, int], reported: Any
) -> dict[str, Any]:
    start, calls_done, closed = times
    return {
        "scenario": args.scenario,
        "variant": args.variant,
        "n": args.n,
        **_summary(latencies),
        "calls_seconds": (calls_done - start) / 1e9,
        "e2e_seconds": (closed - start) / 1e9,
        "rss_before_kib": rss[0],
        "rss_peak_kib": rss[1],
        "reported": reported if isinstance(reported, dict) else {},
    }


def _finish(args: Args, result: dict[str, Any], library: dict[str, str], hard_exit: bool) -> None:
    result["versions"] = library
    with open(args.result, "w", encoding="utf-8") as f:
        json.dump(result, f)
    if hard_exit:  # the sink never returns: do not wait for it at interpreter exit
        os._exit(0)


def _run_sync(args: Args, build: Builder) -> tuple[Bench, dict[str, Any]]:
    latencies = array("q", [0]) * args.n  # allocated before the baseline, so it is not counted
    bench = build(args)
    before = current_rss_kib()
    clock = time.perf_counter_ns
    start = clock()
    _timed_sync(bench.call, args.n, latencies)
    calls_done = clock()
    reported = bench.close()
    closed = clock()
    rss = (before, peak_rss_kib())
    return bench, _result(args, latencies, (start, calls_done, closed), rss, reported)


async def _run_async(args: Args, build: AsyncBuilder) -> tuple[Bench, dict[str, Any]]:
    latencies = array("q", [0]) * args.n
    bench = await build(args)
    before = current_rss_kib()
    clock = time.perf_counter_ns
    start = clock()
    await _timed_async(bench.call, args.n, latencies)
    calls_done = clock()
    reported = bench.close()
    if inspect.isawaitable(reported):
        reported = await reported
    closed = clock()
    rss = (before, peak_rss_kib())
    return bench, _result(args, latencies, (start, calls_done, closed), rss, reported)


def main(build: Builder, library: dict[str, str], build_async: AsyncBuilder | None = None) -> None:
    """Run the scenario named on the command line with the library ``build`` configures."""
    args = parse_args()
    if args.scenario == "async":

        async def plain(a: Args) -> Bench:  # libraries without an async API: plain calls in the loop
            return build(a)

        bench, result = asyncio.run(_run_async(args, build_async or plain))
    else:
        bench, result = _run_sync(args, build)
    _finish(args, result, library, bench.hard_exit)
