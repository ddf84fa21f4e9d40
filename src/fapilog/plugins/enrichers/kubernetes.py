"""``from fapilog.plugins.enrichers.kubernetes import KubernetesEnricher``, as fapilog 0.18 documents it."""

from fapilog.processors import KubernetesEnricher

__all__ = ["KubernetesEnricher"]
