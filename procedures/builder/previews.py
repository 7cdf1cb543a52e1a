"""The builder's previews, made by the code residents' pages use: a field
rendered by the form engine (procedures/form_engine/html.py, with the residents'
templates)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from procedures.builder import lookup
from procedures.form_engine import html
from procedures.form_engine.text import localized_text

PREVIEW_STEP = "builder_preview"


def _specs(definition: Mapping[str, Any]) -> dict[str, dict]:
    specs: dict[str, dict] = {}
    for step in lookup.steps_of(definition):
        for spec in step.get("fields", []):
            specs[spec["key"]] = spec
            for sub in spec.get("fields", []):
                specs.setdefault(sub["key"], sub)
    return specs


def _disable_buttons(view: html.FieldView) -> None:
    """The preview sends nothing: no upload, no "add an item" button."""
    if view.type in ("file", "group"):
        view.disabled = True


@dataclass
class FieldPreview:
    view: html.FieldView | None
    condition: str = ""  # when residents are asked the question, in words


def field_preview(
    spec: Mapping[str, Any], *, definition: Mapping[str, Any], sub_fields: list[dict] | None = None
) -> FieldPreview:
    """The field as a resident sees it, unanswered. Its own condition is left to
    the words of `condition` (it reads answers the preview does not have); a
    repeating group shows one item with its fields."""
    if not spec.get("type"):
        return FieldPreview(view=None)
    shown = copy.deepcopy(dict(spec))
    condition = shown.pop("condition", None)
    shown["key"] = shown.get("key") or "new_field"
    if not localized_text(shown.get("label")):
        shown["label"] = {"ja": _("(no label yet)")}
    answers: dict[str, Any] = {}
    if shown["type"] == "group":
        shown["fields"] = copy.deepcopy(sub_fields or [])
        if shown["fields"]:
            answers[shown["key"]] = [{}]
    step = {"key": PREVIEW_STEP, "fields": [shown]}
    form = {"steps": [*lookup.steps_of(definition), step]}
    views = html.step_views(form, step, answers)
    for view in views:
        _disable_buttons(view)
    specs = _specs(definition)
    return FieldPreview(
        view=views[0] if views else None,
        condition=html.describe_condition(condition, specs) if condition else "",
    )
