"""``from fapilog.core.settings import Settings``, as fapilog 0.18 documents it."""

from fapilog._settings import CoreSettings, Settings, SettingsError

__all__ = ["CoreSettings", "Settings", "SettingsError"]
