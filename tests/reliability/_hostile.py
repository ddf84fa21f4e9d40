"""Hostile values for the property tests: objects that fight back, cycles, huge and malformed data."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

# Characters that break lines, terminals or naive formatting, and lone surrogates (not valid UTF-8).
CONTROLS = "\n\r\x00\x07\x08\x0b\x0c\x1b\x1c\x1d\x1e\x7f\x85\x9b\u2028\u2029\t"
FORMATS = ("{}", "{0}", "{name}", "{0!r:>{1}}", "%s", "%d", "%(name)s", "%%", "%n", "{{", "}}", "%", "{", "}")


def as_view(data: bytes) -> memoryview:
    return memoryview(data)


class Printable:
    """Printable for Hypothesis' failure reports, which print a falsifying example through ``_repr_pretty_``
    when a class has one: the hostile classes raise in ``str``/``repr``/iteration on purpose, and a report
    calling them would replace the real failure with that error."""

    __slots__ = ()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        value: Any = self  # a subclass of int, str or list, or of none of them
        for base in (int, str, list):  # their C-level repr calls no overridden method
            if isinstance(value, base):
                printer.text(f"{type(self).__name__}({base.__repr__(value)})")
                return
        printer.text(f"{type(self).__name__}()")


class Unprintable(Printable):
    """``str`` and ``repr`` both raise."""

    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class RaisingStr(Printable, str):
    """A str subclass whose ``__str__``, ``__repr__`` and ``__len__`` raise."""

    __slots__ = ()

    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    def __len__(self) -> int:
        raise RuntimeError("no len")


class RaisingInt(Printable, int):
    """An int subclass whose ``__str__`` and ``__repr__`` raise."""

    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class RaisingList(Printable, list[Any]):
    """A list that cannot be iterated or measured."""

    def __iter__(self) -> Iterator[Any]:
        raise RuntimeError("no iteration")

    def __len__(self) -> int:
        raise RuntimeError("no len")


class RaisingMapping(Mapping[str, Any]):
    """A mapping whose every access raises."""

    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("no item")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("no iteration")

    def __len__(self) -> int:
        return 1


class Color(enum.Enum):
    RED = "red"
    HUGE = 2**80


def cyclic_list(seed: int) -> list[Any]:
    value: list[Any] = [seed]
    value.append(value)
    return value


def cyclic_dict(seed: int) -> dict[str, Any]:
    value: dict[str, Any] = {"seed": seed}
    value["self"] = value
    value["in_list"] = [value, (value,)]
    return value


def cyclic_exception(message: str) -> BaseException:
    """An exception that is its own cause, raised so that it has a traceback."""
    try:
        raise ValueError(message)
    except ValueError as exc:
        exc.__cause__ = exc
        exc.__context__ = exc
        return exc


def deep(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"d": [value]}
    return value


def raised(message: str) -> BaseException:
    """An exception with a traceback and a chained cause."""
    try:
        try:
            raise KeyError(message)
        except KeyError as inner:
            raise RuntimeError(message) from inner
    except RuntimeError as exc:
        return exc


surrogates = st.integers(0xD800, 0xDFFF).map(chr)
hostile_chars = st.one_of(st.characters(), st.sampled_from(CONTROLS), surrogates)
hostile_text = st.one_of(
    st.text(hostile_chars, max_size=40),
    st.lists(st.sampled_from([*FORMATS, *CONTROLS, "x", " "]), max_size=12).map("".join),
)
huge_text = st.sampled_from([10_000, 100_000, 1_000_000]).map(lambda n: ("ab\n{}%s" * (n // 7 + 1))[:n])
huge_dict = st.integers(1_000, 5_000).map(lambda n: {f"k{i}": i for i in range(n)})
huge_int_keyed = st.integers(1_000, 5_000).map(lambda n: {i: str(i) for i in range(n)})

scalars = st.one_of(
    hostile_text,
    st.binary(max_size=40),  # mostly invalid UTF-8
    st.binary(max_size=20).map(bytearray),
    st.binary(max_size=20).map(as_view),
    st.integers(),
    st.integers(min_value=2**63).map(lambda n: n * 7),
    st.floats(),
    st.complex_numbers(),
    st.decimals(),
    st.fractions(),
    st.booleans(),
    st.none(),
    st.datetimes(),
    st.dates(),
    st.uuids(),
    st.sampled_from([Color.RED, Color.HUGE, Ellipsis, NotImplemented, int, print, Decimal("NaN")]),
    st.builds(Unprintable),
    hostile_text.map(RaisingStr),
    st.integers(-(2**70), 2**70).map(RaisingInt),
    st.builds(RaisingList),
    st.builds(RaisingMapping),
    hostile_text.map(ValueError),
    hostile_text.map(raised),
    hostile_text.map(cyclic_exception),
    st.builds(lambda: dt.datetime.now(dt.UTC)),
)
hostile_keys = st.one_of(
    hostile_text,
    st.integers(),
    st.none(),
    st.floats(),
    st.booleans(),
    st.binary(max_size=8),
    st.tuples(st.integers(), hostile_text),
    st.builds(Unprintable),
    st.frozensets(st.integers(), max_size=3),
)
nested = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.sets(st.integers() | st.text(max_size=5), max_size=4),
        st.dictionaries(hostile_keys, inner, max_size=4),
    ),
    max_leaves=15,
)
specials = st.one_of(
    st.integers().map(cyclic_list),
    st.integers().map(cyclic_dict),
    st.integers(10, 200).map(deep),
    huge_text,
    huge_dict,
    huge_int_keyed,
)
hostile_values = st.one_of(nested, nested, nested, nested, nested, specials)
field_names = st.text(hostile_chars, max_size=16).filter(lambda k: k not in ("exc", "exc_info"))
hostile_fields = st.dictionaries(field_names, hostile_values, max_size=5)
messages = st.one_of(hostile_text, hostile_text, hostile_text, hostile_values, huge_text)
