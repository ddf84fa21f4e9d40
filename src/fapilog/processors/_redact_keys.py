"""Key names as words, and the rules ``field_mask`` and ``field_blocker`` test keys and paths against.

A key is read as words: it is split at anything that is not a letter or digit (``_``, ``-``, ``.``, spaces),
between letters and digits, and, in a second reading, at camelCase humps; words are compared in lower case.
``"X-Api-Key"``, ``"x_api_key"`` and ``"xApiKey"`` all read as ``x api key``; ``"PassWord"`` reads as
``password`` (and, as camelCase, ``pass word``): a rule matches if either reading matches.

A rule without dots is a *name*. In ``"words"`` mode (the default) it matches a key that contains the name's
words in a row, unless every word after them is a *metadata word* (``count``, ``length``, ``type``, ``id``,
``expires``...: the key then describes the secret instead of holding it): ``password`` matches ``password``,
``db_password``, ``userPassword`` and ``password_hash``, but not ``password_length``; ``token`` matches
``access_token`` but not ``token_count``, ``tokenizer`` or ``max_tokens``; ``auth`` matches neither
``author`` nor ``oauth_provider``. In ``"exact"`` mode a name
matches a key with exactly its words.

A rule with dots is a *path*, matched against the last keys leading to a value (so at any depth): every
segment compares whole words, ``*`` stands for any one key, and lists are transparent
(``"users.password"`` matches the ``password`` of every item of a ``users`` list). A key that itself
contains dots counts as several segments: the key ``"db.password"`` is matched by the path
``"db.password"`` and by the name ``password``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["METADATA_WORDS", "KeyRules", "Words", "key_segments", "key_words"]

Words = tuple[str, ...]
Segment = tuple[str, ...]  # the readings of one path segment, each its words joined by "_"

METADATA_WORDS = frozenset(
    {
        "age",
        "alg",
        "algorithm",
        "at",
        "count",
        "enabled",
        "endpoint",
        "exp",
        "expiration",
        "expires",
        "expiry",
        "file",
        "id",
        "ids",
        "in",
        "kind",
        "len",
        "length",
        "max",
        "method",
        "min",
        "mode",
        "name",
        "path",
        "policy",
        "present",
        "provider",
        "required",
        "scheme",
        "set",
        "size",
        "status",
        "ttl",
        "type",
        "uri",
        "url",
        "version",
    }
)
"""Words that, following a secret's name, make the key describe the secret rather than hold it."""

_SEPARATORS = re.compile(r"[\W_]+")
_DIGIT_EDGE = re.compile(r"(?<=\D)(?=\d)|(?<=\d)(?=\D)")
_CAMEL_EDGE = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_CACHE_SIZE = 4096
_CACHE_KEY_LENGTH = 128  # longer keys are worked out each time, so a flood of huge keys cannot pin memory
_words_cache: dict[str, tuple[Words, ...]] = {}
_segments_cache: dict[str, tuple[Segment, ...]] = {}


def key_words(key: str) -> tuple[Words, ...]:
    """The readings of ``key`` as lower-case words: split at separators and digits, then also at camelCase."""
    cached = _words_cache.get(key)
    if cached is not None:
        return cached
    parts = [p for chunk in _SEPARATORS.split(key) if chunk for p in _DIGIT_EDGE.split(chunk) if p]
    plain = tuple(p.lower() for p in parts)
    camel = tuple(w.lower() for p in parts for w in _CAMEL_EDGE.split(p) if w)
    readings = (plain,) if camel == plain else (plain, camel)
    if len(key) <= _CACHE_KEY_LENGTH:
        if len(_words_cache) >= _CACHE_SIZE:
            _words_cache.clear()
        _words_cache[key] = readings
    return readings


def key_segments(key: str) -> tuple[Segment, ...]:
    """``key`` as path segments (split at dots), each given by its readings."""
    cached = _segments_cache.get(key)
    if cached is not None:
        return cached
    segments = tuple(tuple(dict.fromkeys("_".join(w) for w in key_words(part))) for part in key.split("."))
    if len(key) <= _CACHE_KEY_LENGTH:
        if len(_segments_cache) >= _CACHE_SIZE:
            _segments_cache.clear()
        _segments_cache[key] = segments
    return segments


def _run_matches(words: Words, rule: Words, metadata: frozenset[str]) -> bool:
    """Whether ``rule`` occurs in ``words`` as a run that is not followed by metadata words alone."""
    size = len(rule)
    for i in range(len(words) - size + 1):
        if words[i : i + size] == rule:
            rest = words[i + size :]
            if not rest or not all(w in metadata for w in rest):
                return True
    return False


class KeyRules:
    """Compiled names and paths (see the module docstring); ``matches(key, path)`` tests one key."""

    __slots__ = ("_decided", "_exact", "_metadata", "_names", "_paths")

    def __init__(
        self,
        rules: Iterable[str],
        *,
        what: str,
        match: str = "words",
        metadata: frozenset[str] = METADATA_WORDS,
    ) -> None:
        if match not in ("words", "exact"):
            raise ValueError(f"match must be 'words' or 'exact', got {match!r}")
        self._exact = match == "exact"
        self._metadata = metadata
        self._names: list[Words] = []
        self._paths: list[tuple[frozenset[str] | None, ...]] = []
        self._decided: dict[str, bool] = {}
        for rule in rules:
            if "." in rule or "*" in rule:
                self._paths.append(_compile_path(rule, what))
            else:
                for reading in key_words(rule):
                    if not reading:
                        raise ValueError(f"{what}: {rule!r} has no letters or digits")
                    if reading not in self._names:
                        self._names.append(reading)

    @property
    def has_paths(self) -> bool:
        return bool(self._paths)

    def __bool__(self) -> bool:
        return bool(self._names or self._paths)

    def name_matches(self, key: str) -> bool:
        """Whether a name rule matches ``key`` (wherever it is)."""
        decided = self._decided.get(key)
        if decided is None:
            decided = self._decide(key)
            if len(key) <= _CACHE_KEY_LENGTH:
                if len(self._decided) >= _CACHE_SIZE:
                    self._decided.clear()
                self._decided[key] = decided
        return decided

    def _decide(self, key: str) -> bool:
        readings = key_words(key)
        if self._exact:
            return any(reading in self._names for reading in readings)
        return any(_run_matches(reading, name, self._metadata) for reading in readings for name in self._names)

    def path_matches(self, path: tuple[Segment, ...]) -> bool:
        """Whether a path rule matches the end of ``path`` (the segments of the keys leading to a value)."""
        for rule in self._paths:
            size = len(rule)
            if size > len(path):
                continue
            tail = path[len(path) - size :]
            if all(want is None or not want.isdisjoint(have) for want, have in zip(rule, tail, strict=True)):
                return True
        return False


def _compile_path(rule: str, what: str) -> tuple[frozenset[str] | None, ...]:
    segments: list[frozenset[str] | None] = []
    for part in rule.split("."):
        if part == "*":
            segments.append(None)
            continue
        if "*" in part:
            raise ValueError(f"{what}: {rule!r}: '*' must stand alone for a whole key (like 'headers.*')")
        readings = key_words(part)
        if not part or not readings[0]:
            raise ValueError(f"{what}: {rule!r} has an empty segment")
        segments.append(frozenset("_".join(words) for words in readings))
    return tuple(segments)
