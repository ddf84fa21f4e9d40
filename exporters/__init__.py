"""fapilog's exporters, one module per destination. Each is an OpenTelemetry ``LogRecordExporter``."""

from fapilog.exporters.stdout import StdoutJsonExporter, StdoutPrettyExporter

__all__ = ["StdoutJsonExporter", "StdoutPrettyExporter"]
