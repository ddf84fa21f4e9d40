"""``regex_mask``: masks secrets found inside string values (attributes, bound context and the body).

Built-in patterns, usable by name, are written so that each position of a string is examined a bounded
number of times (a look-behind stops a match from starting inside a run it would rescan):

* ``credit_card``: 13 to 19 digits, optionally grouped by single spaces or dashes, masked only when they
  pass the Luhn check (runs of grouped digits are searched for a passing card number group by group);
* ``bearer_token``: the credential after ``Bearer`` (the word is kept: ``Bearer ***``);
* ``jwt``: three to five base64url segments starting with ``eyJ``;
* ``aws_access_key``: ``AKIA`` or ``ASIA`` and 16 more capitals or digits;
* ``aws_secret_key``: 40 base64 characters, only right after an ``aws_secret_access_key``-like name and
  ``=`` or ``:`` (a 40-character string elsewhere is left alone);
* ``secret_assignment``: the value in ``password=...``, ``token: ...``, ``"api_key": "..."`` and the like;
* ``email``: e-mail addresses; ``us_ssn``: ``123-45-6789`` (for presets that ask for them).

User patterns are checked by ``compile_safe`` first. A pattern with named groups whose names start with
``secret`` masks only those groups (``token=(?P<secret>\\w+)`` keeps ``token=``); otherwise the whole match.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

from fapilog._otel import LogRecordProcessor, ReadWriteLogRecord
from fapilog.processors._base import ScreenedStage
from fapilog.processors._redact_safety import compile_safe, min_length
from fapilog.processors._redact_walk import (
    MAX_DEPTH_LIMIT,
    StringWalk,
    check_count,
    check_names,
    check_text,
    rewrite_record,
    scan_capped,
)

__all__ = ["BUILTIN_PATTERNS", "BuiltinPattern", "RegexMask", "luhn_valid"]

Replace = Callable[[re.Match[str]], str]
_KEY_CACHE_SIZE = 4096
_KEY_CACHE_LENGTH = 128


@dataclass(frozen=True, slots=True)
class BuiltinPattern:
    """A named pattern: its regex, an optional cheap test a string must pass to be worth scanning, and an
    optional custom masking (credit cards are masked only where the Luhn check passes)."""

    name: str
    regex: str
    hint: Callable[[str], bool] | None = None
    custom: Callable[[re.Match[str], str], str] | None = None


def luhn_valid(digits: str) -> bool:
    """Whether the string of ASCII digits passes the Luhn checksum."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_DIGIT_GROUP = re.compile(r"[0-9]+")


def _mask_cards(match: re.Match[str], mask: str) -> str:
    """Masks each stretch of whole digit groups, 13 to 19 digits long, that passes the Luhn check.

    Linear in the run's length: Luhn sums of any stretch come from prefix sums (one for each parity of the
    last digit's position), and the stretches tried from each group are those of 13 to 19 digits.
    """
    text = match.group(0)
    spans = [m.span() for m in _DIGIT_GROUP.finditer(text)]
    starts = [0]  # digits before each group, and in all
    luhn = ([0], [0])  # prefix Luhn sums for a stretch whose last digit sits at an even / odd position
    for begin, end in spans:
        for ch in text[begin:end]:
            d = ord(ch) - 48
            doubled = d * 2 - 9 if d > 4 else d * 2
            odd = (len(luhn[0]) - 1) % 2
            luhn[0].append(luhn[0][-1] + (doubled if odd else d))
            luhn[1].append(luhn[1][-1] + (d if odd else doubled))
        starts.append(len(luhn[0]) - 1)
    parts: list[str] = []
    pos = i = 0
    first = 0  # the first group j whose stretch from group i has at least 13 digits
    while i < len(spans):
        first = max(first, i)
        while first < len(spans) and starts[first + 1] - starts[i] < 13:
            first += 1
        found = -1
        j = first
        while j < len(spans) and starts[j + 1] - starts[i] <= 19:
            sums = luhn[(starts[j + 1] - 1) % 2]
            if (sums[starts[j + 1]] - sums[starts[i]]) % 10 == 0:
                found = j  # the longest passing stretch from group i
            j += 1
        if found < 0:
            i += 1
            continue
        parts += (text[pos : spans[i][0]], mask)
        pos, i = spans[found][1], found + 1
    if not parts:
        return text
    parts.append(text[pos:])
    return "".join(parts)


