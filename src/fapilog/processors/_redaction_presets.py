"""Redaction presets: CREDENTIALS, PCI_DSS and HIPAA_PHI, as frozen data, and the stages they build.

Each preset is a list of field names (for ``field_mask``, matched as whole words of keys: see
``_redact_keys``) and a list of built-in value patterns (for ``regex_mask``). The lists are documented in
docs/redaction.md, and a test keeps the page and this module in step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from fapilog.processors._base import Stage
from fapilog.processors._redact_walk import check_names, check_text

__all__ = [
    "CREDENTIALS",
    "HIPAA_PHI",
    "PCI_DSS",
    "REDACTION_PRESETS",
    "RedactionPreset",
    "preset_named",
    "redaction_stages",
]


@dataclass(frozen=True, slots=True)
class RedactionPreset:
    """A named set of field names and built-in value patterns."""

    name: str
    description: str
    fields: tuple[str, ...]
    patterns: tuple[str, ...]


CREDENTIALS = RedactionPreset(
    name="credentials",
    description="passwords, tokens, API keys, private keys, cookies and sessions",
    fields=(
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "passwords",
        "secret",
        "secrets",
        "client_secret",
        "secret_key",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "auth_token",
        "api_key",
        "apikey",
        "access_key",
        "secret_access_key",
        "private_key",
        "encryption_key",
        "signing_key",
        "auth",
        "authorization",
        "proxy_authorization",
        "cookie",
        "set_cookie",
        "session",
        "credential",
        "credentials",
        "jwt",
        "otp",
    ),
    patterns=("bearer_token", "jwt", "aws_access_key", "aws_secret_key", "secret_assignment"),
)

PCI_DSS = RedactionPreset(
    name="pci_dss",
    description="payment card data: card numbers (Luhn-checked in text), security codes, expiry, PINs, tracks",
    fields=(
        "card_number",
        "cardnumber",
        "card_num",
        "credit_card",
        "creditcard",
        "cc_number",
        "ccnum",
        "pan",
        "primary_account_number",
        "cvv",
        "cvv2",
        "cvc",
        "cvc2",
        "csc",
        "card_verification_value",
        "card_verification_code",
        "security_code",
        "card_security_code",
        "card_expiry",
        "card_expiration",
        "expiry_date",
        "expiration_date",
        "exp_date",
        "exp_month",
        "exp_year",
        "card_exp",
        "track_data",
        "track1",
        "track2",
        "magnetic_stripe",
        "pin",
        "pin_block",
        "cardholder",
        "cardholder_name",
    ),
    patterns=("credit_card",),
)

HIPAA_PHI = RedactionPreset(
    name="hipaa_phi",
    description="protected health information: identifiers, contact details, dates of birth, clinical data",
    fields=(
        "ssn",
        "social_security_number",
        "mrn",
        "medical_record_number",
        "patient_name",
        "patient_id",
        "first_name",
        "last_name",
        "full_name",
        "dob",
        "date_of_birth",
        "birth_date",
        "birthdate",
        "diagnosis",
        "diagnoses",
        "diagnosis_code",
        "icd_code",
        "medication",
        "medications",
        "prescription",
        "treatment",
        "insurance_id",
        "insurance_number",
        "policy_number",
        "member_id",
        "health_plan_id",
        "beneficiary_id",
        "phone",
        "phone_number",
        "mobile_number",
        "fax",
        "address",
        "street_address",
        "postal_code",
        "zip_code",
        "zip",
        "email",
        "email_address",
        "drivers_license",
        "license_number",
        "passport_number",
    ),
    patterns=("email", "us_ssn"),
)

REDACTION_PRESETS: Mapping[str, RedactionPreset] = MappingProxyType(
    {preset.name: preset for preset in (CREDENTIALS, PCI_DSS, HIPAA_PHI)}
)


def preset_named(name: str) -> RedactionPreset:
    """The preset called ``name`` (any case; ``-`` for ``_``), or a ValueError listing the known ones."""
    preset = REDACTION_PRESETS.get(str(name).strip().lower().replace("-", "_"))
    if preset is None:
        raise ValueError(f"unknown redaction preset {name!r}; known: {', '.join(REDACTION_PRESETS)}")
    return preset


def redaction_stages(
    presets: Iterable[str],
    *,
    extra_fields: Iterable[str] = (),
    extra_patterns: Iterable[str] = (),
    mask: str = "***",
) -> list[Stage]:
    """A ``FieldMask`` with the presets' fields plus ``extra_fields`` and a ``RegexMask`` with their patterns
    plus ``extra_patterns`` (each left out when it would have nothing to do), in that order."""
    from fapilog.processors._redact_fields import FieldMask
    from fapilog.processors._redact_patterns import RegexMask

    chosen = [preset_named(name) for name in check_names("presets", presets)]
    mask = check_text("mask", mask)
    fields = _unique([f for p in chosen for f in p.fields] + list(check_names("extra_fields", extra_fields)))
    patterns = _unique([n for p in chosen for n in p.patterns] + list(check_names("extra_patterns", extra_patterns)))
    stages: list[Stage] = []
    if fields:
        stages.append(FieldMask(fields, mask=mask))
    if patterns:
        stages.append(RegexMask(patterns, mask=mask))
    return stages


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
