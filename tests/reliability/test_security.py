"""Security: a secret from the redaction presets reaches no output (files, streams, OTLP, diagnostics, the
fallback exporter); settings keep passwords and tokens out of repr, str and error messages; every pattern run
over log or request data is ReDoS-safe; request ids and header values from clients are sanitised."""

from __future__ import annotations

import json
import re
import string
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args
from urllib.parse import quote

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, SecretStr

from fapilog import Settings, SettingsError, get_logger
from fapilog._render import pretty_line
from fapilog.exporters.http import HttpExporter
from fapilog.processors._redact_patterns import BUILTIN_PATTERNS, RegexMask
from fapilog.processors._redact_safety import compile_safe
from fapilog.processors._redact_urls import UrlCredentials
from fapilog.testing import CaptureExporter
from tests.exporters._otlp_receiver import Received
from tests.exporters.test_otlp import http_receiver  # noqa: F401 - the receiver fixture
from tests.instrumentation.test_fastapi import logs, make_app, serve
from tests.processors.test_redaction_property import FailingExporter, cases
from tests.test_doctor import refusing_port

from ._figures import (
    FASTAPI_EXAMPLES,
    REDOS_CHECKER_EXAMPLES,
    REDOS_SHAPES,
    REDOS_SIZES,
    SECRET_EXAMPLES,
    hypothesis_settings,
)
from ._outputs import Outputs
from .conftest import Figures

pytestmark = pytest.mark.reliability

PRESETS = ["credentials", "pci_dss", "hipaa_phi"]


# ---- secrets through every output ---------------------------------------------------------------------------


@pytest.fixture
def secured(tmp_path: Path, http_receiver: tuple[str, Received]) -> Iterator[tuple[Any, Outputs, CaptureExporter]]:  # noqa: F811
    """A logger configured by settings alone (the three presets, fields and patterns, URL credentials) writing to
    every output, to an exporter that fails quoting what it got, and to an HTTP exporter whose server is down,
    whose fallback exporter gets the batches; diagnostics on."""
    outputs = Outputs(tmp_path, http_receiver)
    fallback = CaptureExporter()
    settings = Settings(
        core={
            "log_level": "DEBUG",
            "internal_logging_enabled": True,
            "redactors": ["field_mask", "regex_mask", "url_credentials"],
            "batch_timeout_seconds": 60,
        },
        redactor_config={"field_mask": {"presets": PRESETS}, "regex_mask": {"presets": PRESETS}},
    )
    with refusing_port() as port:  # held until the end: no other process can start listening there
        dead = HttpExporter(
            f"http://127.0.0.1:{port}/logs",
            batch_size=1,
            batch_timeout=0,
            max_retries=0,
            breaker_threshold=1,
            breaker_recovery=3600,
            fallback=fallback,
            timeout=2,
        )
        sinks = [*outputs.sinks(), FailingExporter(), dead]
        logger = get_logger("secured", settings=settings, sinks=sinks, reuse=False)
        logger._pipeline.diagnostics.window = 0  # every diagnostic written: none is hidden by the rate limit
        logger.info("warm-up: the first failed request opens the circuit; later batches go to the fallback")
        assert logger.flush(30)
        yield logger, outputs, fallback
        logger.drain()


def everything_written(outputs: Outputs, fallback: CaptureExporter, err: str) -> str:
    """Every byte the case produced, in every output, as one text."""
    parts = [
        (outputs.directory / name).read_bytes().decode("utf-8", "backslashreplace")
        for name in ("out.jsonl", "out.log", "out.otlp.jsonl")
    ]
    parts += [outputs.json_stream.getvalue(), outputs.pretty_stream.getvalue(), err]
    parts += [str(outputs.received.records())]
    parts += [json.dumps(outputs.capture.envelopes()), json.dumps([e["log"] for e in fallback.envelopes()])]
    parts += [pretty_line(r, colors=False) for r in fallback.records]
    return "\n".join(parts)


