"""string_truncate: long strings cut with a marker, and the attributes' total size bounded."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fapilog._render import dumps
from fapilog.processors import StringTruncate

from ._redact_support import Sdk, fapilog_logger


def test_long_strings_everywhere_are_cut_with_a_marker() -> None:
    """Strings longer than max_length keep their first max_length characters plus the marker; short ones stay."""
    sdk = Sdk(StringTruncate(5))
    sdk.emit(body="0123456789", attributes={"a": "abcdefgh", "short": "abc", "n": 12345678, "l": [{"x": "zzzzzzz"}]})
    body, attrs = sdk.one()
    assert body == "01234...[truncated]"
    assert attrs == {"a": "abcde...[truncated]", "short": "abc", "n": 12345678, "l": [{"x": "zzzzz...[truncated]"}]}


def test_marker_is_configurable_and_bytes_are_cut() -> None:
    """A custom marker is used, and bytes values are cut as decoded text."""
    sdk = Sdk(StringTruncate(3, marker="~"))
    sdk.emit(attributes={"b": b"abcdef"})
    assert sdk.one()[1] == {"b": b"abc~"}


def test_total_size_is_bounded_largest_first() -> None:
    """With max_total_bytes the largest values become the marker first, until the attributes fit as JSON."""
    sdk = Sdk(StringTruncate(1000, marker="~", max_total_bytes=70))
    sdk.emit(attributes={"big": "x" * 500, "mid": "y" * 30, "small": "z"})
    attrs = sdk.one()[1]
    assert attrs == {"big": "~", "mid": "y" * 30, "small": "z"}
    assert len(dumps(attrs)) <= 70


def test_keys_are_dropped_when_replacing_values_is_not_enough() -> None:
    """When even all-marker values do not fit, the last keys are dropped."""
    sdk = Sdk(StringTruncate(100, marker="~", max_total_bytes=40))
    sdk.emit(attributes={f"key{i}": i for i in range(20)})
    attrs = sdk.one()[1]
    assert len(dumps(attrs)) <= 40
    assert list(attrs) == [f"key{i}" for i in range(len(attrs))]


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((0,), {}, "max_length must be at least 1"),
        (("10",), {}, "max_length must be an integer"),
        ((10,), {"marker": None}, "marker must be a string"),
        ((10,), {"max_total_bytes": 0}, "max_total_bytes must be at least 1"),
    ],
)
def test_bad_configuration_is_refused(args: tuple[Any, ...], kwargs: dict[str, Any], message: str) -> None:
    """Invalid StringTruncate settings raise ValueError naming what is wrong."""
    with pytest.raises(ValueError, match=message):
        StringTruncate(*args, **kwargs)


def test_a_size_guard_keeps_records_when_it_fails() -> None:
    """string_truncate is not a redactor: it does not fail closed, and carries its settings name."""
    assert (StringTruncate.name, StringTruncate.fail_closed) == ("string_truncate", False)


def test_string_truncate_in_a_fapilog_logger() -> None:
    """Through fapilog: message, field values and (over-long) keys are cut in the JSON envelope."""
    with fapilog_logger(StringTruncate(4)) as (logger, capture):
        logger.info("a long message", f="abcdefgh", long_key=1)
        logger.drain()
    (env,) = capture.envelopes()
    assert env["log"]["message"] == "a lo...[truncated]"
    assert json.loads(json.dumps(env))["log"]["data"] == {"f": "abcd...[truncated]", "long...[truncated]": 1}
