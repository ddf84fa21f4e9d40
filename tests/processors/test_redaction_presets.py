"""Redaction presets CREDENTIALS, PCI_DSS, HIPAA_PHI: their lists, the stages they build, no over-matching."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from fapilog.processors import (
    CREDENTIALS,
    HIPAA_PHI,
    PCI_DSS,
    REDACTION_PRESETS,
    FieldMask,
    RedactionPreset,
    RegexMask,
    redaction_stages,
)
from fapilog.processors._redact_patterns import BUILTIN_PATTERNS
from fapilog.processors._redaction_presets import preset_named

from ._redact_support import Sdk, plain

ALL = ["credentials", "pci_dss", "hipaa_phi"]
NOT_SECRETS = {
    "author": "ann",
    "oauth_provider": "github",
    "token_count": 12,
    "max_tokens": 256,
    "tokenizer": "bpe",
    "session_id": "s-1",
    "cache_key": "k",
    "keyboard": "us",
    "secretary": "bob",
    "authority": "ca",
    "password_length": 12,
    "access_key_id": "id-1",
    "span_id": "ab",
    "spin": 3,
    "description": "plain text",
    "status": "ok",
}


def test_presets_are_frozen_data() -> None:
    """Presets cannot be changed at runtime, and the table of presets is read-only."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        CREDENTIALS.fields = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        REDACTION_PRESETS["mine"] = CREDENTIALS  # type: ignore[index]
    assert list(REDACTION_PRESETS) == ALL


def test_preset_patterns_are_builtins() -> None:
    """Every pattern a preset names is a built-in pattern."""
    for preset in REDACTION_PRESETS.values():
        assert set(preset.patterns) <= set(BUILTIN_PATTERNS), preset.name


def test_preset_names_are_looked_up_leniently() -> None:
    """Preset names are found in any case and with dashes; an unknown one lists the known ones."""
    assert preset_named("PCI-DSS") is PCI_DSS
    assert preset_named(" Hipaa_Phi ") is HIPAA_PHI
    with pytest.raises(ValueError, match="unknown redaction preset 'sox'; known: credentials, pci_dss, hipaa_phi"):
        preset_named("sox")


def test_redaction_stages_builds_a_field_mask_and_a_regex_mask() -> None:
    """redaction_stages gives FieldMask (fields of all presets plus extras) then RegexMask (their patterns)."""
    fields_stage, regex_stage = redaction_stages(["credentials", "pci_dss"], extra_fields=["ticket"], mask="#")
    assert isinstance(fields_stage, FieldMask)
    assert isinstance(regex_stage, RegexMask)
    assert fields_stage.fields == (*CREDENTIALS.fields, *PCI_DSS.fields, "ticket")
    assert regex_stage.patterns == (*CREDENTIALS.patterns, *PCI_DSS.patterns)
    assert fields_stage.mask == regex_stage.mask == "#"


def test_redaction_stages_leaves_out_what_has_nothing_to_do() -> None:
    """No presets and no extras give no stages; extras alone give just the stage they need."""
    assert redaction_stages([]) == []
    (only,) = redaction_stages([], extra_patterns=[r"ORD-\d{4}"])
    assert isinstance(only, RegexMask)


def test_redaction_stages_refuses_bad_input() -> None:
    """A bare string, an unknown preset and an unsafe extra pattern are refused."""
    with pytest.raises(ValueError, match="presets must be a list"):
        redaction_stages("credentials")
    with pytest.raises(ValueError, match="unknown redaction preset"):
        redaction_stages(["gdpr"])
    with pytest.raises(ValueError, match="unsafe pattern"):
        redaction_stages([], extra_patterns=[r"(a+)+"])


@pytest.mark.parametrize("preset", list(REDACTION_PRESETS.values()), ids=ALL)
def test_every_preset_field_is_masked_in_any_case(preset: RedactionPreset) -> None:
    """Each field a preset lists is masked by that preset, in lower, upper and title case, nested or not."""
    sdk = Sdk(*redaction_stages([preset.name]))
    for field in preset.fields:
        sdk.emit(attributes={field.lower(): "v", field.upper(): "v", "x": {field.title(): "v"}})
    for record in sdk.records():
        attrs: Any = plain(record.log_record.attributes)
        assert [v for k, v in attrs.items() if k != "x"] == ["***"] * (len(attrs) - 1)
        assert set(attrs["x"].values()) == {"***"}


def test_no_over_matching() -> None:
    """Keys that only look like secrets (author, oauth_provider, token_count...) survive all three presets."""
    sdk = Sdk(*redaction_stages(ALL))
    sdk.emit(body="author ann", attributes=dict(NOT_SECRETS))
    assert sdk.one() == ("author ann", NOT_SECRETS)


def test_docs_list_exactly_the_preset_fields_and_patterns() -> None:
    """docs/redaction.md shows each preset's field and pattern lists exactly as the code has them."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "redaction.md").read_text(encoding="utf-8")
    for preset in REDACTION_PRESETS.values():
        section = page.split(f"### `{preset.name}`", 1)[1].split("\n#", 1)[0]
        fields_line = next(line for line in section.splitlines() if line.startswith("Fields:"))
        patterns_line = next(line for line in section.splitlines() if line.startswith("Patterns:"))
        assert tuple(re.findall(r"`([^`]+)`", fields_line)) == preset.fields, preset.name
        assert tuple(re.findall(r"`([^`]+)`", patterns_line)) == preset.patterns, preset.name