def test_no_preset_secret_reaches_any_output_diagnostics_or_the_fallback(
    secured: tuple[Any, Outputs, CaptureExporter], capsys: pytest.CaptureFixture[str], figures: Figures
) -> None:
    """Secrets under preset keys (any case, nested, bound) or in text (cards, JWTs, bearer tokens, AWS keys,
    password=...) in message, fields or exception reach no file, stream, OTLP request, diagnostic or fallback."""
    logger, outputs, fallback = secured
    runs = 0

    @hypothesis_settings(SECRET_EXAMPLES)
    @given(case=cases())
    def run(case: dict[str, Any]) -> None:
        nonlocal runs
        runs += 1
        outputs.mark()
        fallback.clear()
        capsys.readouterr()
        logger.bind(**case["bound"])
        if case["exception"] is not None:
            try:
                raise ValueError(case["exception"])
            except ValueError as exc:
                logger.error(case["message"], exc=exc, **case["payload"])
        else:
            logger.info(case["message"], **case["payload"])
        logger.clear_context()
        assert logger.flush(30)
        outputs.check(["INFO" if case["exception"] is None else "ERROR"])  # every output got the record to search
        err = capsys.readouterr().err
        assert "export raised" in err  # the failing exporter's error (quoting its records) was reported
        assert len(fallback.records) == 1  # the down server's batch went to the fallback
        written = everything_written(outputs, fallback, err)
        for secret in case["forbidden"]:
            assert secret not in written

    run()
    figures.add("secret_examples", runs)
    assert runs == SECRET_EXAMPLES


# ---- settings --------------------------------------------------------------------------------------------------

SECRET_NAME = re.compile(r"password|secret|token|dsn|api_?key|credential", re.IGNORECASE)
HEADER_NAME = re.compile(r"headers", re.IGNORECASE)


def settings_fields(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, Any, Any]]:
    """Every field of ``model`` and its nested models: (dotted path, annotation, FieldInfo)."""
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        yield path, info.annotation, info
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from settings_fields(annotation, f"{path}.")


def _leaf(annotation: Any) -> bool:
    return not (isinstance(annotation, type) and issubclass(annotation, BaseModel))


def secret_fields() -> list[tuple[str, Any, Any]]:
    """Settings (not sections) named like a credential."""
    return [f for f in settings_fields(Settings) if SECRET_NAME.search(f[0].rsplit(".", 1)[-1]) and _leaf(f[1])]


def header_fields() -> list[tuple[str, Any, Any]]:
    return [f for f in settings_fields(Settings) if HEADER_NAME.search(f[0].rsplit(".", 1)[-1])]


def test_every_password_token_secret_or_dsn_setting_is_a_secret_str(figures: Figures) -> None:
    """Each setting named like a password, token, secret, API key, credential or DSN is typed ``SecretStr``."""
    found = secret_fields()
    assert len(found) >= 5, found  # loki password and token, postgres dsn and password, webhook secret at least
    for path, annotation, _info in found:
        assert SecretStr in (annotation, *get_args(annotation)), f"{path} is {annotation}, not SecretStr"
    figures.add("security.secret_settings_checked", len(found))


