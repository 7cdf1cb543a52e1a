"""Which settings each field type takes, in one table.

The field form reads it to accept and write a type's settings (and to refuse the
others'), the field page to show the chosen type's settings (and, without
script, the other types' under their headings), and the page's script to reveal
a type's settings when it is chosen. A new setting is one row of SETTINGS and
its input(s) in FieldForm; a new heading is one entry of SECTIONS."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _

from procedures.builder.forms.common import text_parts, text_value
from procedures.form_engine.definition import PREFILL_TYPES, definition_schema
from procedures.form_engine.numbers import DEFAULT_INTEGER_DISPLAY

# The headings the settings are grouped under when all of them are shown.
SECTIONS = {
    "text": _("Text settings"),
    "number": _("Number settings"),
    "date": _("Date settings"),
    "options": _("Options"),
    "file": _("File settings"),
    "group": _("Repeating group settings"),
    "prefill": _("Filled in from the digital ID"),
}

FILE_TYPES = [
    (kind, kind.upper())
    for kind in definition_schema()["$defs"]["field"]["properties"]["accept"]["items"]["enum"]
]


def _unset(value: Any) -> bool:
    return value is None or value == "" or value == [] or value is False


def _number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def format_choices(choices: list[dict]) -> str:
    """The format's choices as the options input shows them: value|日本語|English."""
    lines = []
    for choice in choices or []:
        ja, en = text_parts(choice.get("label"))
        lines.append(
            "|".join([choice.get("value", ""), ja, en] if en else [choice.get("value", ""), ja])
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class TypeSetting:
    """One setting of a field that only some types take.

    `name` is the field's property in the exchange format, `inputs` the FieldForm
    inputs holding it (by default the one named like the property). `to_json`
    turns the cleaned inputs into the property's value, `from_json` the value
    into the inputs' initial values; by default the one input holds the value."""

    name: str
    section: str
    types: frozenset[str]
    inputs: tuple[str, ...] = ()
    to_json: Callable[[Mapping[str, Any]], Any] | None = None
    from_json: Callable[[Any], dict[str, Any]] | None = None

    @property
    def input_names(self) -> tuple[str, ...]:
        return self.inputs or (self.name,)

    def applies_to(self, kind: str) -> bool:
        return kind in self.types

    def value(self, data: Mapping[str, Any]) -> Any:
        """The property's value from the cleaned inputs; None leaves it out."""
        value = self.to_json(data) if self.to_json else data.get(self.input_names[0])
        return None if _unset(value) else value

    def initial(self, value: Any) -> dict[str, Any]:
        if self.from_json:
            return self.from_json(value)
        return {self.input_names[0]: value}


TEXT = frozenset({"text", "textarea"})
NUMBERS = frozenset({"integer", "decimal"})
CHOICES = frozenset({"choice", "multi_choice"})
PREFILLABLE = frozenset(kind for kinds in PREFILL_TYPES.values() for kind in kinds)

SETTINGS: tuple[TypeSetting, ...] = (
    TypeSetting("min_length", "text", TEXT),
    TypeSetting("max_length", "text", TEXT),
    TypeSetting("pattern", "text", TEXT),
    TypeSetting(
        "pattern_message",
        "text",
        TEXT,
        inputs=("pattern_message_ja", "pattern_message_en"),
        to_json=lambda data: text_value(
            data.get("pattern_message_ja", ""), data.get("pattern_message_en", "")
        ),
        from_json=lambda value: dict(
            zip(("pattern_message_ja", "pattern_message_en"), text_parts(value), strict=True)
        ),
    ),
    TypeSetting("min", "number", NUMBERS, to_json=lambda data: _number(data.get("min"))),
    TypeSetting("max", "number", NUMBERS, to_json=lambda data: _number(data.get("max"))),
    TypeSetting("decimal_places", "number", frozenset({"decimal"})),
    TypeSetting(
        "display",
        "number",
        frozenset({"integer"}),
        from_json=lambda value: {"display": "" if value == DEFAULT_INTEGER_DISPLAY else value},
    ),
    TypeSetting("min_date", "date", frozenset({"date"})),
    TypeSetting("max_date", "date", frozenset({"date"})),
    TypeSetting(
        "choices", "options", CHOICES, from_json=lambda value: {"choices": format_choices(value)}
    ),
    TypeSetting("min_choices", "options", frozenset({"multi_choice"})),
    TypeSetting("max_choices", "options", frozenset({"multi_choice"})),
    TypeSetting(
        "accept",
        "file",
        frozenset({"file"}),
        to_json=lambda data: [
            kind for kind, _label in FILE_TYPES if kind in data.get("accept", [])
        ],
        from_json=lambda value: {"accept": list(value)},
    ),
    TypeSetting("max_size_mb", "file", frozenset({"file"})),
    TypeSetting("max_files", "file", frozenset({"file"})),
    TypeSetting(
        "paper_original_required",
        "file",
        frozenset({"file"}),
        to_json=lambda data: True if data.get("paper_original_required") else None,
        from_json=lambda value: {"paper_original_required": bool(value)},
    ),
    TypeSetting("min_items", "group", frozenset({"group"})),
    TypeSetting("max_items", "group", frozenset({"group"})),
    TypeSetting("prefill", "prefill", PREFILLABLE),
)


def settings_of(kind: str) -> list[TypeSetting]:
    """The settings a field of this type takes, in the table's order."""
    return [setting for setting in SETTINGS if setting.applies_to(kind)]


def type_settings_inputs() -> set[str]:
    """Every input that holds a type's setting."""
    return {name for setting in SETTINGS for name in setting.input_names}


def settings_layout(kind: str, *, types: Iterable[str]) -> dict[str, Any]:
    """What the field page shows: the chosen type's settings (`current`), then,
    by heading, every other setting a type of `types` takes (`others`; without
    script they are shown too, so that changing the type needs no second page).
    Each entry is (setting, order in the table)."""
    offered = set(types)
    current, others = [], {section: [] for section in SECTIONS}
    for order, setting in enumerate(SETTINGS):
        if setting.applies_to(kind):
            current.append((setting, order))
        elif setting.types & offered:
            others[setting.section].append((setting, order))
    return {"current": current, "others": others}
