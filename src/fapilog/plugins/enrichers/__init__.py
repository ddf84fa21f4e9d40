"""Enrichers with fapilog 0.18's import paths (``fapilog.plugins.enrichers.runtime_info``, ...)."""

from fapilog.processors import ContextVarsEnricher, KubernetesEnricher, RuntimeInfoEnricher

__all__ = ["ContextVarsEnricher", "KubernetesEnricher", "RuntimeInfoEnricher"]
