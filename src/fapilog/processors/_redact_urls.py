"""``url_credentials``: passwords in URLs and secret-named query parameters, masked wherever they appear.

In every string value (attributes, bound context, the body; at any depth):

* ``scheme://user:password@host`` becomes ``scheme://user:***@host`` (also ``//user:password@host``). The
  user name is kept, it says which account was used; a URL with a user name and no password is left as it
  is. The password runs to the last ``@`` before the host, so an unencoded ``@`` in it is masked too.
* ``?token=abc``, ``&api_key=abc``, ``#access_token=abc`` and ``;sig=abc`` become ``name=***`` when the
  parameter's name reads as a secret: its words (as for ``field_mask``) contain one of ``query_params``,
  followed by nothing or by a describing word (``token_type`` is kept; ``session_id`` is masked, as in a
  URL it is the session itself). The value runs to the next ``&``, ``#``, space or quote.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from types import MappingProxyType
from typing import ClassVar

from fapilog._otel import LogRecordProcessor, ReadWriteLogRecord
from fapilog.processors._base import ScreenedStage
from fapilog.processors._redact_keys import KeyRules
from fapilog.processors._redact_walk import (
    MAX_DEPTH_LIMIT,
    StringWalk,
    check_count,
    check_names,
    check_text,
    rewrite_record,
    scan_capped,
)

__all__ = ["QUERY_PARAMS", "UrlCredentials", "mask_userinfo"]

QUERY_PARAMS = (
    "access_token",
    "api_key",
    "apikey",
    "auth",
    "authorization",
    "credential",
    "credentials",
    "id_token",
    "jsessionid",
    "jwt",
    "key",
    "passphrase",
    "passwd",
    "password",
    "phpsessid",
    "pwd",
    "refresh_token",
    "secret",
    "session",
    "sessionid",
    "sid",
    "sig",
    "signature",
    "token",
)
"""The query parameter names masked by default (matched as words: ``X-Amz-Signature``, ``client_secret``)."""

_QUERY_METADATA = frozenset(
    {"alg", "algorithm", "at", "count", "endpoint", "exp", "expires", "expiry", "hint", "in", "kind", "length"}
    | {"method", "mode", "name", "provider", "scheme", "ttl", "type", "uri", "url", "version"}
)

_USERINFO = re.compile(r"(?<![A-Za-z0-9+.-])(?P<keep>(?:[A-Za-z][A-Za-z0-9+.-]*:)?//[^\s/?#@:]*:)[^\s/?#]*@")
_PARAM_NAME = re.compile(r"(?<=[?&;#])(?P<name>[^=&#;?\s]+)=")
_PARAM = re.compile(r"""(?<=[?&;#])[^=&#;?\s]+=[^&#\s"'<>]*""")
_VALUE_END = re.compile(r"""[&#\s"'<>]""")


def mask_userinfo(text: str, mask: str = "***") -> str:
    """``text`` with the password of every URL in it masked (``scheme://user:***@host``)."""
    if "@" not in text or "//" not in text:
        return text
    return _USERINFO.sub(lambda m: f"{m.group('keep')}{mask}@", text)


class UrlCredentials(ScreenedStage):
    """Masks URL passwords (``user:***@host``) and secret query parameters (``?token=***``) in every string
    of the attributes, the bound context and the body.

    Strings longer than ``max_string_length`` are cut there (a URL across the cut is kept whole) and end
    with a marker saying how much was dropped; values past ``max_depth`` levels or ``max_keys_scanned`` keys
    and items are masked unchecked.
    """

    __slots__ = ("_max_depth", "_max_keys", "_names", "mask", "max_string_length", "query_params")

    name: ClassVar[str] = "url_credentials"
    fail_closed: ClassVar[bool] = True
    DEFAULT_QUERY_PARAMS: ClassVar[tuple[str, ...]] = QUERY_PARAMS

    def __init__(
        self,
        *,
        mask: str = "***",
        query_params: Iterable[str] = QUERY_PARAMS,
        max_string_length: int = 65_536,
        max_depth: int = 16,
        max_keys_scanned: int = 5000,
        next: LogRecordProcessor | None = None,
    ) -> None:
        super().__init__(next=next)
        self.mask = check_text("mask", mask)
        self.query_params = check_names("query_params", query_params)
        for name in self.query_params:
            if "." in name or "*" in name:
                raise ValueError(f"query_params: {name!r} must be a plain parameter name")
        self._names = KeyRules(self.query_params, what="query_params", metadata=_QUERY_METADATA)
        self.max_string_length = check_count("max_string_length", max_string_length)
        self._max_depth = check_count("max_depth", max_depth, maximum=MAX_DEPTH_LIMIT)
        self._max_keys = check_count("max_keys_scanned", max_keys_scanned)

    def process(self, record: ReadWriteLogRecord) -> bool:
        if not self._nothing_to_do(record):
            walk = StringWalk(self.scan, budget=self._max_keys, overflow=self.mask)
            rewrite_record(record, lambda value: walk.value(value, self._max_depth), body=True)
        return True

    def _nothing_to_do(self, record: ReadWriteLogRecord) -> bool:
        """The common record: flat, no string that could hold a URL secret."""
        lr = record.log_record
        body = lr.body
        context = getattr(record, "context", None)
        return (
            _plain(lr.attributes)
            and (type(body) is not str or ("=" not in body and "@" not in body))
            and (not context or _plain(context))
        )

    def scan(self, text: str) -> str:
        """``text`` with URL passwords and secret parameters masked (``text`` itself if there are none)."""
        if "=" not in text and "@" not in text:
            return text
        return scan_capped(text, self.max_string_length, self._mask, (_USERINFO, _PARAM))

    def _mask(self, text: str) -> str:
        out = text
        out = mask_userinfo(out, self.mask)
        if "=" in out and ("?" in out or "&" in out or "#" in out or ";" in out):
            out = self._mask_params(out)
        return text if out == text else out

    def _mask_params(self, text: str) -> str:
        parts: list[str] = []
        pos = 0
        for match in _PARAM_NAME.finditer(text):
            start = match.end()
            if match.start() < pos or not self._names.name_matches(match.group("name")):
                continue
            found = _VALUE_END.search(text, start)
            end = found.start() if found is not None else len(text)
            if end > start:
                parts += (text[pos:start], self.mask)
                pos = end
        if not parts:
            return text
        parts.append(text[pos:])
        return "".join(parts)


_SCALARS = (int, float, bool, type(None))


def _plain(values: object) -> bool:
    """Whether ``values`` (a mapping or None) holds only scalars and strings without ``=`` or ``@``."""
    if not values:
        return True
    if type(values) is not dict and type(values) is not MappingProxyType:
        return False
    for value in values.values():
        if type(value) is str:
            if "=" in value or "@" in value:
                return False
        elif type(value) not in _SCALARS:
            return False
    return True
