"""field_mask and field_blocker: redaction by key name, alone in an SDK pipeline and inside fapilog."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from fapilog._otel import ReadWriteLogRecord
from fapilog.processors import FieldBlocker, FieldMask

from ._redact_support import Sdk, fapilog_logger, nested, plain, renderings, wrapped


def masked(fields: list[str], attributes: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    sdk = Sdk(FieldMask(fields, **kwargs))
    sdk.emit(attributes=attributes)
    return sdk.one()[1]


def test_names_match_any_case_at_any_depth() -> None:
    """A name masks its key whatever the case, at the top level and nested in maps and lists."""
    attrs = {"PASSWORD": "a", "user": {"Password": "b", "items": [{"password": "c"}]}, "other": "kept"}
    out = masked(["password"], attrs)
    assert out["PASSWORD"] == "***"
    assert out["user"]["Password"] == "***"
    assert out["user"]["items"][0]["password"] == "***"
    assert out["other"] == "kept"


def test_names_match_whole_words_of_keys() -> None:
    """A name matches keys containing its words (any separator, camelCase), not keys merely containing its letters."""
    attrs = {
        "db_password": 1,
        "userPassword": 2,
        "X-Api-Key": 3,
        "db.password": 4,
        "passwordless": 5,
        "author": 6,
        "oauth_provider": 7,
    }
    out = masked(["password", "api_key", "auth"], attrs)
    assert [k for k, v in out.items() if v == "***"] == ["db_password", "userPassword", "X-Api-Key", "db.password"]


def test_metadata_words_after_a_name_keep_the_key() -> None:
    """Keys that describe a secret (its count, length, type, id, expiry) are kept; keys that hold it are masked."""
    attrs = {"token_count": 3, "token_type": "bearer", "token_expires_at": 1, "access_token": "x", "token_hash": "h"}
    out = masked(["token"], attrs)
    assert out == {
        "token_count": 3,
        "token_type": "bearer",
        "token_expires_at": 1,
        "access_token": "***",
        "token_hash": "***",
    }


def test_exact_mode_matches_only_the_whole_name() -> None:
    """match='exact' masks keys with exactly the name's words (any case or separator) and nothing more."""
    out = masked(["api_key"], {"API-KEY": 1, "apiKey": 2, "x_api_key": 3}, match="exact")
    assert out == {"API-KEY": "***", "apiKey": "***", "x_api_key": 3}


def test_dotted_paths_wildcards_and_lists() -> None:
    """Paths match the last keys to a value (lists transparent); '*' stands for any one key."""
    attrs = {
        "user": {"password": "a", "name": "n"},
        "admin": {"password": "b"},
        "users": [{"password": "c"}, {"password": "d", "id": 1}],
        "headers": {"authorization": "e", "accept": "f"},
        "deep": {"cfg": {"secret": "g"}},
        "secret": "top",
    }
    out = masked(["user.password", "users.password", "headers.*", "*.secret"], attrs)
    assert out["user"] == {"password": "***", "name": "n"}
    assert out["admin"] == {"password": "b"}
    assert out["users"] == [{"password": "***"}, {"password": "***", "id": 1}]
    assert out["headers"] == {"authorization": "***", "accept": "***"}
    assert out["deep"] == {"cfg": {"secret": "***"}}
    assert out["secret"] == "top"  # '*.secret' needs a key above it


def test_a_dotted_path_also_matches_a_flat_dotted_key() -> None:
    """OpenTelemetry-style flat keys ('http.request.header.cookie') match the same path as nested maps."""
    out = masked(["header.cookie"], {"http.request.header.cookie": "c", "http": {"header": {"cookie": "d"}}})
    assert out == {"http.request.header.cookie": "***", "http": {"header": {"cookie": "***"}}}


def test_any_value_type_under_a_matching_key_is_masked() -> None:
    """Whatever sits under a matching key (a map, a list, a number, None) becomes the mask."""
    out = masked(["secret"], {"secret": {"a": 1}, "secrets": [1, 2], "client_secret": None, "secret_id": 5})
    assert out == {"secret": "***", "secrets": [1, 2], "client_secret": "***", "secret_id": 5}


