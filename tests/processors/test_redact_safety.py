"""ReDoS safety: backtracking-prone patterns are refused at configuration, the built-in ones pass the same check,
and the scan cap bounds any accepted pattern. (tests/reliability scans ``ADVERSARIAL`` inputs under a hang guard;
no test here times a scan: wall-clock bounds do not belong in unit tests on shared machines.)"""

from __future__ import annotations

import re

import pytest

from fapilog.processors import RegexMask
from fapilog.processors._redact_patterns import BUILTIN_PATTERNS
from fapilog.processors._redact_safety import compile_safe

UNSAFE = [
    (r"(a+)+$", "a quantifier inside a quantified group"),
    (r"(a*)*", "can match the empty string"),
    (r"(a|aa)*b", "alternatives inside a quantified group"),
    (r"(a|a)*", "alternatives inside a quantified group"),
    (r"(.*)*x", "can match the empty string"),
    (r"(\w+\s?)+$", "a quantifier inside a quantified group"),
    (r"(.*a){12}", "a quantifier inside a quantified group"),
    (r"(a?){25}a{25}", "can match the empty string"),
    (r"(\d+|\w+)+", "a quantifier inside a quantified group"),
    (r"(ab|a)*c", "alternatives inside a quantified group"),
    (r"(\w\d|\d\w)+", "alternatives inside a quantified group"),
    (r"(x+x+)+y", "a quantifier inside a quantified group"),
    (r"(?=(a+)+)b", "a quantifier inside a quantified group"),
    (r"\d+\d*", "two unbounded quantifiers"),
    (r".*.*=", "two unbounded quantifiers"),
    (r"\d+\.?\d+", "two unbounded quantifiers"),
    (r"(?i:a)+(?i:A)+", "two unbounded quantifiers"),
    (r"(a)\1", "backreferences are not allowed"),
    (r"(?P<x>a)(?P=x)", "backreferences are not allowed"),
    (r"(a)?(?(1)b|c)", "backreferences are not allowed"),
    (r"x*", "matches the empty string"),
]

SAFE = [
    r"ORD-\d{4}",
    r"(?:-\w+)*x",
    r"\w+(?:\.\w+)+",
    r"(?:\w+,)+",
    r"(foo|bar|baz)+",
    r"[0-9](?:[ -]?[0-9]){12,18}",
    r"password\s*[:=]\s*\S+",
    r"[a-z]+[A-Z]+",
    r"(?i)[a-z]+\d+",
    r"(?:ab|cd)*e",
    r"\s*:\s*",
]


@pytest.mark.parametrize(("pattern", "reason"), UNSAFE, ids=[p for p, _ in UNSAFE])
def test_backtracking_prone_patterns_are_refused(pattern: str, reason: str) -> None:
    """Nested quantifiers, overlapping alternatives, adjacent quantifiers and backreferences are refused by name."""
    with pytest.raises(ValueError, match=re.escape(f"unsafe pattern {pattern!r}: ") + ".*" + re.escape(reason)):
        RegexMask([pattern])


@pytest.mark.parametrize("pattern", SAFE)
def test_safe_patterns_are_accepted(pattern: str) -> None:
    """Patterns without those shapes compile, including quantified groups delimited by a separator."""
    assert RegexMask([pattern]).patterns == (pattern,)


def test_builtin_patterns_pass_the_same_check() -> None:
    """Every built-in pattern (and the URL stage's) would be accepted as a user pattern."""
    for builtin in BUILTIN_PATTERNS.values():
        compile_safe(builtin.regex)
    from fapilog.processors import _redact_urls

    for regex in (_redact_urls._USERINFO, _redact_urls._PARAM, _redact_urls._PARAM_NAME, _redact_urls._VALUE_END):
        compile_safe(regex.pattern)


# Units repeated to provoke backtracking in the built-in patterns (scanned by tests/reliability).
ADVERSARIAL = [
    "a",
    "1",
    "1 ",
    "1-",
    "11-1",
    "eyJ-",
    "eyJa.",
    "Bearer ",
    "AKIA",
    "a@",
    "@a.",
    "a.",
    "password=",
    "password: ",
    '"api_key":"',
    "aws_secret_key=",
    "//a:",
    "http://u:p",
    "?token=",
    "&a",
    "123-45-",
]


def test_the_scan_cap_bounds_any_accepted_pattern() -> None:
    """With the default cap, a 1 MB string is scanned in its first 64 KiB only, and the rest is dropped."""
    stage = RegexMask([r"ORD-\d{4}"])
    out = stage.scan("ORD-1234 " + "x" * 1_000_000)
    assert out.startswith("*** x")
    assert out.endswith(f"...[{1_000_009 - 65_536} characters dropped: too long to scan]")