_NAME_END = r"""["']?[ \t]*[:=]>?[ \t]*"""
_BUILTINS = (
    BuiltinPattern("credit_card", r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,}", custom=_mask_cards),
    BuiltinPattern(
        "bearer_token",
        r"(?<![A-Za-z0-9])(?i:bearer)\s+(?P<secret>[A-Za-z0-9\-._~+/]+=*)",
        hint=lambda s: "bearer" in s.lower(),  # no other character folds to these letters
    ),
    BuiltinPattern(
        "jwt",
        r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*){1,3}",
        hint=lambda s: "eyJ" in s,
    ),
    BuiltinPattern(
        "aws_access_key",
        r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])",
        hint=lambda s: "AKIA" in s or "ASIA" in s,
    ),
    BuiltinPattern(
        "aws_secret_key",
        r"(?<![A-Za-z0-9])(?i:(?:aws[_-]?)?secret[_-]?(?:access[_-]?)?key)"
        + _NAME_END
        + r"""["']?(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])""",
        hint=lambda s: "=" in s or ":" in s,
    ),
    BuiltinPattern(
        "secret_assignment",
        r"(?<![A-Za-z0-9])(?i:passw(?:or)?d|passphrase|pwd|secret|token|authorization|credentials?|apikey"
        r"|(?:secret|private|api|access)[_-]?key)"
        + _NAME_END
        + r"""(?:(?i:basic|bearer|digest|token|negotiate)[ \t]+)?"""
        r"""(?:"(?P<secret_dq>[^"\r\n]+)"|'(?P<secret_sq>[^'\r\n]+)'|(?P<secret>[^\s"'&]+))""",
        hint=lambda s: "=" in s or ":" in s,
    ),
    BuiltinPattern("email", r"(?<![\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)+", hint=lambda s: "@" in s),
    BuiltinPattern("us_ssn", r"(?<![0-9])[0-9]{3}-[0-9]{2}-[0-9]{4}(?![0-9])", hint=lambda s: "-" in s),
)
BUILTIN_PATTERNS: Mapping[str, BuiltinPattern] = MappingProxyType({p.name: p for p in _BUILTINS})


def _secret_groups(pattern: re.Pattern[str]) -> tuple[int, ...]:
    return tuple(sorted(i for name, i in pattern.groupindex.items() if name.startswith("secret")))


def _group_masker(groups: tuple[int, ...], mask: str) -> Replace:
    """Masks the named ``secret*`` groups of a match that took part in it, or the whole match."""

    def replace(match: re.Match[str]) -> str:
        spans = [match.span(g) for g in groups if match.start(g) >= 0]
        if not spans:
            return mask
        text, base, pos = match.group(0), match.start(), 0
        parts: list[str] = []
        for start, end in sorted(spans):
            if start - base < pos:  # nested in a group already masked
                continue
            parts += (text[pos : start - base], mask)
            pos = end - base
        parts.append(text[pos:])
        return "".join(parts)

    return replace


@dataclass(frozen=True, slots=True)
class _Rule:
    pattern: re.Pattern[str]
    hint: Callable[[str], bool] | None
    replace: Replace
    min_length: int  # the shortest text the pattern can match: shorter strings are not scanned


