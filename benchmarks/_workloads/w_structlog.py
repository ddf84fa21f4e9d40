# mypy: ignore-errors
"""Workload: structlog, rendering JSON to a file.

Variants: "" (``JSONRenderer()`` with the standard ``json`` module, ``WriteLoggerFactory``) and "orjson"
(``JSONRenderer(serializer=orjson.dumps)`` with ``BytesLoggerFactory``, structlog's own advice for speed).
The 3 ms sink scenario adds a processor that sleeps 3 ms per record. Plain calls in the async scenario
(structlog's ``ainfo`` hands every call to a thread pool, which is not the non-blocking path it is for).
"""

from __future__ import annotations

import logging
import time

import _common as c
import orjson
import structlog


def _slow(_logger, _name, event_dict):
    time.sleep(c.SLOW_WRITE_SECONDS)
    return event_dict


def build(args):
    fast = args.variant == "orjson"
    file = open(args.out, "wb" if fast else "w")  # noqa: SIM115 - closed by close()
    processors = [structlog.processors.add_log_level, structlog.processors.TimeStamper(fmt="iso", utc=True)]
    if args.scenario == "slow_sink":
        processors.append(_slow)
    if fast:
        processors.append(structlog.processors.JSONRenderer(serializer=orjson.dumps))
        factory = structlog.BytesLoggerFactory(file=file)
    else:
        processors.append(structlog.processors.JSONRenderer())
        factory = structlog.WriteLoggerFactory(file=file)
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )
    log = structlog.get_logger("bench")

    def call(i):
        log.info(c.MESSAGE, user_id=i, path=c.PATH, status=200, duration_ms=12.5)

    def close():
        file.close()
        return {}

    return c.Bench(call, close)


if __name__ == "__main__":
    c.main(build, c.versions("structlog", "orjson"))
