"""Reads of a version definition for the builder: its steps and fields, and the
fields a step's or a field's condition may read (those that come before it).
Nothing here changes a definition or touches the database."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from procedures.form_engine.definition import definition_schema


def field_types() -> list[str]:
    """Every field type of the format, in the schema's order."""
    return list(definition_schema()["$defs"]["field_type"]["enum"])


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
