"""``LoggingMiddleware`` at the import path of fapilog's docs (``fapilog.fastapi.logging``)."""

from fapilog.instrumentation.fastapi import LoggingMiddleware

__all__ = ["LoggingMiddleware"]
