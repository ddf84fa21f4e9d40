"""Compatibility package: ``fapilog.core.settings`` as fapilog 0.18 documents it."""

__all__: list[str] = []
