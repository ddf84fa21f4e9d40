"""fapilog's exporters, one module per destination. Each is an OpenTelemetry ``LogRecordExporter``."""

from fapilog.exporters.file import RotatingFileExporter
from fapilog.exporters.stdout import StdoutJsonExporter, StdoutPrettyExporter

__all__ = ["RotatingFileExporter", "StdoutJsonExporter", "StdoutPrettyExporter"]