def nested(path: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in reversed(path.split(".")):
        out = {part: value}
        value = out
    return out


def merge(target: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = value
    return target


def test_settings_never_show_a_secret_in_repr_str_or_errors() -> None:
    """Secrets given to every secret field and in header maps appear in no repr, str or validation error."""
    values: dict[str, Any] = {}
    secrets: list[str] = []
    for n, (path, _annotation, _info) in enumerate(secret_fields()):
        secret = f"Sekret{n}Value"
        secrets.append(secret)
        merge(values, nested(path, secret))
    for n, (path, annotation, _info) in enumerate(header_fields()):
        secret = f"Bearer HeaderSekret{n}"
        secrets.append(secret)
        value = json.dumps({"Authorization": secret}) if annotation in (str, str | None) else {"Authorization": secret}
        merge(values, nested(path, value))
    settings = Settings(**values)
    shown = repr(settings) + str(settings)
    for secret in secrets:
        assert secret not in shown
    dumped = repr(settings.model_dump()) + settings.model_dump_json()  # header maps are dumped: exporters use them
    for secret in secrets[: len(secret_fields())]:
        assert secret not in dumped
    for path, _annotation, _info in [*secret_fields(), *header_fields()]:
        bad = nested(path, ["NotAStringSekret", 1234567890])
        with pytest.raises(SettingsError) as raised:
            Settings(**bad)
        assert path in str(raised.value)  # the error names the field...
        assert "NotAStringSekret" not in str(raised.value)  # ...never what was given
        assert "1234567890" not in str(raised.value)


def test_url_credentials_in_settings_never_show_in_repr_or_str() -> None:
    """A password inside a URL setting (an endpoint, a sink option) is masked in repr and str, top level and
    nested, while the value itself is kept for the exporter."""
    endpoint = "https://alice:UrlSekret1@logs.example.com/in"
    settings = Settings(
        http={"endpoint": endpoint},
        webhook={"endpoint": "https://hook:UrlSekret2@hooks.example.com/x"},
        loki={"url": "http://bob:UrlSekret3@loki.example.com:3100"},
        sinks=[{"type": "otlp", "endpoint": "http://carol:UrlSekret4@collector:4318"}],
    )
    shown = repr(settings) + str(settings) + repr(settings.http) + str(settings.loki)
    assert "UrlSekret" not in shown
    assert "alice:***@logs.example.com" in shown
    assert settings.http.endpoint == endpoint


# ---- ReDoS --------------------------------------------------------------------------------------------------

UNTRUSTED_PATTERNS = {f"builtin:{name}": p.regex for name, p in BUILTIN_PATTERNS.items()}


def _patterns_of_modules() -> dict[str, re.Pattern[str]]:
    """The module-level regular expressions that read log records or client requests."""
    from fapilog.exporters import _loki_labels
    from fapilog.instrumentation import _fastapi_ids
    from fapilog.processors import _redact_keys, _redact_urls

    found: dict[str, re.Pattern[str]] = {}
    for module in (_redact_urls, _redact_keys, _fastapi_ids, _loki_labels):
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern) and isinstance(value.pattern, str):
                found[f"{module.__name__}.{name}"] = value
    return found


def test_every_pattern_over_untrusted_text_passes_the_redos_checker(figures: Figures) -> None:
    """Built-in redaction patterns and the patterns that read keys, URLs, ids and labels have no backtracking
    shape (the only refusal allowed: a zero-width splitter refused for matching the empty string)."""
    for pattern in UNTRUSTED_PATTERNS.values():
        compile_safe(pattern)
    refused = {}
    for name, compiled in _patterns_of_modules().items():
        try:
            compile_safe(compiled.pattern)
        except ValueError as exc:
            refused[name] = str(exc)
    assert all("matches the empty string" in reason for reason in refused.values()), refused
    checked = len(UNTRUSTED_PATTERNS) + len(_patterns_of_modules())
    figures.add("security.patterns_checked", checked)


atoms = st.sampled_from([r"a", r"\d", r"\w", r"[a-z]", r".", r"\s", r"[^@]", r"(?:ab|a)", r"x?"])
catastrophic = st.builds(
    lambda shape, a, b: shape.format(a=a, b=b),
    st.sampled_from(
        [
            "(?:{a}+)+$",
            "({a}*)*!",
            "(?:{a}|{a}{a})+$",
            "({a}+{a}+)+z",
            "(?:{a}+{b}?)+$",
            "(?:{a}*{b}*)*$",
            "{a}+{a}*{a}+$",
            "(?:{a}{{1,5}})+$",
            "({a})\\1+",
        ]
    ),
    atoms,
    atoms,
)


@hypothesis_settings(REDOS_CHECKER_EXAMPLES)
@given(pattern=catastrophic)
def test_the_checker_refuses_every_backtracking_shape(pattern: str) -> None:
    """Nested or adjacent overlapping quantifiers and backreferences, over any atom, are refused at configuration."""
    with pytest.raises(ValueError, match=r"unsafe pattern|not a valid regular expression"):
        RegexMask([pattern])


def test_pathological_inputs_finish(figures: Figures) -> None:
    """Each built-in pattern (and the URL stage) scans every input built to provoke backtracking, up to the largest
    size, whole (no cap cuts it) and returns (the hang guard is pytest's timeout, not a timing)."""
    scanners: dict[str, Any] = {name: RegexMask([name], max_string_length=10**6).scan for name in BUILTIN_PATTERNS}
    scanners["url_credentials"] = UrlCredentials(max_string_length=10**6).scan
    scans = 0
    for scan in scanners.values():
        for shape in REDOS_SHAPES:
            for size in REDOS_SIZES:
                scan(shape * (size // len(shape)))  # in the main thread, where the timeout's signal interrupts re
                scans += 1
    figures.add("security.redos_scans", scans)


# ---- FastAPI: ids and headers from clients ----------------------------------------------------------------------

obs_text = st.text(
    st.one_of(
        st.characters(min_codepoint=0x21, max_codepoint=0x7E),
        st.characters(min_codepoint=0x80, max_codepoint=0xFF),
        st.just(" "),
        st.just("\t"),
    ),
    max_size=300,
).map(lambda s: s.strip(" \t"))
header_value = st.one_of(obs_text, st.integers(1025, 5000).map(lambda n: "v" * n))
request_ids = st.one_of(
    st.text(string.ascii_letters + string.digits + "._:-", min_size=1, max_size=140),
    obs_text,
    st.just(""),
)
path_parts = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from("\n\r\x1b\x00%"), max_size=20
).map(lambda part: part.replace("/", ""))  # one path segment: the route's item id


def test_request_ids_headers_and_paths_from_clients_are_sanitised(figures: Figures) -> None:
    """Over real HTTP: a request id is kept only if safe (else a fresh one), header values are clipped and secrets
    masked, and every record, JSON or pretty, stays one printable line whatever the client sends."""
    capture = CaptureExporter()
    runs = 0
    fast = Settings(core={"batch_timeout_seconds": 0.0})  # each record exported at once: no waiting per example
    app = make_app(capture, redact_headers=["X-Internal-Token"], settings=fast)
    with serve(app) as url, httpx.Client(base_url=url) as client:

        @hypothesis_settings(FASTAPI_EXAMPLES)
        @given(rid=request_ids, value=header_value, token=obs_text, part=path_parts)
        def run(rid: str, value: str, token: str, part: str) -> None:
            nonlocal runs
            runs += 1
            capture.clear()
            headers = [
                (b"X-Request-ID", rid.encode("latin-1")),
                (b"X-Custom", value.encode("latin-1")),
                (b"Authorization", b"Bearer t" + token.encode("latin-1")),
                (b"X-Internal-Token", b"Sekret" + token.encode("latin-1")),
            ]
            response = client.get("/items/" + (quote(part, safe="") or "x"), headers=headers)
            given_id = response.headers["x-request-id"]
            safe = re.fullmatch(r"[A-Za-z0-9._:\-]{1,128}", rid) is not None
            assert given_id == rid if safe else re.fullmatch(r"[0-9a-f]{32}", given_id)
            deadline = time.monotonic() + 10  # a hang guard: the access record is written after the response
            while True:
                records = [r for r in logs(capture) if r["context"].get("request_id") == given_id]
                if {r["message"] for r in records} >= {"handling item", "request_completed"}:
                    break
                assert time.monotonic() < deadline, "the request's records never arrived"
                time.sleep(0.005)
            completed = [r for r in records if r["message"] == "request_completed"]
            assert len(completed) == 1
            logged = completed[0]["data"]["headers"]
            assert logged["authorization"] == "***"
            assert logged["x-internal-token"] == "***"
            custom = logged.get("x-custom", "")
            assert len(custom) <= 1024 + len("...[truncated]")
            for record in list(capture.records):
                line = pretty_line(record, colors=False)
                assert line.endswith("\n")
                assert line[:-1].isprintable(), line[:300]
            if not safe and len(rid) >= 4:  # a refused id is in no record's context (json.dumps would escape it)
                assert not any(rid in str(value) for r in logs(capture) for value in r["context"].values())

        run()
    figures.add("fastapi_examples", runs)
    assert runs == FASTAPI_EXAMPLES
