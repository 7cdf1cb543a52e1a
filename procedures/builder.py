"""Edits of a version definition for the builder pages.

Each function takes a definition, returns a changed deep copy and never touches
the database, so a builder view stays "validate a form, then
services.version_update(definition=builder.<op>(draft.definition, ...))".

Bad input raises ValidationFailed with a translated message: an unknown step or
field, a key already in use, removing the last step, and any edit that would
leave a condition (or the fee) reading a field that no longer exists or no
longer comes before it. Everything else about the definition (the JSON Schema,
the finer rules, the five-less policy) is checked by the services.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import ValidationFailed
from procedures.form_engine.conditions import referenced_fields
from procedures.form_engine.definition import definition_schema
from procedures.form_engine.text import localized_text

UP, DOWN = "up", "down"
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
STEP_ATTRIBUTES = ("key", "title", "description", "condition")
SECTIONS = ("fee", "workflow", "delivery", "contact", "result_document")
SECTION_LABELS = {
    "fee": gettext_lazy("Fee"),
    "workflow": gettext_lazy("Workflow"),
    "delivery": gettext_lazy("Delivery of the result"),
    "contact": gettext_lazy("Contact"),
    "result_document": gettext_lazy("Result document"),
}
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
}


def field_types() -> list[str]:
    """Every field type of the format, in the schema's order."""
    return list(definition_schema()["$defs"]["field_type"]["enum"])


def _invalid(message: str, attribute: str | None = None) -> ValidationFailed:
    """A ValidationFailed whose details name the form input it is about, if any."""
    return ValidationFailed(message, details={attribute: [message]} if attribute else None)


# --- Finding things -------------------------------------------------------------------


def steps_of(definition: Mapping[str, Any]) -> list[dict]:
    return list(definition.get("form", {}).get("steps", []))


def find_step(definition: Mapping[str, Any], step_key: str) -> dict | None:
    return next((step for step in steps_of(definition) if step.get("key") == step_key), None)


def find_field(
    definition: Mapping[str, Any], field_key: str, *, group: str | None = None
) -> dict | None:
    """A top-level field by key, or with `group` a sub-field of that group."""
    for step in steps_of(definition):
        for spec in step.get("fields", []):
            if group is None and spec.get("key") == field_key:
                return spec
            if group is not None and spec.get("key") == group:
                return next(
                    (sub for sub in spec.get("fields", []) if sub.get("key") == field_key), None
                )
    return None


def step_of_field(definition: Mapping[str, Any], field_key: str) -> dict | None:
    """The step holding a top-level field."""
    for step in steps_of(definition):
        if any(spec.get("key") == field_key for spec in step.get("fields", [])):
            return step
    return None


def all_field_keys(definition: Mapping[str, Any]) -> set[str]:
    """Every field key, sub-fields of groups included."""
    keys = set()
    for step in steps_of(definition):
        for spec in step.get("fields", []):
            keys.add(spec.get("key"))
            keys.update(sub.get("key") for sub in spec.get("fields", []))
    return keys


def step_condition_fields(definition: Mapping[str, Any], step: str | None = None) -> list[dict]:
    """The fields a step's condition may read: those of the steps before it (of
    every step for a new one, `step` None)."""
    found: list[dict] = []
    for current in steps_of(definition):
        if current.get("key") == step:
            break
        found.extend(current.get("fields", []))
    return found


def field_condition_fields(
    definition: Mapping[str, Any],
    *,
    step: str,
    field: str | None = None,
    group: str | None = None,
) -> list[dict]:
    """The fields a field's condition may read, in order: those of earlier steps
    and those before it in its step (every one for a new field, `field` None).
    A sub-field of `group` reads what the group may, plus the group's sub-fields
    before it."""
    found: list[dict] = []
    for current in steps_of(definition):
        fields = current.get("fields", [])
        if current.get("key") != step:
            found.extend(fields)
            continue
        stop = group if group is not None else field
        for spec in fields:
            if stop is not None and spec.get("key") == stop:
                break
            found.append(spec)
        if group is not None:
            group_spec = next((spec for spec in fields if spec.get("key") == group), {})
            for sub in group_spec.get("fields", []):
                if field is not None and sub.get("key") == field:
                    break
                found.append(sub)
        break
    return found


# --- References between fields ------------------------------------------------------------


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
    return broken


def _field_references(spec: Mapping[str, Any], known: set[str], broken: set[Reference]) -> None:
    for attribute in ("condition", "required_if"):
        for key in referenced_fields(spec.get(attribute)):
            if key not in known:
                broken.add(Reference(_site_of_field(spec, attribute), key))


