# mypy: ignore-errors
"""Workload: loguru with ``serialize=True`` to a file.

Variants: "" (writes on the caller's thread) and "enqueue" (``enqueue=True``: a queue and a writer thread,
loguru's non-blocking mode). The 3 ms sink scenario uses a function sink that sleeps 3 ms per message.
"""

from __future__ import annotations

import time

import _common as c
from loguru import logger


def build(args):
    enqueue = args.variant == "enqueue"
    logger.remove()
    file = None
    if args.scenario == "slow_sink":
        file = open(args.out, "w", encoding="utf-8")  # noqa: SIM115 - closed by close()

        def sink(message):
            time.sleep(c.SLOW_WRITE_SECONDS)
            file.write(message)

        logger.add(sink, serialize=True, level="INFO", enqueue=enqueue)
    else:
        logger.add(args.out, serialize=True, level="INFO", enqueue=enqueue, mode="w")

    def call(i):
        logger.info(c.MESSAGE, user_id=i, path=c.PATH, status=200, duration_ms=12.5)

    def close():
        logger.complete()
        logger.remove()  # stops the writer thread (enqueue) and closes the file
        if file is not None:
            file.close()
        return {}

    return c.Bench(call, close)


if __name__ == "__main__":
    c.main(build, c.versions("loguru"))
