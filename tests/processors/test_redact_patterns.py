"""regex_mask: built-in secret patterns (Luhn-checked cards, tokens, keys), user patterns, caps and presets."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fapilog._otel import ReadWriteLogRecord
from fapilog.processors import RegexMask
from fapilog.processors._redact_patterns import BUILTIN_PATTERNS, luhn_valid

from ._redact_support import Sdk, fapilog_logger, renderings, wrapped

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def scan(text: str, *patterns: Any, **kwargs: Any) -> str:
    return RegexMask(patterns, **kwargs).scan(text)


@pytest.mark.parametrize(
    "number",
    ["4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "378282246310005", "5500 0000 0000 0004"],
)
def test_valid_card_numbers_are_masked(number: str) -> None:
    """Card numbers passing the Luhn check are masked, with or without space or dash grouping."""
    assert scan(f"paid with {number}, thanks", "credit_card") == "paid with ***, thanks"


@pytest.mark.parametrize("number", ["4111111111111112", "1234567812345678", "4111 1111 1111 1112"])
def test_luhn_invalid_numbers_are_kept(number: str) -> None:
    """16-digit numbers failing the Luhn check (order ids and the like) are not masked."""
    assert not luhn_valid(number.replace(" ", ""))
    assert scan(f"order {number}", "credit_card") == f"order {number}"


def test_short_and_overlong_digit_runs_are_kept() -> None:
    """Twelve digits, and a valid card number inside a longer unbroken digit run, are not card numbers."""
    assert scan("id 411111111111", "credit_card") == "id 411111111111"
    assert scan("id 94111111111111111", "credit_card") == "id 94111111111111111"
    assert luhn_valid("0000004111111111111111")  # leading zeros keep a number valid...
    assert scan("n 12345678904111111111111111", "credit_card") == "n 12345678904111111111111111"  # ...a prefix does not


def test_a_card_among_other_digit_groups_is_found() -> None:
    """A card number next to other digit groups (a date, a quantity) is found group by group and masked."""
    assert scan("on 2024-01-15 4111 1111 1111 1111 2 items", "credit_card") == "on 2024-01-15 *** 2 items"
    assert scan("12 4111111111111111", "credit_card") == "12 ***"


def _reference_cards(text: str) -> str:
    """The card masking spelled out slowly: every stretch of whole groups, 13-19 digits, longest first."""
    spans = [m.span() for m in re.finditer("[0-9]+", text)]
    parts: list[str] = []
    pos = i = 0
    while i < len(spans):
        digits, found = "", -1
        for j in range(i, len(spans)):
            digits += text[spans[j][0] : spans[j][1]]
            if len(digits) > 19:
                break
            if len(digits) >= 13 and luhn_valid(digits):
                found = j
        if found < 0:
            i += 1
            continue
        parts += (text[pos : spans[i][0]], "***")
        pos, i = spans[found][1], found + 1
    return "".join([*parts, text[pos:]]) if parts else text


@given(
    st.lists(st.text(alphabet="0123456789", min_size=1, max_size=8), min_size=1, max_size=12),
    st.lists(st.sampled_from([" ", "-"]), min_size=11, max_size=11),
)
def test_card_search_agrees_with_a_plain_reference(groups: list[str], seps: list[str]) -> None:
    """On any run of digit groups, the linear-time card search masks exactly what a brute-force search would."""
    text = groups[0] + "".join(sep + group for sep, group in zip(seps, groups[1:], strict=False))
    assert scan(text, "credit_card") == _reference_cards(text)


def test_luhn_checksum() -> None:
    """luhn_valid accepts known test numbers and rejects a changed digit."""
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")


def test_bearer_tokens_keep_the_scheme() -> None:
    """The credential after 'Bearer' is masked, any case; the word stays."""
    assert scan("Authorization: Bearer abc.DEF-123_~+/==", "bearer_token") == "Authorization: Bearer ***"
    assert scan("bearer xyz", "bearer_token") == "bearer ***"


def test_jwts_are_masked() -> None:
    """A three-segment eyJ token is masked; text that only starts like one is not."""
    assert scan(f"token={JWT}; next", "jwt") == "token=***; next"
    assert scan("eyJ is not a token", "jwt") == "eyJ is not a token"


def test_aws_access_keys_are_masked() -> None:
    """AKIA/ASIA plus 16 capitals or digits is masked; longer runs and other prefixes are not."""
    assert scan("key AKIAIOSFODNN7EXAMPLE used", "aws_access_key") == "key *** used"
    assert scan("ASIAIOSFODNN7EXAMPLE", "aws_access_key") == "***"
    assert scan("AKIAIOSFODNN7EXAMPLEX", "aws_access_key") == "AKIAIOSFODNN7EXAMPLEX"
    assert scan("AGPAIOSFODNN7EXAMPLE", "aws_access_key") == "AGPAIOSFODNN7EXAMPLE"


def test_aws_secret_keys_need_their_name() -> None:
    """40 base64 characters are masked after an aws secret key name, and left alone anywhere else."""
    assert scan(f"aws_secret_access_key={AWS_SECRET}", "aws_secret_key") == "aws_secret_access_key=***"
    assert scan(f'"SecretAccessKey": "{AWS_SECRET}"', "aws_secret_key") == '"SecretAccessKey": "***"'
    assert scan(f"checksum {AWS_SECRET}", "aws_secret_key") == f"checksum {AWS_SECRET}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("password=hunter2 user=bob", "password=*** user=bob"),
        ("db_password: hunter2", "db_password: ***"),
        ('{"api_key": "k 1 2", "n": 1}', '{"api_key": "***", "n": 1}'),
        ("SECRET_KEY='abc'", "SECRET_KEY='***'"),
        ("authorization: Basic dXNlcjpwYXNz", "authorization: Basic ***"),
        ("token_count=5 tokens=7 secretary: Ann", "token_count=5 tokens=7 secretary: Ann"),
    ],
)
def test_secret_assignments_in_text(text: str, expected: str) -> None:
    """name=value and name: value pairs with a secret name have their value masked (quoted or not)."""
    assert scan(text, "secret_assignment") == expected


def test_emails_and_ssns() -> None:
    """E-mail addresses and dashed US social security numbers are masked where asked for."""
    assert scan("mail bob.smith+x@mail.example.org.", "email") == "mail ***."
    assert scan("ssn 123-45-6789, phone 555-123-4567", "us_ssn") == "ssn ***, phone 555-123-4567"


def test_user_patterns_and_secret_groups() -> None:
    """A user pattern masks its whole match, or only its named 'secret*' groups; flags of compiled ones apply."""
    assert scan("order ORD-1234 ok", r"ORD-\d{4}") == "order *** ok"
    assert scan("pin=1234 and code=99", r"(?:pin|code)=(?P<secret>\d+)") == "pin=*** and code=***"
    assert scan("User Ann", re.compile(r"user (?P<secret_name>\w+)", re.IGNORECASE)) == "User ***"


def test_presets_bring_their_patterns() -> None:
    """presets=['pci_dss'] masks cards; 'credentials' masks tokens; the names are listed on the stage."""
    stage = RegexMask(presets=["PCI-DSS", "credentials"])
    assert stage.scan(f"card 4111111111111111 jwt {JWT}") == "card *** jwt ***"
    assert "credit_card" in stage.patterns
    assert "jwt" in stage.patterns


def test_strings_everywhere_are_scanned() -> None:
    """Attribute values at any depth, keys, list items, bytes and the body are all scanned."""
    sdk = Sdk(RegexMask(["jwt"]))
    sdk.emit(body=f"got {JWT}", attributes={"a": {"b": [f"x {JWT}"]}, "raw": JWT.encode(), JWT: 1})
    body, attrs = sdk.one()
    assert body == "got ***"
    assert attrs == {"a": {"b": ["x ***"]}, "raw": b"***", "***": 1}


def test_exception_attributes_of_an_sdk_record_are_scanned() -> None:
    """The exception message and stack the SDK records for emit(exception=...) are masked."""
    sdk = Sdk(RegexMask(["credit_card"]))
    try:
        raise ValueError("charge failed for 4111 1111 1111 1111")
    except ValueError as exc:
        sdk.emit(body="failed", exception=exc)
    _body, attrs = sdk.one()
    assert "4111" not in attrs["exception.message"]
    assert "4111" not in attrs["exception.stacktrace"]


def test_long_strings_are_cut_without_splitting_a_secret() -> None:
    """Past max_string_length the rest is dropped behind a marker; a secret across the cut is masked whole."""
    text = "a" * 95 + " " + JWT + " " + "b" * 500
    out = scan(text, "jwt", max_string_length=100)
    assert out == "a" * 95 + " ***...[501 characters dropped: too long to scan]"
    assert scan("z" * 50, "jwt", max_string_length=100) == "z" * 50


def test_custom_objects_are_judged_by_their_text() -> None:
    """Standalone, an object whose text holds a secret is replaced by its masked text; others are kept."""

    class Holder:
        def __str__(self) -> str:
            return f"holder of {JWT}"

    other = object()
    stage = RegexMask(["jwt"])
    record = _record({"h": Holder(), "o": other})
    stage.process(record)
    attrs: Any = record.log_record.attributes
    assert attrs["h"] == "holder of ***"
    assert attrs["o"] is other


def test_odd_containers_keep_their_kind() -> None:
    """Standalone, a changed tuple stays a tuple, a changed set becomes a list, unchanged ones are kept as they are."""
    untouched = frozenset({"a"})
    record = _record({"t": ("x", JWT), "s": {JWT}, "u": untouched})
    RegexMask(["jwt"]).process(record)
    attrs: Any = record.log_record.attributes
    assert attrs["t"] == ("x", "***")
    assert attrs["s"] == ["***"]
    assert attrs["u"] is untouched


def test_mask_is_configurable() -> None:
    """The mask text can be changed."""
    assert scan("AKIAIOSFODNN7EXAMPLE", "aws_access_key", mask="[key]") == "[key]"


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("jwt",), {}, "patterns must be a list"),
        (([3],), {}, "patterns must contain names, strings or compiled patterns"),
        (([re.compile(b"x")],), {}, "not bytes"),
        (([r"(a+)+$"],), {}, r"unsafe pattern '\(a\+\)\+\$'"),
        (([r"(unclosed"],), {}, "not a valid regular expression"),
        ((), {"presets": ["gdpr"]}, "unknown redaction preset 'gdpr'; known: credentials, pci_dss, hipaa_phi"),
        ((), {"max_string_length": 0}, "max_string_length must be at least 1"),
        ((), {"mask": None}, "mask must be a string"),
    ],
)
def test_bad_configuration_is_refused(args: tuple[Any, ...], kwargs: dict[str, Any], message: str) -> None:
    """Invalid RegexMask settings raise ValueError at construction, naming what is wrong."""
    with pytest.raises(ValueError, match=message):
        RegexMask(*args, **kwargs)


def test_a_failing_stage_drops_the_record_alone() -> None:
    """Standalone, a regex mask whose processing raises drops the record."""

    class Broken(RegexMask):
        def process(self, record: ReadWriteLogRecord) -> bool:
            raise RuntimeError("boom")

    sdk = wrapped(Broken, ["jwt"])
    sdk.emit(body=JWT)
    assert sdk.records() == []


def test_regex_mask_in_a_fapilog_logger() -> None:
    """Through fapilog: message, fields and a logged exception's message and stack are masked everywhere."""
    with fapilog_logger(RegexMask(presets=["credentials", "pci_dss"])) as (logger, capture):
        try:
            raise RuntimeError(f"upstream said {JWT}")
        except RuntimeError as exc:
            logger.error("card 4111 1111 1111 1111 declined", exc=exc, note=f"key AKIAIOSFODNN7EXAMPLE {JWT}")
        logger.drain()
    (env,) = capture.envelopes()
    assert env["log"]["message"] == "card *** declined"
    assert env["log"]["data"]["note"] == "key *** ***"
    assert env["log"]["diagnostics"]["exception"]["error.message"] == "upstream said ***"
    text = renderings(capture)
    for secret in (JWT, "4111 1111", "AKIAIOSFODNN7EXAMPLE"):
        assert secret not in text


def test_every_builtin_is_documented_by_name() -> None:
    """The built-in pattern names are the documented ones."""
    assert set(BUILTIN_PATTERNS) == {
        "credit_card",
        "bearer_token",
        "jwt",
        "aws_access_key",
        "aws_secret_key",
        "secret_assignment",
        "email",
        "us_ssn",
    }


def _record(attributes: dict[Any, Any]) -> ReadWriteLogRecord:
    from fapilog._otel import InstrumentationScope, SeverityNumber, new_record

    return new_record(1, SeverityNumber.INFO, "INFO", "m", attributes, InstrumentationScope("t"), None)
