"""Refusing regular expressions that could backtrack catastrophically, before they ever run.

Python's ``re`` is a backtracking engine: a pattern like ``(a+)+$`` takes exponential time on ``"aaaa...!"``.
``compile_safe`` reads the pattern's parse tree (``re._parser``) and refuses these shapes:

* backreferences (``(a)\\1``, conditional groups);
* a quantified group (``*``, ``+``, ``{n,m}`` with m > 1) containing a variable quantifier: ``(a+)+``,
  ``(a*)*``, ``(.*a){3}``, ``(\\w+\\s?)+`` - unless every iteration starts, or ends, with a character that no
  quantifier inside can match (``(?:-\\w+)*``, ``(?:\\w+,)+`` and ``(?:[ -]?\\d){12}`` are fine);
* a quantified group that can match the empty string (``(a?)*``, ``(a|)+``);
* alternatives inside a quantified group that can start the same way (``(a|aa)*``, ``(\\w+|\\d+)+``);
* two unbounded quantifiers in a row over overlapping characters, with only optional items between them
  (``\\d+\\d*``, ``.*.*``, ``\\d+\\.?\\d+``): polynomial backtracking;
* a pattern that matches the empty string (it would insert the mask between every two characters).

This is a conservative check of the shapes that cause catastrophic backtracking; scanning is also capped in
length (see ``RegexMask``), which bounds what any accepted pattern can cost.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator, Sequence
from typing import Any

__all__ = ["compile_safe", "min_length"]

_parser: Any = importlib.import_module("re._parser")  # the stdlib's own parser (sre_parse before 3.11)
_UNBOUNDED: int = _parser.MAXREPEAT
_REPEATS = frozenset({"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"})
_CHARS = frozenset({"LITERAL", "NOT_LITERAL", "ANY", "IN"})
_ZERO_WIDTH = frozenset({"AT", "ASSERT", "ASSERT_NOT"})
_SAMPLE = [chr(c) for c in range(128)] + list("\u00a0\u00b2\u00df\u00e9\u0130\u0131\u0661\u2028\u212a\u4e2d\U0001f600")

Item = tuple[Any, Any]
Atom = tuple[str, Any]  # ("lit", ch) ("not", ch) ("any", None) ("range", (lo, hi)) ("cat", name) ("set", (neg, atoms))


class _Unsafe(Exception):
    pass


def compile_safe(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile(pattern, flags)``, or a ValueError naming the pattern if it could backtrack badly."""
    if not isinstance(pattern, str):
        raise ValueError(f"a pattern must be a string, got {pattern!r}")
    try:
        tree = _parser.parse(pattern, flags)
        compiled = re.compile(pattern, flags)
    except (re.error, OverflowError, RecursionError) as exc:
        raise ValueError(f"pattern {pattern!r} is not a valid regular expression: {exc}") from None
    items = list(tree)
    icase = bool(tree.state.flags & re.IGNORECASE) or any(
        _op(node) == "SUBPATTERN" and node[1][1] & re.IGNORECASE for node in _walk(items)
    )
    try:
        _Checker(icase).pattern(items)
    except _Unsafe as exc:
        raise ValueError(f"unsafe pattern {pattern!r}: {exc}") from None
    except RecursionError:
        raise ValueError(f"unsafe pattern {pattern!r}: too deeply nested to check") from None
    return compiled


def min_length(pattern: re.Pattern[str]) -> int:
    """The length of the shortest text ``pattern`` can match (0 if unknown)."""
    try:
        return int(_parser.parse(pattern.pattern, pattern.flags).getwidth()[0])
    except Exception:
        return 0


def _op(item: Item) -> str:
    return str(item[0])


