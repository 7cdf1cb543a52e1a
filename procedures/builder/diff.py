"""The changes between two version definitions in words, for "what changed
since the published version": steps and fields added, removed, moved or
changed, and changes of the other sections."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from procedures.builder.edits import SECTION_LABELS, SECTIONS
from procedures.builder.lookup import steps_of
from procedures.form_engine.text import localized_text

ATTRIBUTE_LABELS = {
    "key": gettext_lazy("key"),
    "type": gettext_lazy("type"),
    "label": gettext_lazy("label"),
    "title": gettext_lazy("title"),
    "description": gettext_lazy("description"),
    "help": gettext_lazy("help text"),
    "required": gettext_lazy("required"),
    "condition": gettext_lazy("condition"),
    "required_if": gettext_lazy("required if"),
    "min_length": gettext_lazy("minimum length"),
    "max_length": gettext_lazy("maximum length"),
    "pattern": gettext_lazy("pattern"),
    "pattern_message": gettext_lazy("pattern message"),
    "min": gettext_lazy("minimum"),
    "max": gettext_lazy("maximum"),
    "decimal_places": gettext_lazy("decimal places"),
    "display": gettext_lazy("display format"),
    "min_date": gettext_lazy("earliest date"),
    "max_date": gettext_lazy("latest date"),
    "choices": gettext_lazy("options"),
    "min_choices": gettext_lazy("minimum choices"),
    "max_choices": gettext_lazy("maximum choices"),
    "accept": gettext_lazy("accepted file types"),
    "max_size_mb": gettext_lazy("maximum file size"),
    "max_files": gettext_lazy("maximum files"),
    "paper_original_required": gettext_lazy("paper original required"),
    "min_items": gettext_lazy("minimum items"),
    "max_items": gettext_lazy("maximum items"),
    "identity_level": gettext_lazy("identity required"),
    "statement": gettext_lazy("statement"),
    "shows": gettext_lazy("answers shown"),
}


def _moved(old_order: list[str], new_order: list[str]) -> set[str]:
    """Keys present in both orders whose relative position changed: those outside
    a longest common subsequence of the two."""
    old_common = [key for key in old_order if key in set(new_order)]
    new_common = [key for key in new_order if key in set(old_order)]
    rows, cols = len(old_common), len(new_common)
    table = [[0] * (cols + 1) for _row in range(rows + 1)]
    for i in range(rows - 1, -1, -1):
        for j in range(cols - 1, -1, -1):
            if old_common[i] == new_common[j]:
                table[i][j] = table[i + 1][j + 1] + 1
            else:
                table[i][j] = max(table[i + 1][j], table[i][j + 1])
    kept, i, j = set(), 0, 0
    while i < rows and j < cols:
        if old_common[i] == new_common[j]:
            kept.add(old_common[i])
            i, j = i + 1, j + 1
        elif table[i + 1][j] > table[i][j + 1]:
            i += 1
        else:
            j += 1  # on a tie, the item that came forward is the one that moved
    return set(old_common) - kept


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int | float | str):
        return str(value)
    if (
        isinstance(value, Mapping)
        and "ja" in value
        and all(isinstance(v, str) for v in value.values())
    ):
        return "「" + localized_text(value) + "」"
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return ", ".join(value) or "—"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def _attribute_changes(old: Mapping[str, Any], new: Mapping[str, Any], skip=("fields",)) -> str:
    parts = []
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        # An absent flag means false ("required" left out is not required).
        if isinstance(before, bool) and after is None:
            after = False
        if isinstance(after, bool) and before is None:
            before = False
        if name in skip or before == after:
            continue
        label = str(ATTRIBUTE_LABELS.get(name, name))
        parts.append(f"{label}: {_shown(before)} → {_shown(after)}")
    return "; ".join(parts)


def _step_name(step: Mapping[str, Any]) -> str:
    return f"“{localized_text(step.get('title')) or step.get('key')}” ({step.get('key')})"


def _field_name(spec: Mapping[str, Any]) -> str:
    return f"“{localized_text(spec.get('label')) or spec.get('key')}” ({spec.get('key')})"


@dataclass(frozen=True)
class _Placed:
    spec: dict
    container: str  # "step:<key>" or "group:<key>"
    where: str  # in words


def _placed_fields(definition: Mapping[str, Any]) -> Iterator[_Placed]:
    for step in steps_of(definition):
        for spec in step.get("fields", []):
            yield _Placed(
                spec, f"step:{step.get('key')}", _("the step %(step)s") % {"step": _step_name(step)}
            )
            for sub in spec.get("fields", []):
                yield _Placed(
                    sub,
                    f"group:{spec.get('key')}",
                    _("the group %(group)s") % {"group": _field_name(spec)},
                )


def definition_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The changes from `old` to `new` in words, for "what changed since the
    published version": steps and fields added, removed, moved or changed
    (naming the settings that changed), and changes of the other sections."""
    changes: list[str] = []
    old_steps = {step.get("key"): step for step in steps_of(old)}
    new_steps = {step.get("key"): step for step in steps_of(new)}
    for key, step in new_steps.items():
        if key not in old_steps:
            changes.append(_("Step %(step)s added.") % {"step": _step_name(step)})
    for key, step in old_steps.items():
        if key not in new_steps:
            changes.append(_("Step %(step)s removed.") % {"step": _step_name(step)})
    moved_steps = _moved(list(old_steps), list(new_steps))
    new_positions = {key: index + 1 for index, key in enumerate(new_steps)}
    for key in new_steps:
        if key in moved_steps:
            changes.append(
                _("Step %(step)s moved to position %(position)d.")
                % {"step": _step_name(new_steps[key]), "position": new_positions[key]}
            )
        if key in old_steps:
            detail = _attribute_changes(old_steps[key], new_steps[key])
            if detail:
                changes.append(
                    _("Step %(step)s changed: %(changes)s.")
                    % {"step": _step_name(new_steps[key]), "changes": detail}
                )

    old_fields = {placed.spec.get("key"): placed for placed in _placed_fields(old)}
    new_fields = {placed.spec.get("key"): placed for placed in _placed_fields(new)}
    for key, placed in new_fields.items():
        if key not in old_fields:
            changes.append(
                _("Field %(field)s added to %(where)s.")
                % {"field": _field_name(placed.spec), "where": placed.where}
            )
    for key, placed in old_fields.items():
        if key not in new_fields:
            changes.append(
                _("Field %(field)s removed from %(where)s.")
                % {"field": _field_name(placed.spec), "where": placed.where}
            )
    containers = {placed.container for placed in new_fields.values()}
    moved_within: set[str] = set()
    for container in containers:
        old_order = [k for k, p in old_fields.items() if p.container == container]
        new_order = [k for k, p in new_fields.items() if p.container == container]
        moved_within |= _moved(old_order, new_order)
    for key, placed in new_fields.items():
        before = old_fields.get(key)
        if before is None:
            continue
        if before.container != placed.container:
            changes.append(
                _("Field %(field)s moved from %(old)s to %(new)s.")
                % {"field": _field_name(placed.spec), "old": before.where, "new": placed.where}
            )
        elif key in moved_within:
            changes.append(
                _("Field %(field)s moved within %(where)s.")
                % {"field": _field_name(placed.spec), "where": placed.where}
            )
        detail = _attribute_changes(before.spec, placed.spec)
        if detail:
            changes.append(
                _("Field %(field)s changed: %(changes)s.")
                % {"field": _field_name(placed.spec), "changes": detail}
            )

    for section in SECTIONS:
        if section == "cosigners":
            changes.extend(_cosigner_changes(old.get(section) or [], new.get(section) or []))
            continue
        before, after = old.get(section) or {}, new.get(section) or {}
        detail = _attribute_changes(before, after, skip=())
        if detail:
            changes.append(f"{SECTION_LABELS[section]}: {detail}.")
    return changes


def _cosigner_changes(old: list, new: list) -> list[str]:
    """The co-signers' roles (a list, by key) added, removed or changed."""
    label = SECTION_LABELS["cosigners"]
    before = {role.get("key"): role for role in old if isinstance(role, Mapping)}
    after = {role.get("key"): role for role in new if isinstance(role, Mapping)}
    changes = []
    for key, role in after.items():
        if key not in before:
            changes.append(
                _("%(section)s: %(role)s added.") % {"section": label, "role": _field_name(role)}
            )
            continue
        detail = _attribute_changes(before[key], role, skip=())
        if detail:
            changes.append(
                _("%(section)s: %(role)s changed: %(changes)s.")
                % {"section": label, "role": _field_name(role), "changes": detail}
            )
    for key, role in before.items():
        if key not in after:
            changes.append(
                _("%(section)s: %(role)s removed.") % {"section": label, "role": _field_name(role)}
            )
    return changes
