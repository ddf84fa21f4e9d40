"""``from fapilog.plugins.enrichers.runtime_info import RuntimeInfoEnricher``, as fapilog 0.18 documents it."""

from fapilog.processors import RuntimeInfoEnricher

__all__ = ["RuntimeInfoEnricher"]
