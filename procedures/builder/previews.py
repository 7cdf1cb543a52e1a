"""The builder's previews, made by the code residents' pages use: a field
rendered by the form engine (procedures/form_engine/html.py, with the residents'
templates), and the fee of an example filing, its answers cleaned by the form
engine and its amount computed by procedures/fees.py."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from procedures.builder import lookup
from procedures.fees import FeeBreakdown, fee_breakdown
from procedures.form_engine import engine, html
from procedures.form_engine.text import localized_text

PREVIEW_STEP = "builder_preview"
EXAMPLE_STEP = "fee_example"
# The number of items the example counts until the admin enters another.
EXAMPLE_ITEMS = 2
# Answers a text input cannot give in an example.
NO_EXAMPLE_TYPES = frozenset({"file", "group"})


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


# --- The fee's example ----------------------------------------------------------------


@dataclass
class FeeExample:
    keys: list[str]
    fields: list[html.FieldView] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    amount: int | None = None
    total: str = ""  # the amount in words: "Fee: 800 yen"
    problems: list[str] = field(default_factory=list)


def _example_specs(keys: list[str], fields: list[dict]) -> list[dict]:
    by_key = {spec["key"]: spec for spec in fields}
    specs = []
    for key in keys:
        spec = by_key.get(key)
        if spec is None or spec.get("type") in NO_EXAMPLE_TYPES:
            continue
        example = {
            name: value
            for name, value in spec.items()
            if name not in ("required", "required_if", "condition", "prefill", "help")
        }
        specs.append(example)
    return specs


def fee_example(
    fee: Mapping[str, Any] | None,
    *,
    fields: list[dict],
    posted: Any,
    keys: list[str],
    problems: list[str] | None = None,
) -> FeeExample:
    """The fee of an example filing. `posted` holds the example's answers as the
    form engine names them ("f.<key>"; its inputs are those of the fields in
    `keys`, the ones the fee reads); the item count is 2 until one is given.
    `fee` is None while the inputs do not make a fee; `problems` say what keeps
    it from being saved."""
    specs = _example_specs(keys, fields)
    step = {"key": EXAMPLE_STEP, "fields": specs}
    form = {"steps": [step]}
    raw = html.answers_from_post(step, posted)
    item_field = (fee or {}).get("item_field")
    if item_field in raw and f"{html.PREFIX}.{item_field}" not in posted:
        raw[item_field] = str(EXAMPLE_ITEMS)
    result = engine.validate(form, raw)
    example = FeeExample(
        keys=[spec["key"] for spec in specs],
        fields=html.step_views(form, step, raw, result.errors),
        problems=list(problems or []),
    )
    if fee is not None:
        breakdown = fee_breakdown(fee, result.data)
        example.amount = breakdown.total
        example.total = _("Fee: %(amount)s") % {"amount": breakdown.total_text}
        example.lines = _explain(breakdown, fee, {spec["key"]: spec for spec in specs}, result.data)
    return example


def _explain(
    breakdown: FeeBreakdown,
    fee: Mapping[str, Any],
    specs: dict[str, dict],
    answers: Mapping[str, Any],
) -> list[str]:
    """How the example's amount is reached: the lines of the breakdown residents
    see on their check page, with what the example assumed."""
    if breakdown.kind == "none":
        return [_("No fee is charged.")]
    lines = [line.text for line in breakdown.lines] if breakdown.explained else []
    if breakdown.kind == "per_item" and lines:
        item = specs.get(fee.get("item_field", ""), {})
        lines[0] = _("If “%(field)s” is %(items)s: %(line)s") % {
            "field": localized_text(item.get("label")) or fee.get("item_field", ""),
            "items": f"{answers.get(fee.get('item_field', ''), 0):,}",
            "line": lines[0],
        }
    if breakdown.kind == "computed" and not breakdown.waiver:
        rules = len(breakdown.lines) - (1 if fee.get("amount") else 0)
        if rules == 0:
            lines.append(_("No rule applies to these answers."))
    return lines