def test_mask_is_configurable() -> None:
    """The mask text can be changed."""
    assert masked(["pin"], {"pin": "1234"}, mask="<hidden>") == {"pin": "<hidden>"}


def test_string_body_is_left_alone_and_a_structured_body_is_walked() -> None:
    """A string body is the message (untouched); a map body is masked like attributes."""
    sdk = Sdk(FieldMask(["password"]))
    sdk.emit(body="password reset for bob")
    sdk.emit(body={"password": "p", "user": "bob"})
    bodies = [plain(r.log_record.body) for r in sdk.records()]
    assert bodies == ["password reset for bob", {"password": "***", "user": "bob"}]


def test_the_callers_objects_are_never_changed() -> None:
    """Masking copies what it changes: the caller's nested dicts and lists keep their secrets."""
    payload = {"user": {"password": "p", "tags": ["a"]}, "list": [{"token": "t"}]}
    before = copy.deepcopy(payload)
    stage = FieldMask(["password", "token"])
    record = _record({"payload": payload})
    stage.process(record)
    assert payload == before
    assert record.log_record.attributes == {
        "payload": {"user": {"password": "***", "tags": ["a"]}, "list": [{"token": "***"}]}
    }


def test_unchanged_attributes_are_not_copied() -> None:
    """A record with nothing to mask keeps its very attribute mapping."""
    attrs = {"a": {"b": [1, 2]}, "c": "d"}
    record = _record(attrs)
    FieldMask(["password"]).process(record)
    assert record.log_record.attributes is attrs


def test_past_max_depth_the_rest_is_masked() -> None:
    """Maps nested deeper than max_depth are masked whole (fail closed), whatever their keys."""
    out = masked(["password"], {"a": nested(5, "value")}, max_depth=3)
    assert out == {"a": {"k": {"k": "***"}}}


def test_past_max_keys_scanned_the_rest_is_masked() -> None:
    """After max_keys_scanned keys and items in one record, the remaining values are masked unchecked."""
    attrs = {f"k{i}": i for i in range(10)}
    out = masked(["password"], attrs, max_keys_scanned=4)
    assert list(out.values()) == [0, 1, 2, 3] + ["***"] * 6


def test_cycles_and_odd_values_do_not_raise() -> None:
    """A self-referencing map, non-string keys, sets and custom objects are handled without errors."""
    cyclic: dict[str, Any] = {"password": "p"}
    cyclic["self"] = cyclic

    class Odd:
        def __str__(self) -> str:
            raise RuntimeError("no")

    record = _record({"c": cyclic, "n": {1: {"password": 2}}, "s": {("a", 1)}, "o": Odd()})
    assert FieldMask(["password"], max_depth=4).process(record)
    attrs: Any = record.log_record.attributes
    assert attrs["c"]["password"] == "***"
    assert attrs["c"]["self"]["self"]["self"] == "***"  # depth bound reached inside the cycle
    assert attrs["n"] == {1: {"password": "***"}}
    assert cyclic["password"] == "p"


def test_bound_context_of_a_fapilog_record_is_masked_too() -> None:
    """The bound context a fapilog record carries apart from its attributes is masked as well."""
    record = _record({"token": "t"})
    record.context = {"token": "t", "request_id": "r"}  # type: ignore[attr-defined]
    FieldMask(["token"]).process(record)
    assert record.context == {"token": "***", "request_id": "r"}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fields": "password"}, "fields must be a list of strings"),
        ({"fields": ["ok", 3]}, "fields must contain only strings"),
        ({"fields": ["a..b"]}, "empty segment"),
        ({"fields": ["pass*"]}, "'*' must stand alone"),
        ({"fields": ["--"]}, "has no letters or digits"),
        ({"fields": ["a"], "mask": 0}, "mask must be a string"),
        ({"fields": ["a"], "match": "fuzzy"}, "match must be 'words' or 'exact'"),
        ({"fields": ["a"], "max_depth": 0}, "max_depth must be between 1 and 256"),
        ({"fields": ["a"], "max_keys_scanned": True}, "max_keys_scanned must be an integer"),
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, Any], message: str) -> None:
    """Invalid FieldMask settings raise ValueError at construction, naming what is wrong."""
    with pytest.raises(ValueError, match=message.replace("*", r"\*").replace("(", r"\(")):
        FieldMask(**kwargs)


