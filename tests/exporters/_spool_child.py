"""A process for the spool's kill tests: ``python -m tests.exporters._spool_child <mode> <base> <out> <fsync>``.

``kill``: log forever through a spooled pipeline whose sink hangs in its third batch, printing
``logged next_seq synced_seq`` every 100 records (the parent kills it with SIGKILL). ``restart``: open the same
spool with a working sink, drain, and print the drain result and spool stats as JSON.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

from fapilog import Settings, configure, get_logger
from tests.exporters._spool_sink import FileSink

BATCH = 50


def main() -> None:
    mode, base, out, fsync = sys.argv[1:5]
    settings = Settings(
        core={"batch_timeout_seconds": 0.005, "max_queue_size": 100_000, "backpressure_policy": "block"},
        spool={"enabled": True, "directory": base, "fsync": fsync, "fsync_interval_ms": 20, "batch_size": BATCH},
    )
    hang = {"hang_after": 3, "hung": Path(out + ".hung")} if mode == "kill" else {}
    sink = FileSink(Path(out), **hang)  # type: ignore[arg-type]
    pipeline = configure(settings, sinks=[sink])
    spool_exporter = pipeline.spools[0]
    if mode == "restart":
        result = pipeline.drain(30)
        spool = spool_exporter.stats()
        print(json.dumps({"drain": dataclasses.asdict(result), "spool": dataclasses.asdict(spool)}), flush=True)
        return
    a, b = get_logger("a"), get_logger("b")
    i = 0
    while True:
        (a if i % 2 == 0 else b).info("tick", seq=i)
        i += 1
        if i % 100 == 0:
            stats = spool_exporter.stats()
            print(i, stats.next_seq, stats.synced_seq, flush=True)
            if i >= 200_000:
                time.sleep(3600)


if __name__ == "__main__":
    main()
