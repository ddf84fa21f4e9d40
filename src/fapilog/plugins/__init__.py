"""Extension points with fapilog 0.18's import paths (``fapilog.plugins.sinks``, ...)."""

__all__: list[str] = []
