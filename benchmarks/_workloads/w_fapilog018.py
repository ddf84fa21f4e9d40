# mypy: ignore-errors
"""Workload: fapilog 0.18.1 from PyPI (peers' virtual environment; it shares our import name).

Its default ``get_logger`` pipeline writes JSON lines to stdout, so the script points stdout at the log
file. In the steady scenarios its queue (10,000 records by default, dropping when full) is sized to hold the
whole run through its own environment variable, so that every record is delivered. The burst scenario uses
its "production" preset unchanged; the 3 ms sink scenario passes a seed-contract sink.
"""

from __future__ import annotations

import asyncio
import os

import _common as c

from fapilog import get_async_logger, get_logger


def _options(args):
    options = {}
    if args.scenario in ("sync", "async"):
        os.environ["FAPILOG_CORE__MAX_QUEUE_SIZE"] = str(args.n)
    if args.scenario == "burst":
        options["preset"] = "production"
    if args.scenario == "slow_sink":
        options["sinks"] = [c.SlowSeedSink(args.out)]
    else:
        c.redirect_stdout(args.out)
    return options


def _reported(result):
    reported = {"submitted": result.submitted, "processed": result.processed, "dropped": result.dropped}
    adaptive = result.adaptive  # the production preset's pressure handling: what it did during the run
    if adaptive is not None:
        reported["adaptive_peak_pressure"] = str(adaptive.peak_pressure_level.value)
        reported["adaptive_filters_swapped"] = adaptive.filters_swapped
        reported["adaptive_workers_scaled"] = adaptive.workers_scaled
    return reported


def build(args):
    log = get_logger("bench", **_options(args))

    def call(i):
        log.info(c.MESSAGE, user_id=i, path=c.PATH, status=200, duration_ms=12.5)

    def close():
        return _reported(asyncio.run(log.stop_and_drain()))

    return c.Bench(call, close)


async def build_async(args):
    log = await get_async_logger("bench", **_options(args))

    async def call(i):
        await log.info(c.MESSAGE, user_id=i, path=c.PATH, status=200, duration_ms=12.5)

    async def close():
        return _reported(await log.drain())

    return c.Bench(call, close)


if __name__ == "__main__":
    c.main(build, c.versions("fapilog"), build_async)