def test_a_failing_stage_drops_the_record_alone() -> None:
    """Standalone, a field mask whose processing raises drops the record instead of passing it on."""

    class Broken(FieldMask):
        def process(self, record: ReadWriteLogRecord) -> bool:
            raise RuntimeError("boom")

    sdk = wrapped(Broken, ["password"])
    sdk.emit(attributes={"password": "p"})
    assert sdk.records() == []
    ok = wrapped(FieldMask, ["password"])
    ok.emit(attributes={"password": "p"})
    assert ok.one()[1] == {"password": "***"}


def test_field_mask_in_a_fapilog_logger() -> None:
    """Through fapilog: fields, bound context and extra fields are masked in the envelope and renderings."""
    with fapilog_logger(FieldMask(["password", "api_key"])) as (logger, capture):
        logger.bind(api_key="bound-secret-1")
        logger.info("login", password="secret-pw-2", user={"name": "bob", "password": "secret-pw-3"})
        logger.clear_context()
        logger.drain()
    (env,) = capture.envelopes()
    assert env["log"]["context"]["api_key"] == "***"
    assert env["log"]["data"] == {"password": "***", "user": {"name": "bob", "password": "***"}}
    text = renderings(capture)
    assert "secret-pw" not in text
    assert "bound-secret" not in text
    assert json.loads(text.splitlines()[0])["log"]["data"]["password"] == "***"


def test_blocker_replaces_or_removes_whole_fields() -> None:
    """field_blocker replaces matching fields (any depth, any case) or, with replacement=None, removes them."""
    attrs = {"Body": "raw", "req": {"headers": {"a": 1}, "path": "/"}, "keep": 1}
    sdk = Sdk(FieldBlocker(["body", "headers"]))
    sdk.emit(attributes=attrs)
    assert sdk.one()[1] == {"Body": "[REDACTED]", "req": {"headers": "[REDACTED]", "path": "/"}, "keep": 1}
    sdk = Sdk(FieldBlocker(["body", "headers"], replacement=None))
    sdk.emit(attributes=attrs)
    assert sdk.one()[1] == {"req": {"path": "/"}, "keep": 1}


def test_blocker_allowed_keys_are_kept_and_looked_into() -> None:
    """Keys in 'allowed' are exempt from blocking, and their contents are still checked."""
    attrs = {"payload": {"payload": "x"}, "raw_payload": "y", "payload_meta": {"payload": "z"}}
    sdk = Sdk(FieldBlocker(["payload"], allowed=["payload_meta"]))
    sdk.emit(attributes=attrs)
    assert sdk.one()[1] == {
        "payload": "[REDACTED]",
        "raw_payload": "[REDACTED]",
        "payload_meta": {"payload": "[REDACTED]"},
    }


def test_blocker_bad_configuration_is_refused() -> None:
    """field_blocker refuses a bare string, non-string replacements and bad allowed lists."""
    with pytest.raises(ValueError, match="blocked must be a list"):
        FieldBlocker("body")
    with pytest.raises(ValueError, match="replacement must be a string"):
        FieldBlocker(["body"], replacement=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="allowed must contain only strings"):
        FieldBlocker(["body"], allowed=[None])  # type: ignore[list-item]


def test_names_and_settings_names() -> None:
    """The stages carry their settings names and fail closed."""
    assert (FieldMask.name, FieldBlocker.name) == ("field_mask", "field_blocker")
    assert FieldMask.fail_closed
    assert FieldBlocker.fail_closed


def _record(attributes: dict[Any, Any]) -> ReadWriteLogRecord:
    """A fapilog record holding ``attributes`` as they are (no SDK wrapping, no coercion)."""
    from fapilog._otel import InstrumentationScope, SeverityNumber, new_record

    return new_record(1, SeverityNumber.INFO, "INFO", "m", attributes, InstrumentationScope("t"), None)
