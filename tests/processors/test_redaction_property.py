"""The redaction promise, property-tested: a secret under a redacted key or in a secret pattern never gets out.

For arbitrary nested payloads with a secret placed at a random path under a key CREDENTIALS, PCI_DSS or
HIPAA_PHI redacts (random key casing), bound as context, or embedded in text as a Luhn-valid card number, a JWT,
a bearer token, an AWS access key or a ``password=`` assignment (in the message, a field or an exception's
message), the secret appears in none of: the JSON envelopes, the pretty lines, the envelope dicts, fapilog's
own diagnostics (enabled, with an exporter that fails and puts the records it got in its error message).
"""

from __future__ import annotations

import json
import string
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fapilog._otel import LogRecordExportResult, ReadableLogRecord
from fapilog._settings import Settings
from fapilog.processors import CREDENTIALS, HIPAA_PHI, PCI_DSS, UrlCredentials, redaction_stages
from fapilog.processors._redact_patterns import luhn_valid

from ._redact_support import fapilog_logger, renderings
from .test_redaction_presets import NOT_SECRETS

SECRET_KEYS = sorted({*CREDENTIALS.fields, *PCI_DSS.fields, *HIPAA_PHI.fields})
TEXT = string.ascii_letters + string.digits + " .,:;!?-_/()[]{}#%"
B64URL = string.ascii_letters + string.digits + "-_"
TOKEN68 = string.ascii_letters + string.digits + "-._~+/"
RESERVED = {"exc", "exc_info"}


class FailingExporter:
    """An exporter whose every export raises, quoting the records it was given in the error."""

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        quoted = " | ".join(f"{r.log_record.body!r} {dict(r.log_record.attributes or {})!r}" for r in batch)
        raise RuntimeError(f"sink down while sending {quoted}")

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


@st.composite
def card_numbers(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A Luhn-valid card number, grouped by fours with spaces or dashes, or not grouped."""
    body = draw(st.text(alphabet=string.digits, min_size=12, max_size=18))
    check = next(d for d in string.digits if luhn_valid(body + d))
    digits = body + check
    sep = draw(st.sampled_from(["", " ", "-"]))
    shown = sep.join(digits[i : i + 4] for i in range(0, len(digits), 4))
    return shown, [digits, shown]


@st.composite
def pattern_secrets(draw: st.DrawFn) -> tuple[str, list[str]]:
    """Text holding a secret a pattern catches, and the strings that must not get out."""
    kind = draw(st.sampled_from(["card", "jwt", "bearer", "aws", "assignment"]))
    if kind == "card":
        return draw(card_numbers())
    if kind == "jwt":
        parts = [draw(st.text(alphabet=B64URL, min_size=12, max_size=40)) for _ in range(3)]
        token = f"eyJ{parts[0]}.eyJ{parts[1]}.{parts[2]}"
        return token, [token, parts[2]]
    if kind == "bearer":
        token = draw(st.text(alphabet=TOKEN68, min_size=16, max_size=60))
        return f"Authorization: Bearer {token}", [token]
    if kind == "aws":
        key = "AKIA" + draw(st.text(alphabet=string.ascii_uppercase + string.digits, min_size=16, max_size=16))
        return key, [key]
    value = "Pw" + draw(st.text(alphabet=string.ascii_letters + string.digits + "!$%*", min_size=8, max_size=24))
    name = draw(st.sampled_from(["password", "pwd", "api_key", "client_secret", "token"]))
    return f"{name}={value}", [value]


def random_case(draw: st.DrawFn, name: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
    return "".join(c.upper() if flip else c.lower() for c, flip in zip(name, flips, strict=True))


keys = st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=6).filter(lambda k: k not in RESERVED)
leaves = st.one_of(st.integers(), st.text(alphabet=TEXT, max_size=16), st.none(), st.booleans(), st.floats(0, 1))
payloads = st.recursive(
    leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)),
    max_leaves=12,
)


def place(draw: st.DrawFn, payload: dict[str, Any], key: str, value: Any) -> None:
    """Put ``key: value`` in a map at a random depth of ``payload`` (inside lists too)."""
    node: Any = payload
    while True:
        children = [v for v in (node.values() if isinstance(node, dict) else node) if isinstance(v, dict | list)]
        if not children or draw(st.booleans()):
            break
        node = draw(st.sampled_from(children))
    if isinstance(node, list):
        node.append({key: value})
    else:
        node[key] = value


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    """One log call: payload with a secret under a key, bound context, message, exception, and the secrets."""
    payload: dict[str, Any] = draw(st.dictionaries(keys, payloads, max_size=4))
    prefix, suffix = draw(st.text(alphabet=TEXT, max_size=20)), draw(st.text(alphabet=TEXT, max_size=20))
    key_secret = "Zq" + draw(st.text(alphabet=string.ascii_letters + string.digits, min_size=10, max_size=20))
    bound_secret = "Bq" + draw(st.text(alphabet=string.ascii_letters, min_size=10, max_size=20))
    text_secret, text_forbidden = draw(pattern_secrets())
    forbidden = [key_secret, bound_secret, *text_forbidden]
    public = json.dumps(payload) + prefix + suffix + json.dumps(NOT_SECRETS)
    assume(not any(secret in public for secret in forbidden))  # a secret must not also be ordinary data
    wrapper = draw(st.sampled_from(["plain", "list", "map"]))
    value: Any = {"plain": key_secret, "list": [key_secret], "map": {"x": key_secret}}[wrapper]
    place(draw, payload, random_case(draw, draw(st.sampled_from(SECRET_KEYS))), value)
    text = f"{prefix} {text_secret} {suffix}"
    where = draw(st.sampled_from(["message", "field", "exception"]))
    if where == "field":
        place(draw, payload, "note", text)
    payload.update(NOT_SECRETS)
    return {
        "payload": payload,
        "message": text if where == "message" else "event",
        "exception": text if where == "exception" else None,
        "bound": {random_case(draw, draw(st.sampled_from(CREDENTIALS.fields))): bound_secret},
        "forbidden": forbidden,
    }


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases())
def test_secrets_never_reach_any_output(case: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    """No secret reaches envelopes, pretty lines or diagnostics; look-alike keys survive with their values."""
    capsys.readouterr()
    stages = [UrlCredentials(), *redaction_stages(["credentials", "pci_dss", "hipaa_phi"])]
    diagnostics = Settings(core={"internal_logging_enabled": True})
    with fapilog_logger(*stages, settings=diagnostics, sinks=[FailingExporter()]) as (logger, capture):
        logger.bind(**case["bound"])
        if case["exception"] is not None:
            try:
                raise ValueError(case["exception"])
            except ValueError as exc:
                logger.error(case["message"], exc=exc, **case["payload"])
        else:
            logger.info(case["message"], **case["payload"])
        logger.clear_context()
        logger.drain()
    (envelope,) = capture.envelopes()
    err = capsys.readouterr().err
    assert "export raised" in err  # the failing exporter was reported, records quoted
    outputs = renderings(capture) + json.dumps(envelope) + err
    for secret in case["forbidden"]:
        assert secret not in outputs
    fields = {**envelope["log"]["data"], **envelope["log"]["context"]}  # session_id is a context key
    assert {k: fields[k] for k in NOT_SECRETS} == NOT_SECRETS