class _Checker:
    __slots__ = ("icase",)

    def __init__(self, icase: bool) -> None:
        self.icase = icase  # conservative: case-insensitive anywhere counts as everywhere

    def pattern(self, items: Sequence[Item]) -> None:
        self.sequence(items)
        if _nullable(items):
            raise _Unsafe("it matches the empty string (the mask would go between every two characters)")

    def sequence(self, items: Sequence[Item]) -> None:
        for item in items:
            self.item(item)
        flat = _flatten(items)
        for i, item in enumerate(flat):
            if _op(item) in _REPEATS and item[1][1] == _UNBOUNDED:
                self._adjacent(item, flat[i + 1 :])

    def item(self, item: Item) -> None:
        op, av = _op(item), item[1]
        if op in ("GROUPREF", "GROUPREF_EXISTS", "GROUPREF_IGNORE"):
            raise _Unsafe("backreferences are not allowed")
        if op in _REPEATS:
            _low, high, body = av
            if high > 1:
                self._repeated(list(body))
            self.sequence(body)
        elif op == "SUBPATTERN":
            self.sequence(av[3])
        elif op == "ATOMIC_GROUP":
            self.sequence(av)
        elif op == "BRANCH":
            for branch in av[1]:
                self.sequence(branch)
        elif op in ("ASSERT", "ASSERT_NOT"):
            self.sequence(av[1])

    def _repeated(self, body: list[Item]) -> None:
        """Checks the body of a quantifier that may repeat."""
        if _nullable(body):
            raise _Unsafe("a quantified group can match the empty string (like '(a?)*')")
        inner = [r for r in _walk(body) if _op(r) in _REPEATS and r[1][0] != r[1][1]]
        if inner and not self._delimited(body, inner):
            raise _Unsafe("a quantifier inside a quantified group (like '(a+)+') can backtrack catastrophically")
        for node in _walk(body):
            if _op(node) == "BRANCH":
                self._distinct(node[1][1])

    def _delimited(self, body: list[Item], inner: list[Item]) -> bool:
        """Whether each iteration starts or ends with a character no inner quantifier can match."""
        flat = _flatten(body)
        inner_atoms = [a for r in inner for a in _atoms(r[1][2])]
        for edge in (flat[0], flat[-1]):
            if _op(edge) in _CHARS and not self._overlap(_atoms([edge]), inner_atoms):
                return True
        return False

    def _distinct(self, branches: list[list[Item]]) -> None:
        """Alternatives of a repeated group must differ within their first single characters."""
        for i, left in enumerate(branches):
            for right in branches[i + 1 :]:
                if self._ambiguous(_flatten(left), _flatten(right)):
                    raise _Unsafe("alternatives inside a quantified group (like '(a|aa)*') can match the same text")

    def _ambiguous(self, left: list[Item], right: list[Item]) -> bool:
        for i, (a, b) in enumerate(zip(left, right, strict=False)):
            if _op(a) in _CHARS and _op(b) in _CHARS:
                if not self._overlap(_atoms([a]), _atoms([b])):
                    return False
                continue
            first_a, first_b = _first(left[i:]), _first(right[i:])
            return first_a[1] or first_b[1] or self._overlap(first_a[0], first_b[0])
        return True  # one is a prefix of the other

    def _adjacent(self, repeat: Item, rest: list[Item]) -> None:
        atoms = _atoms(repeat[1][2])
        for item in rest:
            if _op(item) in _REPEATS and item[1][1] == _UNBOUNDED and self._overlap(atoms, _first([item])[0]):
                raise _Unsafe("two unbounded quantifiers over the same characters in a row (like '\\d+\\d*')")
            if not _nullable([item]):
                return

    def _overlap(self, left: list[Atom], right: list[Atom]) -> bool:
        if not left or not right:
            return False
        sample = set(_SAMPLE)
        for atom in (*left, *right):
            sample.update(_edges(atom))
        return any(_has(left, ch, self.icase) and _has(right, ch, self.icase) for ch in sample)


def _flatten(items: Sequence[Item]) -> list[Item]:
    """``items`` with plain groups (not repeated) replaced by their contents, zero-width items dropped."""
    out: list[Item] = []
    for item in items:
        op = _op(item)
        if op == "SUBPATTERN":
            out.extend(_flatten(item[1][3]))
        elif op == "ATOMIC_GROUP":
            out.extend(_flatten(item[1]))
        elif op not in _ZERO_WIDTH:
            out.append(item)
    return out