def _guard(old: Mapping[str, Any], new: dict[str, Any]) -> dict[str, Any]:
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


def _rename_references(definition: dict[str, Any], old: str, new: str) -> None:
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


# --- Steps -------------------------------------------------------------------------------


def _steps(definition: dict[str, Any]) -> list[dict]:
    return definition.setdefault("form", {}).setdefault("steps", [])


def _step_index(definition: dict[str, Any], step_key: str) -> int:
    for index, step in enumerate(_steps(definition)):
        if step.get("key") == step_key:
            return index
    raise _invalid(_("There is no step “%(key)s”.") % {"key": step_key})


def _check_key(key: Any) -> None:
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise _invalid(
            _(
                "Use lower-case letters, digits and underscores, starting with a letter (at most 63)."
            ),
            "key",
        )


def _check_text(value: Any, attribute: str) -> None:
    if not isinstance(value, Mapping) or not value.get("ja"):
        raise _invalid(_("Enter the Japanese text."), f"{attribute}_ja")


def _step_attributes(step: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(step) - set(STEP_ATTRIBUTES) - {"fields"}
    if unknown:
        raise _invalid(
            _("Unknown step setting: %(names)s.") % {"names": ", ".join(sorted(unknown))}
        )
    _check_key(step.get("key"))
    _check_text(step.get("title"), "title")
    return {name: step[name] for name in STEP_ATTRIBUTES if step.get(name) is not None}


def add_step(definition: Mapping[str, Any], step: Mapping[str, Any]) -> dict[str, Any]:
    """Append a step (key, title, optional description and condition), empty."""
    new = copy.deepcopy(dict(definition))
    attributes = _step_attributes(step)
    if any(existing.get("key") == attributes["key"] for existing in _steps(new)):
        raise _invalid(_("Another step already has this key."), "key")
    _steps(new).append({**copy.deepcopy(attributes), "fields": []})
    return _guard(definition, new)


def update_step(
    definition: Mapping[str, Any], step_key: str, step: Mapping[str, Any]
) -> dict[str, Any]:
    """Replace a step's key, title, description and condition; its fields stay.
    An attribute left out (or None) is removed."""
    new = copy.deepcopy(dict(definition))
    index = _step_index(new, step_key)
    attributes = _step_attributes(step)
    if attributes["key"] != step_key and any(
        existing.get("key") == attributes["key"] for existing in _steps(new)
    ):
        raise _invalid(_("Another step already has this key."), "key")
    fields = _steps(new)[index].get("fields", [])
    _steps(new)[index] = {**copy.deepcopy(attributes), "fields": fields}
    return _guard(definition, new)


def _swap(items: list, index: int, direction: str, *, first: str, last: str) -> None:
    if direction not in (UP, DOWN):
        raise _invalid(_("Move up or down."))
    target = index - 1 if direction == UP else index + 1
    if target < 0:
        raise _invalid(first)
    if target >= len(items):
        raise _invalid(last)
    items[index], items[target] = items[target], items[index]


def move_step(definition: Mapping[str, Any], step_key: str, direction: str) -> dict[str, Any]:
    """Swap a step with the one above or below it."""
    new = copy.deepcopy(dict(definition))
    _swap(
        _steps(new),
        _step_index(new, step_key),
        direction,
        first=_("This is already the first step."),
        last=_("This is already the last step."),
    )
    return _guard(definition, new)


def remove_step(definition: Mapping[str, Any], step_key: str) -> dict[str, Any]:
    """Remove a step with its fields. A form keeps at least one step, and no other
    condition (nor the fee) may still read the removed fields."""
    new = copy.deepcopy(dict(definition))
    index = _step_index(new, step_key)
    if len(_steps(new)) == 1:
        raise _invalid(_("A form needs at least one step, so the last step cannot be removed."))
    del _steps(new)[index]
    return _guard(definition, new)


# --- Fields -------------------------------------------------------------------------------


def _field_container(
    definition: dict[str, Any], field_key: str, group: str | None
) -> tuple[list[dict], int]:
    """(the list holding the field, its index): a step's fields or a group's."""
    for step in _steps(definition):
        for index, spec in enumerate(step.get("fields", [])):
            if group is None and spec.get("key") == field_key:
                return step["fields"], index
            if group is not None and spec.get("key") == group:
                for sub_index, sub in enumerate(spec.get("fields", [])):
                    if sub.get("key") == field_key:
                        return spec["fields"], sub_index
    raise _invalid(_("There is no field “%(key)s”.") % {"key": field_key})


def _group(definition: dict[str, Any], group: str) -> dict:
    for step in _steps(definition):
        for spec in step.get("fields", []):
            if spec.get("key") == group:
                if spec.get("type") != "group":
                    raise _invalid(
                        _("The field “%(key)s” is not a repeating group.") % {"key": group}
                    )
                return spec
    raise _invalid(_("There is no field “%(key)s”.") % {"key": group})


def _check_field(spec: Mapping[str, Any], *, in_group: bool) -> dict[str, Any]:
    _check_key(spec.get("key"))
    if spec.get("type") not in field_types():
        raise _invalid(_("Choose a field type."), "type")
    if in_group and spec["type"] == "group":
        raise _invalid(_("Groups cannot be nested."), "type")
    _check_text(spec.get("label"), "label")
    return copy.deepcopy(dict(spec))


def add_field(
    definition: Mapping[str, Any],
    spec: Mapping[str, Any],
    *,
    step: str | None = None,
    group: str | None = None,
) -> dict[str, Any]:
    """Append a field to a step, or (with `group`) a sub-field to a repeating
    group. Keys are unique in the whole form, sub-fields included."""
    if (step is None) == (group is None):
        raise _invalid(_("Add the field to a step or to a group."))
    new = copy.deepcopy(dict(definition))
    field = _check_field(spec, in_group=group is not None)
    field.pop("fields", None)
    if field["key"] in all_field_keys(new):
        raise _invalid(_("Another field already has this key."), "key")
    if group is not None:
        _group(new, group).setdefault("fields", []).append(field)
    else:
        _steps(new)[_step_index(new, step)].setdefault("fields", []).append(field)
    return _guard(definition, new)


def update_field(
    definition: Mapping[str, Any],
    field_key: str,
    spec: Mapping[str, Any],
    *,
    group: str | None = None,
) -> dict[str, Any]:
    """Replace a field's settings (a group keeps its sub-fields). A new key is
    carried into every condition and fee setting that read the old one."""
    new = copy.deepcopy(dict(definition))
    container, index = _field_container(new, field_key, group)
    current = container[index]
    field = _check_field(spec, in_group=group is not None)
    field.pop("fields", None)
    if current.get("fields"):
        if field["type"] != "group":
            raise _invalid(
                _("Remove the group's fields before changing it to another type."), "type"
            )
        field["fields"] = current["fields"]
    if field["key"] != field_key:
        if field["key"] in all_field_keys(new):
            raise _invalid(_("Another field already has this key."), "key")
        _rename_references(new, field_key, field["key"])
    container[index] = field
    return _guard(definition, new)


def move_field(
    definition: Mapping[str, Any], field_key: str, direction: str, *, group: str | None = None
) -> dict[str, Any]:
    """Swap a field with the one above or below it in its step (or group)."""
    new = copy.deepcopy(dict(definition))
    container, index = _field_container(new, field_key, group)
    _swap(
        container,
        index,
        direction,
        first=_("This is already the first field here."),
        last=_("This is already the last field here."),
    )
    return _guard(definition, new)


def remove_field(
    definition: Mapping[str, Any], field_key: str, *, group: str | None = None
) -> dict[str, Any]:
    """Remove a field (a group with its sub-fields), unless a condition or the
    fee still reads it."""
    new = copy.deepcopy(dict(definition))
    container, index = _field_container(new, field_key, group)
    del container[index]
    return _guard(definition, new)


# --- Other sections ---------------------------------------------------------------------


def replace_sections(definition: Mapping[str, Any], sections: Mapping[str, Any]) -> dict[str, Any]:
    """Replace whole top-level sections (fee, workflow, delivery, contact,
    result_document); a section given as None is removed (optional ones only)."""
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise _invalid(_("Unknown section: %(names)s.") % {"names": ", ".join(sorted(unknown))})
    new = copy.deepcopy(dict(definition))
    for name, value in sections.items():
        if value is None:
            new.pop(name, None)
        else:
            new[name] = copy.deepcopy(value)
    return _guard(definition, new)


# --- Differences ---------------------------------------------------------------------------


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
        before, after = old.get(section) or {}, new.get(section) or {}
        detail = _attribute_changes(before, after, skip=())
        if detail:
            changes.append(f"{SECTION_LABELS[section]}: {detail}.")
    return changes
