"""``field_mask`` and ``field_blocker``: redaction by key, at any depth of the attributes and bound context.

Both read keys the way ``_redact_keys`` describes (case-insensitive words, names anywhere, dotted paths,
``*`` wildcards, lists transparent). A string body is the message and is left alone (``regex_mask`` looks
inside it); a structured body (a map or a list) is walked like the attributes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from fapilog._coerce import safe_text
from fapilog._otel import LogRecordProcessor, ReadWriteLogRecord
from fapilog.processors._base import ScreenedStage
from fapilog.processors._redact_keys import KeyRules, Segment, key_segments
from fapilog.processors._redact_walk import (
    MAX_DEPTH_LIMIT,
    Budget,
    check_count,
    check_names,
    check_text,
    map_items,
    rewrite_record,
)

__all__ = ["FieldBlocker", "FieldMask"]

_REMOVE: Any = object()  # a replacement meaning: drop the key
_SEQUENCES = (list, tuple, set, frozenset)
_LEAVES = (str, int, float, bool, bytes, type(None))
_FLAT = frozenset(_LEAVES)


class _KeyRedactor(ScreenedStage):
    """Walks a record's values and replaces each value whose key matches ``rules`` (unless ``allowed``)."""

    __slots__ = (
        "_allowed",
        "_hits",
        "_max_depth",
        "_max_keys",
        "_overflow",
        "_replacement",
        "_rules",
        "_track_paths",
    )

    fail_closed: ClassVar[bool] = True

    def __init__(
        self,
        rules: KeyRules,
        allowed: KeyRules,
        *,
        replacement: Any,
        overflow: str,
        max_depth: int,
        max_keys_scanned: int,
        next: LogRecordProcessor | None,
    ) -> None:
        super().__init__(next=next)
        self._rules = rules
        self._allowed = allowed
        self._replacement = replacement
        self._overflow = overflow
        self._max_depth = check_count("max_depth", max_depth, maximum=MAX_DEPTH_LIMIT)
        self._max_keys = check_count("max_keys_scanned", max_keys_scanned)
        self._track_paths = rules.has_paths or allowed.has_paths
        self._hits: dict[str, bool] = {}  # flat keys -> whether they are masked (keys repeat across records)

    def process(self, record: ReadWriteLogRecord) -> bool:
        if not self._nothing_to_do(record):
            budget = Budget(self._max_keys)
            rewrite_record(record, lambda value: self._walk(value, (), self._max_depth, budget), body=True)
        return True

    def _nothing_to_do(self, record: ReadWriteLogRecord) -> bool:
        """The common record, decided cheaply: flat attributes of plain values, no bound context, a plain body,
        no path rules, and no key that matches (key decisions are cached); or no rules at all."""
        if not self._rules:
            return True
        lr = record.log_record
        attributes = lr.attributes
        if self._track_paths or type(attributes) is not dict:
            return False
        body = lr.body
        if body is not None and type(body) not in _FLAT:
            return False
        context = getattr(record, "context", None)
        return self._flat_and_unmatched(attributes) and (not context or self._flat_and_unmatched(context))

    def _flat_and_unmatched(self, values: Mapping[Any, Any]) -> bool:
        hits = self._hits
        for key, value in values.items():
            if type(key) is not str or type(value) not in _FLAT:
                return False
            hit = hits.get(key)
            if hit is None:
                hit = self._rules.name_matches(key) and not (self._allowed and self._allowed.name_matches(key))
                if len(hits) >= 4096:
                    hits.clear()
                hits[key] = hit
            if hit:
                return False
        return True

    def _walk(self, value: Any, path: tuple[Segment, ...], depth: int, budget: Budget) -> Any:
        if isinstance(value, Mapping):
            return self._mapping(value, path, depth, budget) if depth > 0 else self._overflow
        if isinstance(value, _SEQUENCES):
            return self._items(value, path, depth, budget) if depth > 0 else self._overflow
        return value

    def _mapping(self, value: Mapping[Any, Any], path: tuple[Segment, ...], depth: int, budget: Budget) -> Any:
        try:
            items = list(value.items())
        except Exception:  # a mapping that cannot be read cannot be checked
            return self._overflow
        out: dict[Any, Any] | None = None
        for i, (key, item) in enumerate(items):
            if budget.left > 0:
                budget.left -= 1
                new = self._entry(key if type(key) is str else safe_text(key), item, path, depth, budget)
            else:
                new = self._overflow
            if out is None and new is not item:
                out = dict(items[:i])
            if out is not None and new is not _REMOVE:
                out[key] = new
        return value if out is None else out

    def _entry(self, name: str, item: Any, path: tuple[Segment, ...], depth: int, budget: Budget) -> Any:
        here = path + key_segments(name) if self._track_paths else path
        allowed = self._allowed
        if not (allowed and (allowed.name_matches(name) or allowed.path_matches(here))):
            rules = self._rules
            if rules.name_matches(name) or rules.path_matches(here):
                return self._replacement
        if isinstance(item, _LEAVES):
            return item
        return self._walk(item, here, depth - 1, budget)

    def _items(self, value: Any, path: tuple[Segment, ...], depth: int, budget: Budget) -> Any:
        return map_items(value, lambda item: self._item(item, path, depth, budget), self._overflow)

    def _item(self, item: Any, path: tuple[Segment, ...], depth: int, budget: Budget) -> Any:
        if budget.left <= 0:
            return self._overflow
        budget.left -= 1
        return item if isinstance(item, _LEAVES) else self._walk(item, path, depth - 1, budget)