def _walk(items: Sequence[Item]) -> Iterator[Item]:
    """Every node under ``items``, depth first."""
    for item in items:
        yield item
        op, av = _op(item), item[1]
        if op in _REPEATS:
            yield from _walk(av[2])
        elif op == "SUBPATTERN":
            yield from _walk(av[3])
        elif op == "ATOMIC_GROUP":
            yield from _walk(av)
        elif op == "BRANCH":
            for branch in av[1]:
                yield from _walk(branch)
        elif op in ("ASSERT", "ASSERT_NOT"):
            yield from _walk(av[1])


def _nullable(items: Sequence[Item]) -> bool:
    return _first(items)[1]


def _first(items: Sequence[Item]) -> tuple[list[Atom], bool]:
    """The characters a match of ``items`` can start with, and whether it can be empty."""
    atoms: list[Atom] = []
    for item in items:
        op, av = _op(item), item[1]
        if op in _CHARS:
            atoms.extend(_atoms([item]))
            return atoms, False
        if op in _REPEATS:
            inner, empty = _first(av[2])
            atoms.extend(inner)
            if av[0] > 0 and not empty:
                return atoms, False
        elif op in {"SUBPATTERN", "ATOMIC_GROUP"}:
            inner, empty = _first(av[3] if op == "SUBPATTERN" else av)
            atoms.extend(inner)
            if not empty:
                return atoms, False
        elif op == "BRANCH":
            results = [_first(branch) for branch in av[1]]
            for inner, _empty in results:
                atoms.extend(inner)
            if not any(empty for _inner, empty in results):
                return atoms, False
        elif op not in _ZERO_WIDTH:  # anything unforeseen: assume it can start with anything and be empty
            atoms.append(("any", None))
    return atoms, True


def _atoms(items: Sequence[Item]) -> list[Atom]:
    """Every character ``items`` can consume, anywhere inside them."""
    out: list[Atom] = []
    for item in _walk(items):
        op, av = _op(item), item[1]
        if op == "LITERAL":
            out.append(("lit", chr(av)))
        elif op == "NOT_LITERAL":
            out.append(("not", chr(av)))
        elif op == "ANY":
            out.append(("any", None))
        elif op == "IN":
            negate = any(str(kind) == "NEGATE" for kind, _v in av)
            out.append(("set", (negate, [_set_atom(kind, v) for kind, v in av if str(kind) != "NEGATE"])))
    return out


def _set_atom(kind: Any, value: Any) -> Atom:
    name = str(kind)
    if name == "LITERAL":
        return ("lit", chr(value))
    if name == "RANGE":
        return ("range", (chr(value[0]), chr(value[1])))
    if name == "CATEGORY":
        return ("cat", str(value))
    return ("any", None)


def _edges(atom: Atom) -> Iterator[str]:
    kind, value = atom
    if kind in ("lit", "not"):
        yield value
    elif kind == "range":
        for ch in value:
            yield ch
            yield chr(max(0, ord(ch) - 1))
            yield chr(min(0x10FFFF, ord(ch) + 1))
    elif kind == "set":
        for inner in value[1]:
            yield from _edges(inner)


def _has(atoms: list[Atom], ch: str, icase: bool) -> bool:
    chars = {ch, ch.lower(), ch.upper()} if icase else {ch}
    return any(_contains(atom, c) for atom in atoms for c in chars if len(c) == 1)


def _contains(atom: Atom, ch: str) -> bool:
    kind, value = atom
    if kind == "lit":
        return bool(ch == value)
    if kind == "not":
        return bool(ch != value)
    if kind == "range":
        return bool(value[0] <= ch <= value[1])
    if kind == "cat":
        return _category(value, ch)
    if kind == "set":
        negate, inner = value
        return any(_contains(a, ch) for a in inner) is not bool(negate)
    return True  # any


def _category(name: str, ch: str) -> bool:
    negate = "NOT_" in name
    if name.endswith("DIGIT"):
        found = ch.isdecimal()
    elif name.endswith("SPACE"):
        found = ch.isspace()
    elif name.endswith("WORD"):
        found = ch.isalnum() or ch == "_"
    elif name.endswith("LINEBREAK"):
        found = ch == "\n"
    else:
        return True
    return found != negate
