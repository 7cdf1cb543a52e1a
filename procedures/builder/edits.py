"""Edits of a version definition for the builder pages.

Each function takes a definition, returns a changed deep copy and never touches
the database, so a builder view stays "validate a form, then
services.version_update(definition=edits.<op>(draft.definition, ...))".

Bad input raises ValidationFailed with a translated message: an unknown step or
field, a key already in use, removing the last step, and any edit that would
leave a condition (or the fee) reading a field that no longer exists or no
longer comes before it. Everything else about the definition (the JSON Schema,
the finer rules, the five-less policy) is checked by the services.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import ValidationFailed
from procedures.builder.lookup import all_field_keys, field_types
from procedures.builder.references import guard_references, rename_references

UP, DOWN = "up", "down"
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
STEP_ATTRIBUTES = ("key", "title", "description", "condition")
SECTIONS = (
    "fee",
    "workflow",
    "delivery",
    "contact",
    "result_document",
    "retention",
    "cosigners",
)
SECTION_LABELS = {
    "fee": gettext_lazy("Fee"),
    "workflow": gettext_lazy("Workflow"),
    "delivery": gettext_lazy("Delivery of the result"),
    "contact": gettext_lazy("Contact"),
    "result_document": gettext_lazy("Result document"),
    "retention": gettext_lazy("Retention"),
    "cosigners": gettext_lazy("Co-signers"),
}


def _invalid(message: str, attribute: str | None = None) -> ValidationFailed:
    """A ValidationFailed whose details name the form input it is about, if any."""
    return ValidationFailed(message, details={attribute: [message]} if attribute else None)


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
    return guard_references(definition, new)


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
    return guard_references(definition, new)


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
    return guard_references(definition, new)


def remove_step(definition: Mapping[str, Any], step_key: str) -> dict[str, Any]:
    """Remove a step with its fields. A form keeps at least one step, and no other
    condition (nor the fee) may still read the removed fields."""
    new = copy.deepcopy(dict(definition))
    index = _step_index(new, step_key)
    if len(_steps(new)) == 1:
        raise _invalid(_("A form needs at least one step, so the last step cannot be removed."))
    del _steps(new)[index]
    return guard_references(definition, new)


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
    return guard_references(definition, new)


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
        rename_references(new, field_key, field["key"])
    container[index] = field
    return guard_references(definition, new)


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
    return guard_references(definition, new)


def remove_field(
    definition: Mapping[str, Any], field_key: str, *, group: str | None = None
) -> dict[str, Any]:
    """Remove a field (a group with its sub-fields), unless a condition or the
    fee still reads it."""
    new = copy.deepcopy(dict(definition))
    container, index = _field_container(new, field_key, group)
    del container[index]
    return guard_references(definition, new)


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
    return guard_references(definition, new)
