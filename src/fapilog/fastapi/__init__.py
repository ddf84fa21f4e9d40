"""``fapilog.fastapi``: the FastAPI integration under the import path of fapilog's docs.

The code lives in ``fapilog.instrumentation.fastapi``; this package re-exports it, with the middlewares also
at ``fapilog.fastapi.context`` and ``fapilog.fastapi.logging``.
"""

from fapilog.instrumentation.fastapi import (
    AppLogging,
    ContextOptions,
    LoggingMiddleware,
    LoggingOptions,
    RequestContextMiddleware,
    RequestLogger,
    get_request_logger,
    setup_logging,
)

__all__ = [
    "AppLogging",
    "ContextOptions",
    "LoggingMiddleware",
    "LoggingOptions",
    "RequestContextMiddleware",
    "RequestLogger",
    "get_request_logger",
    "setup_logging",
]
