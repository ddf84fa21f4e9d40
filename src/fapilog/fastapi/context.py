"""``RequestContextMiddleware`` at the import path of fapilog's docs (``fapilog.fastapi.context``)."""

from fapilog.instrumentation.fastapi import RequestContextMiddleware

__all__ = ["RequestContextMiddleware"]
