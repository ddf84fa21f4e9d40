"""url_credentials: URL passwords and secret query parameters masked in every string, alone and in fapilog."""

from __future__ import annotations

from typing import Any

import pytest

from fapilog._otel import ReadWriteLogRecord
from fapilog.processors import UrlCredentials

from ._redact_support import Sdk, fapilog_logger, renderings, wrapped


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgres://admin:s3cret@db:5432/app", "postgres://admin:***@db:5432/app"),
        ("postgresql+asyncpg://u:p@h/db", "postgresql+asyncpg://u:***@h/db"),
        ("connect to https://bob:pa:ss@example.com/x then", "connect to https://bob:***@example.com/x then"),
        ("amqp://guest:p@ss@rabbit//", "amqp://guest:***@rabbit//"),
        ("//svc:pw@host/path", "//svc:***@host/path"),
        ("redis://:only-password@cache:6379/0", "redis://:***@cache:6379/0"),
        ('{"url": "https://u:p@h"}', '{"url": "https://u:***@h"}'),
    ],
)
def test_url_passwords_are_masked_and_users_kept(text: str, expected: str) -> None:
    """user:password@ becomes user:***@ in any URL-like text; the password runs to the host's '@'."""
    assert UrlCredentials().scan(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "ssh://git@github.com/org/repo.git",
        "http://host:8080/x?to=a@b.com",
        "mail bob@example.com",
        "http://example.com/path",
        "no url here",
    ],
)
def test_urls_without_a_password_are_kept(text: str) -> None:
    """A user name alone, a port, and '@' outside the authority are not credentials."""
    assert UrlCredentials().scan(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://h/cb?token=abc&page=2", "https://h/cb?token=***&page=2"),
        ("/api?API_KEY=k1&apikey=k2&key=k3", "/api?API_KEY=***&apikey=***&key=***"),
        (
            "s3?X-Amz-Credential=AK%2F1&X-Amz-Signature=ff00&X-Amz-Expires=60",
            "s3?X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Expires=60",
        ),
        (
            "/cb#access_token=t1&token_type=bearer&expires_in=3600",
            "/cb#access_token=***&token_type=bearer&expires_in=3600",
        ),
        ("blob?sv=2020&sig=abc%3D", "blob?sv=2020&sig=***"),
        ("/login?session_id=s1&client_id=c", "/login?session_id=***&client_id=c"),
        ("form a=1&password=p w", "form a=1&password=*** w"),
        ("?author=ann&oauth_provider=gh&token_count=2", "?author=ann&oauth_provider=gh&token_count=2"),
        ('"https://h/?secret=x"', '"https://h/?secret=***"'),
    ],
)
def test_secret_query_parameters_are_masked(text: str, expected: str) -> None:
    """Parameters whose names read as secrets get '***'; describing names (token_type, expires_in) are kept."""
    assert UrlCredentials().scan(text) == expected


def test_query_param_names_are_configurable() -> None:
    """query_params replaces the default list of secret parameter names."""
    stage = UrlCredentials(query_params=["code"])
    assert stage.scan("/cb?code=c1&token=t") == "/cb?code=***&token=t"
    assert UrlCredentials().scan("/cb?code=c1") == "/cb?code=c1"
    extended = UrlCredentials(query_params=[*UrlCredentials.DEFAULT_QUERY_PARAMS, "code"])
    assert extended.scan("/cb?code=c1&token=t") == "/cb?code=***&token=***"


def test_every_string_of_the_record_is_scanned() -> None:
    """Attributes at any depth, list items, bytes and the body are scanned; other values are kept."""
    sdk = Sdk(UrlCredentials(mask="<x>"))
    sdk.emit(
        body="GET https://u:p@h/?token=t",
        attributes={"dsn": "mysql://root:pw@db/x", "n": 3, "calls": [{"url": "https://h/?sig=s"}], "b": b"ftp://a:b@c"},
    )
    body, attrs = sdk.one()
    assert body == "GET https://u:<x>@h/?token=<x>"
    assert attrs == {
        "dsn": "mysql://root:<x>@db/x",
        "n": 3,
        "calls": [{"url": "https://h/?sig=<x>"}],
        "b": b"ftp://a:<x>@c",
    }


def test_a_url_across_the_length_cap_is_masked_whole() -> None:
    """Past max_string_length the text is cut, but never inside a URL's credentials."""
    text = "x" * 90 + " https://user:password@host/?token=abc " + "y" * 200
    out = UrlCredentials(max_string_length=100).scan(text)
    assert out == "x" * 90 + " https://user:***@...[216 characters dropped: too long to scan]"


def test_unchanged_strings_and_records_are_not_copied() -> None:
    """A string without credentials is returned as the very same object; so are untouched attributes."""
    text = "see https://example.com/?page=2"
    assert UrlCredentials().scan(text) is text
    record = _record({"a": [text]})
    attrs = record.log_record.attributes
    UrlCredentials().process(record)
    assert record.log_record.attributes is attrs


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mask": 1}, "mask must be a string"),
        ({"query_params": "token"}, "query_params must be a list of strings"),
        ({"query_params": ["a.b"]}, "must be a plain parameter name"),
        ({"max_string_length": -1}, "max_string_length must be at least 1"),
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, Any], message: str) -> None:
    """Invalid UrlCredentials settings raise ValueError naming what is wrong."""
    with pytest.raises(ValueError, match=message):
        UrlCredentials(**kwargs)


def test_a_failing_stage_drops_the_record_alone() -> None:
    """Standalone, a url_credentials stage whose processing raises drops the record."""

    class Broken(UrlCredentials):
        def process(self, record: ReadWriteLogRecord) -> bool:
            raise RuntimeError("boom")

    sdk = wrapped(Broken)
    sdk.emit(body="https://u:p@h")
    assert sdk.records() == []
    assert (UrlCredentials.name, UrlCredentials.fail_closed) == ("url_credentials", True)


def test_url_credentials_in_a_fapilog_logger() -> None:
    """Through fapilog: message, fields, bound context and an exception text are masked in every rendering."""
    with fapilog_logger(UrlCredentials()) as (logger, capture):
        logger.bind(upstream="https://svc:bound-pw-1@api/")
        try:
            raise ConnectionError("cannot reach postgres://app:exc-pw-2@db/main")
        except ConnectionError as exc:
            logger.warning("retrying https://u:msg-pw-3@h/?token=tok-4", exc=exc, dsn="redis://:field-pw-5@r/0")
        logger.clear_context()
        logger.drain()
    (env,) = capture.envelopes()
    assert env["log"]["message"] == "retrying https://u:***@h/?token=***"
    assert env["log"]["context"]["upstream"] == "https://svc:***@api/"
    text = renderings(capture)
    for secret in ("bound-pw-1", "exc-pw-2", "msg-pw-3", "tok-4", "field-pw-5"):
        assert secret not in text


def _record(attributes: dict[str, Any]) -> ReadWriteLogRecord:
    from fapilog._otel import InstrumentationScope, SeverityNumber, new_record

    return new_record(1, SeverityNumber.INFO, "INFO", "m", attributes, InstrumentationScope("t"), None)
