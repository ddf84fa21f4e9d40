"""fapilog's exporters, one module per destination. Each is an OpenTelemetry ``LogRecordExporter``.

Network exporters import their client libraries (httpx, cramjam) only when they are used.
"""

from fapilog.exporters.cloudwatch import CloudWatchExporter
from fapilog.exporters.file import RotatingFileExporter
from fapilog.exporters.http import HttpExporter, WebhookExporter
from fapilog.exporters.loki import LokiExporter
from fapilog.exporters.postgres import PostgresExporter
from fapilog.exporters.stdout import StdoutJsonExporter, StdoutPrettyExporter

__all__ = [
    "CloudWatchExporter",
    "HttpExporter",
    "LokiExporter",
    "PostgresExporter",
    "RotatingFileExporter",
    "StdoutJsonExporter",
    "StdoutPrettyExporter",
    "WebhookExporter",
]
