"""One simple condition ("<field> <operator> <value>") as three form inputs,
for the step, field and fee forms."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from procedures.builder.forms.common import field_label
from procedures.form_engine.conditions import OPERATORS

OPERATOR_LABELS = {
    "equals": _("is"),
    "not_equals": _("is not"),
    "one_of": _("is one of (separate values with commas)"),
    "gt": _("is more than"),
    "gte": _("is at least"),
    "lt": _("is less than"),
    "lte": _("is at most"),
    "filled": _("is answered"),
    "empty": _("is not answered"),
    "contains": _("includes (several choices)"),
}
VALUELESS_OPERATORS = ("filled", "empty")


def parse_condition_value(text: str, operator: str) -> Any:
    """What the admin typed, as JSON: numbers as numbers, true/false as booleans,
    anything else as text; a comma-separated list for "is one of"."""

    def one(item: str) -> Any:
        item = item.strip()
        if item.lower() in ("true", "false"):
            return item.lower() == "true"
        if re.fullmatch(r"[+-]?\d{1,15}", item):
            return int(item)
        if re.fullmatch(r"[+-]?\d{1,15}\.\d{1,12}", item):
            return float(item)
        return item

    if operator == "one_of":
        return [one(item) for item in text.split(",") if item.strip()]
    return one(text)


def format_condition_value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(format_condition_value(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def is_simple_condition(condition: Any) -> bool:
    return isinstance(condition, dict) and "field" in condition and "op" in condition


class ConditionMixin:
    """One simple condition ("<field> <operator> <value>") as three inputs named
    <prefix>_field, <prefix>_op and <prefix>_value. A combined condition (all /
    any / not, made in the JSON editor or the API) is kept unless the admin
    unticks <prefix>_keep."""

    def add_condition(
        self,
        prefix: str,
        *,
        fields: list[dict],
        current: Any,
        legend: Any,
        describe: str = "",
    ) -> None:
        if not hasattr(self, "condition_specs"):
            self.condition_specs, self.current_conditions, self.condition_legends = {}, {}, {}
        self.condition_specs[prefix] = {spec["key"]: spec for spec in fields}
        self.current_conditions[prefix] = current
        self.condition_legends[prefix] = legend
        choices = [("", _("(no condition)"))] + [
            (spec["key"], field_label(spec)) for spec in fields
        ]
        simple = is_simple_condition(current)
        if simple and current["field"] not in self.condition_specs[prefix]:
            choices.append((current["field"], current["field"]))
        self.fields[f"{prefix}_field"] = forms.ChoiceField(
            label=_("Question"), choices=choices, required=False
        )
        self.fields[f"{prefix}_op"] = forms.ChoiceField(
            label=_("Operator"),
            choices=[(op, OPERATOR_LABELS[op]) for op in OPERATORS],
            required=False,
        )
        # The hint is shown once under the three inputs (see _condition.html).
        self.fields[f"{prefix}_value"] = forms.CharField(
            label=_("Value"),
            required=False,
            max_length=500,
            widget=forms.TextInput(attrs={"aria-describedby": f"{prefix}-hint"}),
        )
        if simple:
            self.initial.setdefault(f"{prefix}_field", current["field"])
            self.initial.setdefault(f"{prefix}_op", current["op"])
            self.initial.setdefault(f"{prefix}_value", format_condition_value(current.get("value")))
        elif current is not None:
            self.fields[f"{prefix}_keep"] = forms.BooleanField(
                label=_("Keep the current combined condition: %(condition)s")
                % {"condition": describe},
                required=False,
                initial=True,
                help_text=_("Untick to replace it with the simple condition below, or with none."),
            )

    @property
    def condition_groups(self) -> dict[str, dict[str, Any]]:
        """The bound inputs of each condition, for the templates."""
        return {
            prefix: {
                "prefix": prefix,
                "legend": legend,
                "keep": self[f"{prefix}_keep"] if f"{prefix}_keep" in self.fields else None,
                "field": self[f"{prefix}_field"],
                "op": self[f"{prefix}_op"],
                "value": self[f"{prefix}_value"],
            }
            for prefix, legend in self.condition_legends.items()
        }

    def clean_condition(self, prefix: str) -> Any:
        data = self.cleaned_data
        if data.get(f"{prefix}_keep"):
            return self.current_conditions[prefix]
        key = data.get(f"{prefix}_field")
        operator = data.get(f"{prefix}_op") or ""
        text = (data.get(f"{prefix}_value") or "").strip()
        if not key:
            if text:
                self.add_error(f"{prefix}_field", _("Choose the field the condition reads."))
            return None
        if not operator:
            self.add_error(f"{prefix}_op", _("Choose an operator."))
            return None
        condition: dict[str, Any] = {"field": key, "op": operator}
        if operator in VALUELESS_OPERATORS:
            return condition
        if not text:
            self.add_error(f"{prefix}_value", _("Enter the value to compare with."))
            return None
        value = parse_condition_value(text, operator)
        spec = self.condition_specs[prefix].get(key, {})
        options = [choice["value"] for choice in spec.get("choices", [])]
        if options:
            wrong = [
                item
                for item in (value if isinstance(value, list) else [value])
                if item not in options
            ]
            if wrong:
                self.add_error(
                    f"{prefix}_value",
                    _("Not an option of this field: %(wrong)s. Its options are: %(options)s.")
                    % {
                        "wrong": ", ".join(map(str, wrong)),
                        "options": ", ".join(options),
                    },
                )
                return None
        condition["value"] = value
        return condition
