"""Settings whose ``repr`` and ``str`` never show the password of a URL among their values.

A password belongs in the secret settings (``SecretStr``), but an endpoint written as
``https://user:password@host`` carries one too. ``UrlSafeRepr`` (a mixin for pydantic models) shows every
value with the URL credentials masked as ``user:***@host``, the way the ``url_credentials`` redactor masks
them in records; the values themselves are untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fapilog.processors._redact_urls import mask_userinfo

__all__ = ["UrlSafeRepr"]


class _Shown:
    """A value's repr, already masked (what ``__repr_args__`` yields in its place)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


class UrlSafeRepr:
    """Mixin for pydantic models: ``repr``/``str`` mask URL credentials in every value, nested ones too."""

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():  # type: ignore[misc]
            yield name, _Shown(mask_userinfo(repr(value)))
