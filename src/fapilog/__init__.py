"""fapilog: OpenTelemetry-native structured logging. Your sinks can be slow; your app shouldn't be."""

from fapilog import sinks
from fapilog._api import (
    clear_logger_cache,
    configure,
    get_async_logger,
    get_cached_loggers,
    get_logger,
    runtime,
    runtime_async,
)
from fapilog._builder import AsyncLoggerBuilder, LoggerBuilder
from fapilog._context import create_task_with_context, preserve_context, run_in_executor_with_context
from fapilog._drain import DrainResult, PipelineStats
from fapilog._event import LogEvent
from fapilog._facade import AsyncLoggerFacade, SyncLoggerFacade
from fapilog._levels import register_level
from fapilog._presets import describe_preset, list_presets
from fapilog._settings import Settings, SettingsError
from fapilog._shutdown import install_shutdown_handlers
from fapilog._version import __version__

__all__ = [
    "AsyncLoggerBuilder",
    "AsyncLoggerFacade",
    "DrainResult",
    "LogEvent",
    "LoggerBuilder",
    "PipelineStats",
    "Settings",
    "SettingsError",
    "SyncLoggerFacade",
    "__version__",
    "clear_logger_cache",
    "configure",
    "create_task_with_context",
    "describe_preset",
    "get_async_logger",
    "get_cached_loggers",
    "get_logger",
    "install_shutdown_handlers",
    "list_presets",
    "preserve_context",
    "register_level",
    "run_in_executor_with_context",
    "runtime",
    "runtime_async",
    "sinks",
]