class RegexMask(ScreenedStage):
    """Masks the parts of string values that match ``patterns`` (built-in names or regular expressions) and
    the patterns of the redaction ``presets`` named, in the attributes, the bound context and the body.

    Strings are scanned up to ``max_string_length`` characters; the rest of a longer string is dropped and
    replaced by a marker (``...[N characters dropped: too long to scan]``), so nothing unscanned is passed
    on. Past ``max_depth`` nested levels or ``max_keys_scanned`` keys and items, values are masked unchecked.
    """

    __slots__ = (
        "_compiled",
        "_keys",
        "_max_depth",
        "_max_keys",
        "_rules",
        "_values",
        "mask",
        "max_string_length",
        "patterns",
        "presets",
    )

    name: ClassVar[str] = "regex_mask"
    fail_closed: ClassVar[bool] = True

    def __init__(
        self,
        patterns: Iterable[str | re.Pattern[str]] = (),
        *,
        presets: Iterable[str] = (),
        mask: str = "***",
        max_depth: int = 16,
        max_keys_scanned: int = 5000,
        max_string_length: int = 65_536,
        next: LogRecordProcessor | None = None,
    ) -> None:
        super().__init__(next=next)
        self.mask = check_text("mask", mask)
        self.presets = check_names("presets", presets)
        self._max_depth = check_count("max_depth", max_depth, maximum=MAX_DEPTH_LIMIT)
        self._max_keys = check_count("max_keys_scanned", max_keys_scanned)
        self.max_string_length = check_count("max_string_length", max_string_length)
        specs = _pattern_specs(patterns)
        from fapilog.processors._redaction_presets import preset_named

        for preset in self.presets:
            specs += [name for name in preset_named(preset).patterns if name not in specs]
        self.patterns = tuple(spec if isinstance(spec, str) else spec.pattern for spec in specs)
        self._rules = tuple(self._rule(spec) for spec in specs)
        self._compiled = tuple(rule.pattern for rule in self._rules)
        self._keys: dict[str, str] = {}  # keys repeat from record to record: their scans are kept
        self._values: dict[str, str] = {}  # and so do many short values

    def _rule(self, spec: str | re.Pattern[str]) -> _Rule:
        if isinstance(spec, str) and spec in BUILTIN_PATTERNS:
            builtin = BUILTIN_PATTERNS[spec]
            pattern = re.compile(builtin.regex)
            if builtin.custom is not None:
                custom, mask = builtin.custom, self.mask
                return _Rule(pattern, builtin.hint, lambda m: custom(m, mask), min_length(pattern))
            return _Rule(pattern, builtin.hint, _group_masker(_secret_groups(pattern), self.mask), min_length(pattern))
        pattern = compile_safe(spec.pattern, spec.flags) if isinstance(spec, re.Pattern) else compile_safe(spec)
        return _Rule(pattern, None, _group_masker(_secret_groups(pattern), self.mask), min_length(pattern))

    def process(self, record: ReadWriteLogRecord) -> bool:
        if not self._nothing_to_do(record):
            walk = StringWalk(self.scan, budget=self._max_keys, overflow=self.mask, key_fn=self._scan_key)
            rewrite_record(record, lambda value: walk.value(value, self._max_depth), body=True)
        return True

    def _nothing_to_do(self, record: ReadWriteLogRecord) -> bool:
        """The common record, decided cheaply: flat attributes of plain values, no bound context, and no string
        (key, value or body) that any pattern changes; or no patterns at all."""
        if not self._rules:
            return True
        lr = record.log_record
        attributes = lr.attributes
        if type(attributes) is not dict:
            return False
        body = lr.body
        if body is not None and (
            type(body) is not str or (self._values.get(body) is not body and self.scan(body) is not body)
        ):
            return False
        context = getattr(record, "context", None)
        return self._flat_and_clean(attributes) and (not context or self._flat_and_clean(context))

    def _flat_and_clean(self, mapping: Mapping[Any, Any]) -> bool:
        values, keys = self._values, self._keys
        for key, value in mapping.items():
            kind = type(value)
            if kind is str:
                if values.get(value) is not value and self.scan(value) is not value:
                    return False
            elif kind not in _SCALARS:
                return False
            if type(key) is not str or (keys.get(key) is not key and self._scan_key(key) is not key):
                return False
        return True

    def scan(self, text: str) -> str:
        """``text`` with every match masked (``text`` itself when nothing matched). Short texts repeat from
        record to record (messages, paths): their results are kept in a bounded cache."""
        if len(text) > _VALUE_CACHE_LENGTH:
            return scan_capped(text, self.max_string_length, self._mask_all, self._compiled)
        cache = self._values
        known = cache.get(text)
        if known is None:
            known = scan_capped(text, self.max_string_length, self._mask_all, self._compiled)
            if len(cache) >= _VALUE_CACHE_SIZE:
                cache.clear()
            cache[text] = known if known != text else text
        return known if known != text else text

    def _scan_key(self, key: str) -> str:
        known = self._keys.get(key)
        if known is None:
            known = self.scan(key)
            if len(key) <= _KEY_CACHE_LENGTH:
                if len(self._keys) >= _KEY_CACHE_SIZE:
                    self._keys.clear()
                self._keys[key] = known
        return known if known != key else key

    def _mask_all(self, text: str) -> str:
        out = text
        for rule in self._rules:
            if len(out) >= rule.min_length and (rule.hint is None or rule.hint(out)):
                masked, count = rule.pattern.subn(rule.replace, out)
                if count:
                    out = masked
        return text if out == text else out


_SCALARS = frozenset({int, float, bool, type(None)})
_VALUE_CACHE_LENGTH = 256
_VALUE_CACHE_SIZE = 4096


def _pattern_specs(patterns: object) -> list[str | re.Pattern[str]]:
    if isinstance(patterns, str | bytes | re.Pattern) or not isinstance(patterns, Iterable):
        raise ValueError(f"patterns must be a list of names or regular expressions, got {patterns!r}")
    items = list(patterns)
    for item in items:
        if not isinstance(item, str | re.Pattern):
            raise ValueError(f"patterns must contain names, strings or compiled patterns, got {item!r}")
        if isinstance(item, re.Pattern) and not isinstance(item.pattern, str):
            raise ValueError(f"patterns must be text patterns, not bytes: {item.pattern!r}")
    return items
