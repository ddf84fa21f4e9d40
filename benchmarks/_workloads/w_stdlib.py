"""Workload: the standard library's ``logging`` with a JSON formatter and a ``FileHandler``.

The record's fields go in ``extra``, the formatter writes every non-standard attribute as a JSON field.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

import _common as c

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: timestamp, level, logger, message, then the ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD:
                doc[key] = value
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


class SlowFileHandler(logging.FileHandler):
    """A ``FileHandler`` whose every write takes 3 ms first."""

    def emit(self, record: logging.LogRecord) -> None:
        time.sleep(c.SLOW_WRITE_SECONDS)
        super().emit(record)


def build(args: c.Args) -> c.Bench:
    handler_class = SlowFileHandler if args.scenario == "slow_sink" else logging.FileHandler
    handler = handler_class(args.out, mode="w", encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("bench")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False

    def call(i: int) -> None:
        log.info(c.MESSAGE, extra={"user_id": i, "path": c.PATH, "status": 200, "duration_ms": 12.5})

    def close() -> dict[str, Any]:
        handler.close()
        return {}

    return c.Bench(call, close)


if __name__ == "__main__":
    c.main(build, c.versions())