class FieldMask(_KeyRedactor):
    """Masks every value whose key matches one of ``fields`` (``"password"``, ``"user.password"``,
    ``"headers.*"``...), in the attributes, the bound context and a structured body, at any depth.

    ``match="words"`` (the default) matches a name as whole words of a key (``password`` matches
    ``db_password`` but ``auth`` does not match ``author``); ``match="exact"`` only keys with exactly the name's
    words. Past ``max_depth`` nested levels, or after ``max_keys_scanned`` keys and items in one record, what
    is left is masked unchecked (fail closed). A masked value, whatever its type, becomes ``mask``.
    """

    __slots__ = ("fields", "mask")

    name: ClassVar[str] = "field_mask"

    def __init__(
        self,
        fields: Iterable[str],
        *,
        mask: str = "***",
        match: str = "words",
        max_depth: int = 16,
        max_keys_scanned: int = 5000,
        next: LogRecordProcessor | None = None,
    ) -> None:
        self.fields = check_names("fields", fields)
        self.mask = check_text("mask", mask)
        super().__init__(
            KeyRules(self.fields, what="fields", match=match),
            KeyRules((), what="allowed"),
            replacement=self.mask,
            overflow=self.mask,
            max_depth=max_depth,
            max_keys_scanned=max_keys_scanned,
            next=next,
        )


class FieldBlocker(_KeyRedactor):
    """Replaces whole high-risk fields (a raw request body, a ``headers`` map...) by ``replacement``, or
    removes them when ``replacement`` is ``None``; keys matching ``allowed`` are kept (and looked into).

    Keys match as in ``FieldMask``. Past the depth and key bounds what is left becomes ``replacement``
    (``"[REDACTED]"`` when fields are removed).
    """

    __slots__ = ("allowed", "blocked", "replacement")

    name: ClassVar[str] = "field_blocker"

    def __init__(
        self,
        blocked: Iterable[str],
        *,
        allowed: Iterable[str] = (),
        replacement: str | None = "[REDACTED]",
        match: str = "words",
        max_depth: int = 16,
        max_keys_scanned: int = 5000,
        next: LogRecordProcessor | None = None,
    ) -> None:
        self.blocked = check_names("blocked", blocked)
        self.allowed = check_names("allowed", allowed)
        self.replacement = None if replacement is None else check_text("replacement", replacement)
        super().__init__(
            KeyRules(self.blocked, what="blocked", match=match),
            KeyRules(self.allowed, what="allowed", match="exact"),
            replacement=_REMOVE if self.replacement is None else self.replacement,
            overflow="[REDACTED]" if self.replacement is None else self.replacement,
            max_depth=max_depth,
            max_keys_scanned=max_keys_scanned,
            next=next,
        )
