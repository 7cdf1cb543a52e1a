"""Turning a form definition into HTML inputs, and posted HTML back into answers.

The same functions serve the resident's form, the builder's live preview and
the check-your-answers page, so all three look and behave alike. Inputs are named
"f.<key>" (parts: "f.<key>.<part>", group items: "f.<group>.<index>.<key>").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from procedures.form_engine.conditions import evaluate, referenced_fields
from procedures.form_engine.fields import (
    ADDRESS_PARTS,
    FILE_TYPES_DEFAULT,
    MAX_ITEMS,
    NAME_PARTS,
    mask,
)
from procedures.form_engine.japanese import format_japanese_date, format_phone
from procedures.form_engine.numbers import format_integer
from procedures.form_engine.text import localized_text

PREFIX = "f"
PART_LABELS = {
    "family": gettext_lazy("Family name"),
    "given": gettext_lazy("Given name"),
    "family_kana": gettext_lazy("Family name (furigana)"),
    "given_kana": gettext_lazy("Given name (furigana)"),
    "postal_code": gettext_lazy("Postal code"),
    "prefecture": gettext_lazy("Prefecture"),
    "city": gettext_lazy("City, ward, town or village"),
    "town": gettext_lazy("Town"),
    "street": gettext_lazy("Block and house number"),
    "building": gettext_lazy("Building and room (if any)"),
}
PART_AUTOCOMPLETE = {
    "family": "family-name",
    "given": "given-name",
    "postal_code": "postal-code",
    "prefecture": "address-level1",
    "city": "address-level2",
    "town": "address-level3",
    "street": "address-line1",
    "building": "address-line2",
}
INPUT_TYPES = {
    "email": ("email", "email", None),
    "phone": ("tel", "tel", None),
    "integer": ("text", None, "numeric"),
    "decimal": ("text", None, "decimal"),
    "date": ("date", None, None),
    "postal_code": ("text", "postal-code", "numeric"),
    "my_number": ("text", "off", "numeric"),
    "corporate_number": ("text", "off", "numeric"),
    "text": ("text", None, None),
}
MAX_ITEMS_DEFAULT = MAX_ITEMS
# Rendered as a fieldset with the label as legend (several inputs, or a box).
FIELDSET_TYPES = frozenset({"choice", "multi_choice", "name", "address", "group", "consent"})


@dataclass
class PartView:
    key: str
    label: str
    name: str
    id: str
    value: str
    autocomplete: str | None = None


@dataclass
class ChoiceView:
    value: str
    label: str
    id: str
    selected: bool


@dataclass
class FieldView:
    spec: dict
    name: str
    id: str
    label: str
    help: str
    required: bool
    value: Any
    errors: list[str]
    input_type: str | None = None
    autocomplete: str | None = None
    inputmode: str | None = None
    choices: list[ChoiceView] = field(default_factory=list)
    parts: list[PartView] = field(default_factory=list)
    items: list[list[FieldView]] = field(default_factory=list)
    show_if: str = ""  # JSON condition evaluated live in the browser
    show_if_text: str = ""
    can_add_item: bool = False
    disabled: bool = False
    files: list = field(default_factory=list)  # uploaded already (file fields)
    # Where the value came from, when not from the resident (the verified identity).
    source: str = ""

    @property
    def type(self) -> str:
        return self.spec["type"]

    @property
    def key(self) -> str:
        return self.spec["key"]

    @property
    def accepted_types(self) -> list[str]:
        return list(self.spec.get("accept") or FILE_TYPES_DEFAULT)

    @property
    def is_fieldset(self) -> bool:
        return self.type in FIELDSET_TYPES

    @property
    def template(self) -> str:
        return f"forms/widgets/{self.type}.html"

    @property
    def described_by(self) -> str:
        ids = []
        if self.help:
            ids.append(f"{self.id}-help")
        if self.source:
            ids.append(f"{self.id}-source")
        if self.show_if_text:
            ids.append(f"{self.id}-condition")
        if self.errors:
            ids.append(f"{self.id}-error")
        return " ".join(ids)


def _html_id(name: str) -> str:
    return name.replace(".", "-")


def _text_value(value: Any) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, bool):
        return "on" if value else ""
    return str(value)


def _errors_under(errors: Mapping[str, list[str]], path: str) -> list[str]:
    return list(errors.get(path, []))


def _field_names(form: Mapping[str, Any]) -> dict[str, dict]:
    names: dict[str, dict] = {}
    for step in form.get("steps", []):
        for spec in step.get("fields", []):
            names[spec["key"]] = spec
            for sub in spec.get("fields", []):
                names.setdefault(sub["key"], sub)
    return names


def describe_condition(condition: Any, specs: Mapping[str, dict]) -> str:
    """A short human sentence for a condition: “Household type” is “Family”."""
    if not isinstance(condition, Mapping):
        return ""
    for combinator, joiner in (("all", _(" and ")), ("any", _(" or "))):
        if isinstance(condition.get(combinator), list):
            return joiner.join(describe_condition(part, specs) for part in condition[combinator])
    if "not" in condition:
        return _("not (%(condition)s)") % {"condition": describe_condition(condition["not"], specs)}
    spec = specs.get(condition.get("field", ""), {})
    label = localized_text(spec.get("label")) or condition.get("field", "")
    value = condition.get("value")
    choice_labels = {
        choice["value"]: localized_text(choice["label"]) for choice in spec.get("choices", [])
    }

    def shown(item: Any) -> str:
        return choice_labels.get(item, str(item)) if isinstance(item, str) else str(item)

    templates = {
        "equals": _("“%(field)s” is “%(value)s”"),
        "not_equals": _("“%(field)s” is not “%(value)s”"),
        "gt": _("“%(field)s” is more than %(value)s"),
        "gte": _("“%(field)s” is %(value)s or more"),
        "lt": _("“%(field)s” is less than %(value)s"),
        "lte": _("“%(field)s” is %(value)s or less"),
        "filled": _("“%(field)s” is answered"),
        "empty": _("“%(field)s” is not answered"),
        "contains": _("“%(field)s” includes “%(value)s”"),
    }
    op = condition.get("op")
    if op == "one_of" and isinstance(value, list):
        return _("“%(field)s” is one of: %(values)s") % {
            "field": label,
            "values": ", ".join(shown(item) for item in value),
        }
    template = templates.get(op)
    return template % {"field": label, "value": shown(value)} if template else ""


def _build(
    spec: dict,
    name: str,
    path: str,
    value: Any,
    errors: Mapping[str, list[str]],
    answers: Mapping[str, Any],
    same_step_keys: set[str],
    specs: Mapping[str, dict],
    item: Mapping[str, Any] | None = None,
    disabled: bool = False,
) -> FieldView | None:
    condition = spec.get("condition")
    if condition is not None:
        refers = set(referenced_fields(condition))
        live = refers & same_step_keys
        if not live and not evaluate(condition, answers, item):
            return None  # decided by earlier steps: simply not asked
    html_id = _html_id(name)
    input_type, autocomplete, inputmode = INPUT_TYPES.get(spec["type"], (None, None, None))
    view = FieldView(
        spec=spec,
        name=name,
        id=html_id,
        label=localized_text(spec.get("label")),
        help=localized_text(spec.get("help")),
        required=bool(spec.get("required")),
        value=value,
        errors=_errors_under(errors, path),
        input_type=input_type,
        autocomplete=autocomplete,
        inputmode=inputmode,
        disabled=disabled,
    )
    if condition is not None and set(referenced_fields(condition)) & same_step_keys:
        view.show_if = json.dumps(condition, ensure_ascii=False)
        view.show_if_text = _("Answer only if %(condition)s.") % {
            "condition": describe_condition(condition, specs)
        }
    if spec.get("required_if") and not view.required:
        view.show_if_text = (view.show_if_text + " " if view.show_if_text else "") + _(
            "Required if %(condition)s."
        ) % {"condition": describe_condition(spec["required_if"], specs)}
    kind = spec["type"]
    if kind in ("choice", "multi_choice"):
        chosen = value if isinstance(value, list) else [value]
        view.choices = [
            ChoiceView(
                value=choice["value"],
                label=localized_text(choice["label"]),
                id=f"{html_id}-{choice['value']}",
                selected=choice["value"] in chosen,
            )
            for choice in spec.get("choices", [])
        ]
    elif kind in ("name", "address"):
        parts = NAME_PARTS if kind == "name" else ADDRESS_PARTS
        current = value if isinstance(value, Mapping) else {}
        view.parts = [
            PartView(
                key=part,
                label=str(PART_LABELS[part]),
                name=f"{name}.{part}",
                id=f"{html_id}-{part}",
                value=_text_value(current.get(part)),
                autocomplete=PART_AUTOCOMPLETE.get(part),
            )
            for part in parts
        ]
        # One message for the whole composite, shown once.
    elif kind == "group":
        entries = value if isinstance(value, list) else []
        sub_keys = {sub["key"] for sub in spec.get("fields", [])}
        for index, entry in enumerate(entries):
            entry = entry if isinstance(entry, Mapping) else {}
            row = []
            for sub in spec.get("fields", []):
                sub_view = _build(
                    sub,
                    f"{name}.{index}.{sub['key']}",
                    f"{path}.{index}.{sub['key']}",
                    entry.get(sub["key"]),
                    errors,
                    answers,
                    sub_keys,
                    specs,
                    item=entry,
                    disabled=disabled,
                )
                if sub_view is not None:
                    row.append(sub_view)
            view.items.append(row)
        view.can_add_item = len(entries) < spec.get("max_items", MAX_ITEMS_DEFAULT)
    else:
        view.value = _text_value(value) if kind != "file" else value
    return view


def step_views(
    form: Mapping[str, Any],
    step: Mapping[str, Any],
    answers: Mapping[str, Any],
    errors: Mapping[str, list[str]] | None = None,
    *,
    disabled: bool = False,
) -> list[FieldView]:
    """The inputs of one step, filled with `answers` (raw or cleaned) and errors.

    A field whose condition depends on earlier steps is shown or left out here; one
    that depends on a field of this same step is rendered with its condition, so
    the page script can show or hide it as the resident answers (without script
    it stays visible with a note saying when to answer it)."""
    errors = errors or {}
    specs = _field_names(form)
    same_step = {spec["key"] for spec in step.get("fields", [])}
    views = []
    for spec in step.get("fields", []):
        view = _build(
            spec,
            f"{PREFIX}.{spec['key']}",
            spec["key"],
            answers.get(spec["key"]),
            errors,
            answers,
            same_step,
            specs,
            disabled=disabled,
        )
        if view is not None:
            views.append(view)
    return views


def _posted(post: Any, name: str, many: bool = False) -> Any:
    if many:
        return [value for value in post.getlist(name) if value != ""]
    return post.get(name, "")


def _answer_from_post(spec: dict, name: str, post: Any) -> Any:
    kind = spec["type"]
    if kind in ("name", "address"):
        parts = NAME_PARTS if kind == "name" else ADDRESS_PARTS
        return {part: post.get(f"{name}.{part}", "") for part in parts}
    if kind == "multi_choice":
        return _posted(post, name, many=True)
    if kind == "consent":
        return post.get(name) == "on"
    if kind == "file":
        return _posted(post, name, many=True)
    if kind == "group":
        try:
            count = int(post.get(f"{name}.count", "0"))
        except ValueError:
            count = 0
        count = max(0, min(count, spec.get("max_items", MAX_ITEMS_DEFAULT)))
        return [
            {
                sub["key"]: _answer_from_post(sub, f"{name}.{index}.{sub['key']}", post)
                for sub in spec.get("fields", [])
            }
            for index in range(count)
        ]
    return _posted(post, name)


def answers_from_post(step: Mapping[str, Any], post: Any) -> dict[str, Any]:
    """The raw answers of one step's fields from a submitted HTML form, with the
    group buttons applied ("add another", "remove this one")."""
    answers = {
        spec["key"]: _answer_from_post(spec, f"{PREFIX}.{spec['key']}", post)
        for spec in step.get("fields", [])
    }
    add = post.get("group_add", "")
    remove = post.get("group_remove", "")
    for spec in step.get("fields", []):
        if spec["type"] != "group":
            continue
        items = answers[spec["key"]]
        if add == spec["key"] and len(items) < spec.get("max_items", MAX_ITEMS_DEFAULT):
            items.append({})
        prefix = f"{spec['key']}."
        if remove.startswith(prefix) and remove[len(prefix) :].isdigit():
            index = int(remove[len(prefix) :])
            if 0 <= index < len(items):
                items.pop(index)
    return answers


def group_button_pressed(post: Any) -> bool:
    return bool(post.get("group_add") or post.get("group_remove"))


def display_value(spec: dict, value: Any) -> str:
    """An answer as a person reads it: the one formatting of answers, used by the
    check-your-answers page, the resident's and the clerk's case pages, the
    comparison of revisions (page and API) and the PDFs."""
    if value is None or value == "" or value == []:
        return ""
    kind = spec["type"]
    value = mask(spec, value)
    if kind == "date" and isinstance(value, str):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return value
        return f"{format_japanese_date(day)}（{day.isoformat()}）"
    if kind == "phone" and isinstance(value, str) and value.isdigit():
        return format_phone(value)
    if kind in ("choice", "multi_choice"):
        labels = {
            choice["value"]: localized_text(choice["label"]) for choice in spec.get("choices", [])
        }
        values = value if isinstance(value, list) else [value]
        return "、".join(labels.get(item, str(item)) for item in values)
    if kind == "consent":
        return _("Agreed") if value else ""
    if kind == "name" and isinstance(value, Mapping):
        return f"{value.get('family', '')} {value.get('given', '')}（{value.get('family_kana', '')} {value.get('given_kana', '')}）"
    if kind == "address" and isinstance(value, Mapping):
        line = "".join(
            str(value.get(part, "")) for part in ("prefecture", "city", "town", "street")
        )
        building = value.get("building")
        return f"〒{value.get('postal_code', '')} {line}{' ' + building if building else ''}"
    if kind == "integer" and isinstance(value, int) and not isinstance(value, bool):
        return format_integer(value, spec.get("display"))
    if kind == "file" and isinstance(value, list):
        return _("%(count)d file(s)") % {"count": len(value)}
    return str(value)


@dataclass
class AnswerRow:
    label: str
    value: str
    path: str
    items: list[list[AnswerRow]] = field(default_factory=list)


def answer_rows(
    form: Mapping[str, Any], step: Mapping[str, Any], data: Mapping[str, Any]
) -> list[AnswerRow]:
    """The answered fields of a step, for a summary list."""
    rows = []
    for spec in step.get("fields", []):
        value = data.get(spec["key"])
        if value is None:
            continue
        row = AnswerRow(localized_text(spec.get("label")), "", spec["key"])
        if spec["type"] == "group" and isinstance(value, list):
            for item in value:
                row.items.append(
                    [
                        AnswerRow(
                            localized_text(sub.get("label")),
                            display_value(sub, item.get(sub["key"])),
                            sub["key"],
                        )
                        for sub in spec.get("fields", [])
                        if sub["key"] in item
                    ]
                )
        else:
            row.value = display_value(spec, value)
        rows.append(row)
    return rows


def _first_input_id(spec: dict, html_id: str) -> str:
    if spec["type"] in ("choice", "multi_choice") and spec.get("choices"):
        return f"{html_id}-{spec['choices'][0]['value']}"
    if spec["type"] == "name":
        return f"{html_id}-family"
    if spec["type"] == "address":
        return f"{html_id}-postal_code"
    return html_id


def error_links(form: Mapping[str, Any], errors: Mapping[str, list[str]]) -> list[dict[str, str]]:
    """The error summary: one link per message to the input it is about."""
    specs = _field_names(form)
    links = []
    for path, messages in errors.items():
        parts = path.split(".")
        spec = specs.get(parts[-1]) or specs.get(parts[0])
        label = localized_text(spec.get("label")) if spec else ""
        anchor = _first_input_id(spec, _html_id(f"{PREFIX}.{path}")) if spec and path else ""
        if len(parts) == 3 and parts[1].isdigit():
            label = _("%(group)s, item %(number)d: %(field)s") % {
                "group": localized_text(specs.get(parts[0], {}).get("label")),
                "number": int(parts[1]) + 1,
                "field": label,
            }
        for message in messages:
            links.append({"text": f"{label}: {message}" if label else message, "anchor": anchor})
    return links
