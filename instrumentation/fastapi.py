"""FastAPI integration: request context, access logs, a request logger, OpenTelemetry correlation.

``FastAPI(lifespan=setup_logging())`` is all it takes; ``RequestContextMiddleware`` and ``LoggingMiddleware``
are there for manual control, and ``get_request_logger`` is the dependency that hands a handler its logger.
Needs ``pip install "fapilog[fastapi]"``. See docs/fastapi.md.
"""

from fapilog._optional import require

require("fastapi", extra="fastapi", feature="fapilog.fastapi")

from fapilog.instrumentation._fastapi_context import RequestContextMiddleware  # noqa: E402
from fapilog.instrumentation._fastapi_lifespan import get_request_logger, setup_logging  # noqa: E402
from fapilog.instrumentation._fastapi_logger import RequestLogger  # noqa: E402
from fapilog.instrumentation._fastapi_logging import LoggingMiddleware  # noqa: E402
from fapilog.instrumentation._fastapi_state import AppLogging, ContextOptions, LoggingOptions  # noqa: E402

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
