"""``from fapilog.plugins.enrichers.context_vars import ContextVarsEnricher``, as fapilog 0.18 documents it."""

from fapilog.processors import ContextVarsEnricher

__all__ = ["ContextVarsEnricher"]
