"""Answers' sensitive fields (the Individual Number and the other types in
`SENSITIVE_TYPES`): stored encrypted, in drafts and filings alike, and decrypted
only to validate, edit or show them.

`protect` turns answers as typed into answers as stored, `reveal` the other way;
both know the sensitive fields from the version's form (top-level or inside
repeating groups). A leaf module: it imports the form engine and the platform's
field encryption only, so services, selectors, documents and serializers share it.
"""

from __future__ import annotations

import json
from typing import Any

from core.signing import decrypt_text, encrypt_text
from procedures.form_engine import engine
from procedures.form_engine.fields import SENSITIVE_TYPES, mask

ENCRYPTED = "encrypted"
ERASED = "erased"  # {"erased": "YYYY-MM-DD"}: the value was erased on that day


def sensitive_keys(form: dict) -> set[str]:
    """Keys of sensitive fields, top-level or inside repeating groups (keys are
    unique in the whole form)."""
    return set(_sensitive_specs(form))


def _transform(answers: Any, keys: set[str], change) -> Any:
    """Apply `change` to the values of sensitive keys, inside group items too."""
    if not isinstance(answers, dict):
        return answers
    result = {}
    for key, value in answers.items():
        if key in keys:
            value = change(value)
        elif isinstance(value, list):
            value = [_transform(item, keys, change) for item in value]
        result[key] = value
    return result


def _encrypt(value: Any) -> Any:
    if value is None or value == "" or (isinstance(value, dict) and ENCRYPTED in value):
        return value
    if isinstance(value, bool | list | dict):
        value = json.dumps(value, ensure_ascii=False)
    return {ENCRYPTED: encrypt_text(str(value))}


def _decrypt(value: Any) -> Any:
    if isinstance(value, dict) and ENCRYPTED in value:
        return decrypt_text(str(value[ENCRYPTED])) or ""
    return value


def protect(form: dict, answers: dict) -> dict:
    """Answers as stored: sensitive values (whatever their JSON type) replaced by
    {"encrypted": token}."""
    return _transform(answers, sensitive_keys(form), _encrypt)


def reveal(form: dict, stored: dict) -> dict:
    """Stored answers with sensitive values decrypted (for validation and editing)."""
    return _transform(stored, sensitive_keys(form), _decrypt)


def erase_individual_numbers(form: dict, stored: dict, day: str) -> tuple[dict, int]:
    """Stored answers with every Individual Number replaced by {"erased": day}, and
    how many there were. The signed filing keeps only their keyed fingerprints, so
    its signature still holds and no longer reveals them."""
    keys = {key for key, spec in _sensitive_specs(form).items() if spec["type"] == "my_number"}
    erased = 0

    def change(value: Any) -> Any:
        nonlocal erased
        if value is None or value == "" or (isinstance(value, dict) and ERASED in value):
            return value
        erased += 1
        return {ERASED: day}

    return _transform(stored, keys, change), erased


def fingerprinted(form: dict, answers: dict, fingerprint) -> dict:
    """Answers as the signed filing holds them: each sensitive value, top-level or
    inside a repeating group's items, replaced by {"sha256-hmac": fingerprint(value)}."""

    def change(value: Any) -> Any:
        return {"sha256-hmac": fingerprint(value)} if isinstance(value, str) and value else value

    return _transform(answers, sensitive_keys(form), change)


# --- Shown to people: masked -------------------------------------------------------


def _sensitive_specs(form: dict) -> dict[str, dict]:
    """The sensitive fields' specs by key (see sensitive_keys)."""
    specs = {}
    for _step, spec in engine.iter_fields(form):
        if spec["type"] in SENSITIVE_TYPES:
            specs[spec["key"]] = spec
        for sub in spec.get("fields", []):
            if sub["type"] in SENSITIVE_TYPES:
                specs[sub["key"]] = sub
    return specs


def _masked_value(spec: dict, value: Any) -> Any:
    if value is None or value == "":
        return value
    # Whatever was typed (even a number, or something invalid) never leaves whole.
    return mask(spec, value if isinstance(value, str | dict) else str(value))


def _masked_walk(value: Any, specs: dict[str, dict]) -> Any:
    if isinstance(value, dict):
        if ENCRYPTED in value:
            return "********"  # an encrypted value nobody decrypted: never shown
        return {
            key: _masked_value(specs[key], item) if key in specs else _masked_walk(item, specs)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_masked_walk(item, specs) for item in value]
    return value


def masked_answers(form: dict, stored: dict) -> dict:
    """Stored answers with sensitive values decrypted and then masked (the last four
    digits of an Individual Number), as the resident's pages and the API show them."""
    return _masked_walk(reveal(form, stored or {}), _sensitive_specs(form))
