"""References between the fields of a definition: the conditions (and the fee, and
the co-signers' conditions and shown answers) that read a field. An edit may not break a reference that held before it, and a
renamed field takes its references along."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from core.errors import ValidationFailed
from procedures.builder.lookup import all_field_keys, steps_of
from procedures.form_engine.conditions import referenced_fields
from procedures.form_engine.text import localized_text


@dataclass(frozen=True)
class Reference:
    """A condition (or the fee) that reads a field: `site` says where, in words."""

    site: str
    key: str


def _site_of_step(step: Mapping[str, Any]) -> str:
    return _("the condition of the step “%(title)s”") % {
        "title": localized_text(step.get("title")) or step.get("key")
    }


def _site_of_field(spec: Mapping[str, Any], attribute: str) -> str:
    label = localized_text(spec.get("label")) or spec.get("key")
    if attribute == "required_if":
        return _("the “required if” condition of the field “%(label)s”") % {"label": label}
    return _("the condition of the field “%(label)s”") % {"label": label}


def broken_references(definition: Mapping[str, Any]) -> set[Reference]:
    """Conditions that read a field which is not before them, and fee settings
    that name a field which does not exist."""
    broken: set[Reference] = set()
    known: set[str] = set()
    for step in steps_of(definition):
        for key in referenced_fields(step.get("condition")):
            if key not in known:
                broken.add(Reference(_site_of_step(step), key))
        for spec in step.get("fields", []):
            _field_references(spec, known, broken)
            item_known = set(known)
            for sub in spec.get("fields", []):
                _field_references(sub, item_known, broken)
                item_known.add(sub.get("key"))
            known.add(spec.get("key"))
    fee = definition.get("fee", {})
    fee_conditions = [rule.get("condition") for rule in fee.get("rules", [])] + [
        waiver.get("condition") for waiver in fee.get("waivers", [])
    ]
    fee_keys = [key for condition in fee_conditions for key in referenced_fields(condition)]
    if fee.get("item_field"):
        fee_keys.append(fee["item_field"])
    for key in fee_keys:
        if key not in known:
            broken.add(Reference(_("the fee"), key))
    for role in definition.get("cosigners") or []:
        site = _("the co-signer “%(label)s”") % {
            "label": localized_text(role.get("label")) or role.get("key")
        }
        for key in [*referenced_fields(role.get("condition")), *role.get("shows", [])]:
            if key not in known:
                broken.add(Reference(site, key))
    return broken


def _field_references(spec: Mapping[str, Any], known: set[str], broken: set[Reference]) -> None:
    for attribute in ("condition", "required_if"):
        for key in referenced_fields(spec.get(attribute)):
            if key not in known:
                broken.add(Reference(_site_of_field(spec, attribute), key))


def guard_references(old: Mapping[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Refuse an edit that breaks a reference which held before it."""
    introduced = sorted(
        broken_references(new) - broken_references(old), key=lambda ref: (ref.site, ref.key)
    )
    if not introduced:
        return new
    existing = all_field_keys(new)
    messages = []
    for reference in introduced:
        if reference.key in existing:
            messages.append(
                _("%(site)s reads “%(key)s”, which must come before it.")
                % {"site": reference.site, "key": reference.key}
            )
        else:
            messages.append(
                _("“%(key)s” is used in %(site)s; change that first.")
                % {"key": reference.key, "site": reference.site}
            )
    raise ValidationFailed(" ".join(messages), details={"": messages})


def _rename_condition(condition: Any, old: str, new: str) -> Any:
    if not isinstance(condition, dict):
        return condition
    renamed = {}
    for name, value in condition.items():
        if name in ("all", "any") and isinstance(value, list):
            renamed[name] = [_rename_condition(part, old, new) for part in value]
        elif name == "not":
            renamed[name] = _rename_condition(value, old, new)
        elif name == "field" and value == old:
            renamed[name] = new
        else:
            renamed[name] = value
    return renamed


def rename_references(definition: dict[str, Any], old: str, new: str) -> None:
    """Point every condition (and the fee) that read `old` at `new`, in place."""
    for step in definition.get("form", {}).get("steps", []):
        if "condition" in step:
            step["condition"] = _rename_condition(step["condition"], old, new)
        for spec in step.get("fields", []):
            for item in [spec, *spec.get("fields", [])]:
                for attribute in ("condition", "required_if"):
                    if attribute in item:
                        item[attribute] = _rename_condition(item[attribute], old, new)
    fee = definition.get("fee", {})
    for entry in [*fee.get("rules", []), *fee.get("waivers", [])]:
        if "condition" in entry:
            entry["condition"] = _rename_condition(entry["condition"], old, new)
    if fee.get("item_field") == old:
        fee["item_field"] = new
    for role in definition.get("cosigners") or []:
        if "condition" in role:
            role["condition"] = _rename_condition(role["condition"], old, new)
        if old in role.get("shows", []):
            role["shows"] = [new if key == old else key for key in role["shows"]]
