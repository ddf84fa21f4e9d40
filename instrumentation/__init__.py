"""fapilog's integrations with frameworks and with OpenTelemetry's own tooling, one module per integration."""

__all__: list[str] = []
