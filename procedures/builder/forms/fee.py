"""The form of the fee: its kind, amounts, the rules of a computed fee, the
waivers, when it is due and how it is paid. The inputs produce the fee of the
exchange format (the JSON the advanced view and the API show), keeping only what
the chosen kind takes; the rules about the whole fee are the services'
(procedures.services.version_fee_problems), shown here next to their input."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from procedures.builder.forms.common import field_label, require_japanese, text_parts, text_value
from procedures.builder.forms.conditions import (
    ConditionMixin,
    format_condition_value,
    is_simple_condition,
)
from procedures.form_engine.conditions import referenced_fields
from procedures.form_engine.html import describe_condition

PAYMENT_METHODS = [
    ("card", _("Credit card")),
    ("qr_code", _("QR code payment")),
    ("bank_transfer", _("Bank transfer (Pay-easy)")),
    ("convenience_store", _("Convenience store")),
    ("cash", _("Cash")),
    ("revenue_stamp", _("Revenue stamps")),
]
FEE_KINDS = [
    ("none", _("No fee")),
    ("fixed", _("A fixed amount")),
    ("per_item", _("An amount per item")),
    ("computed", _("Computed by rules")),
]
FEE_DUE = [
    ("before_review", _("Before the review")),
    ("on_approval", _("On approval")),
]
# What each kind of fee takes; the rest is not kept (and the page's script hides it).
KIND_SETTINGS: dict[str, frozenset[str]] = {
    "none": frozenset(),
    "fixed": frozenset({"amount", "waivers", "due", "methods"}),
    "per_item": frozenset({"unit_amount", "item_field", "waivers", "due", "methods"}),
    "computed": frozenset({"amount", "rules", "waivers", "due", "methods"}),
}
# Rules and waivers are rows of inputs named <row>_<index>_<part>.
RULE, WAIVER = "rule", "waiver"
CONDITION_HINT = "fee-condition-hint"
MAX_ROWS = 20
ROW_INPUT = re.compile(r"^(rule|waiver)_(\d{1,2})_(\w+)$")
# Where a problem of the fee (a path of the definition) is shown.
PROBLEM_INPUTS = {
    "kind": "kind",
    "amount": "amount",
    "unit_amount": "unit_amount",
    "item_field": "item_field",
    "due": "due",
    "methods": "methods",
    # "A computed fee needs a base amount or rules": the base amount comes first.
    "rules": "amount",
}
ROW_PROBLEM_INPUTS = {"amount": "amount", "label": "label_ja", "condition": "field"}


def kinds_taking(setting: str) -> str:
    """The kinds of fee that take a setting, space-separated (for the page's script)."""
    return " ".join(kind for kind, settings in KIND_SETTINGS.items() if setting in settings)


def _row_count(value: Any) -> int:
    try:
        return max(0, min(int(value), MAX_ROWS))
    except (TypeError, ValueError):
        return 0


def _parse_condition(text: Any) -> dict | None:
    """A combined condition carried by the page (a hidden input) as JSON."""
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def initial_from_fee(fee: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs' values for a fee of the exchange format."""
    initial: dict[str, Any] = {
        "kind": fee.get("kind", "none"),
        "amount": fee.get("amount"),
        "unit_amount": fee.get("unit_amount"),
        "item_field": fee.get("item_field", ""),
        "due": fee.get("due", "before_review"),
        "methods": list(fee.get("methods", [])),
    }
    for row, items in ((RULE, fee.get("rules", [])), (WAIVER, fee.get("waivers", []))):
        initial[f"{row}_count"] = len(items)
        for index, item in enumerate(items):
            prefix = f"{row}_{index}"
            initial[f"{prefix}_label_ja"], initial[f"{prefix}_label_en"] = text_parts(
                item.get("label")
            )
            if row == RULE:
                initial[f"{prefix}_amount"] = item.get("amount")
            condition = item.get("condition")
            if is_simple_condition(condition):
                initial[f"{prefix}_field"] = condition["field"]
                initial[f"{prefix}_op"] = condition["op"]
                initial[f"{prefix}_value"] = format_condition_value(condition.get("value"))
            elif condition is not None:
                initial[f"{prefix}_combined"] = json.dumps(condition, ensure_ascii=False)
    return initial


class FeeForm(ConditionMixin, forms.Form):
    kind = forms.ChoiceField(label=_("Fee"), choices=FEE_KINDS, widget=forms.RadioSelect)
    amount = forms.IntegerField(
        label=_("Amount (yen)"),
        min_value=0,
        max_value=10_000_000,
        required=False,
        help_text=_("The fee (fixed), or the base amount that the rules add to (computed)."),
    )
    unit_amount = forms.IntegerField(
        label=_("Amount per item (yen)"), min_value=0, max_value=10_000_000, required=False
    )
    item_field = forms.ChoiceField(
        label=_("Field holding the number of items"),
        required=False,
        help_text=_("A whole-number question of the form, e.g. the number of copies."),
    )
    due = forms.ChoiceField(
        label=_("When the fee is due"), choices=FEE_DUE, widget=forms.RadioSelect, required=False
    )
    methods = forms.MultipleChoiceField(
        label=_("Payment methods"),
        choices=PAYMENT_METHODS,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Cash and revenue stamps fail the cashless principle."),
    )
    rule_count = forms.IntegerField(widget=forms.HiddenInput, required=False)
    waiver_count = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        data: Any = None,
        *,
        fee: Mapping[str, Any],
        form_fields: list[dict],
        initial: dict[str, Any] | None = None,
        focus: str = "",
        **kwargs: Any,
    ):
        """Bound to a POST (or the preview's query), the rows are those it counts;
        otherwise those of `initial` (by default the inputs of `fee`). `focus`
        names the input that takes the focus (a row just added)."""
        initial = initial if initial is not None else initial_from_fee(fee)
        super().__init__(data, initial=initial, **kwargs)
        source = self.data if self.is_bound else self.initial
        self.row_counts = {
            RULE: _row_count(source.get("rule_count")),
            WAIVER: _row_count(source.get("waiver_count")),
        }
        self.form_fields = form_fields
        self.field_keys = {spec["key"] for spec in form_fields}
        integers = [spec for spec in form_fields if spec.get("type") == "integer"]
        self.fields["item_field"].choices = [("", _("(none)"))] + [
            (spec["key"], field_label(spec)) for spec in integers
        ]
        current_item = source.get("item_field") or ""
        # A saved item field that is no longer a whole number stays choosable.
        if current_item == fee.get("item_field") and current_item not in {
            spec["key"] for spec in integers
        }:
            self.fields["item_field"].choices.append((current_item, current_item))
        for row in (RULE, WAIVER):
            for index in range(self.row_counts[row]):
                self._add_row(row, index, source)
        if focus in self.fields:
            self.fields[focus].widget.attrs["autofocus"] = True

    def _add_row(self, row: str, index: int, source: Mapping[str, Any]) -> None:
        prefix = f"{row}_{index}"
        number = index + 1
        if row == RULE:
            self.fields[f"{prefix}_label_ja"] = forms.CharField(
                label=_("Name of rule %(number)d (Japanese)") % {"number": number},
                max_length=200,
                required=False,
            )
            self.fields[f"{prefix}_label_en"] = forms.CharField(
                label=_("Name of rule %(number)d (English)") % {"number": number},
                max_length=200,
                required=False,
            )
            self.fields[f"{prefix}_amount"] = forms.IntegerField(
                label=_("Amount rule %(number)d adds (yen)") % {"number": number},
                min_value=0,
                max_value=10_000_000,
                required=False,
            )
            legend = _("Rule %(number)d applies if") % {"number": number}
        else:
            self.fields[f"{prefix}_label_ja"] = forms.CharField(
                label=_("Who waiver %(number)d is for (Japanese)") % {"number": number},
                max_length=200,
                required=False,
            )
            self.fields[f"{prefix}_label_en"] = forms.CharField(
                label=_("Who waiver %(number)d is for (English)") % {"number": number},
                max_length=200,
                required=False,
            )
            legend = _("Waiver %(number)d applies if") % {"number": number}
        self.fields[f"{prefix}_combined"] = forms.CharField(
            widget=forms.HiddenInput, required=False
        )
        self.add_condition(
            prefix,
            fields=self.form_fields,
            current=_parse_condition(source.get(f"{prefix}_combined")),
            legend=legend,
            describe=self._describe(_parse_condition(source.get(f"{prefix}_combined"))),
        )
        # One hint for the conditions of every row, above the rows.
        self.fields[f"{prefix}_value"].widget.attrs["aria-describedby"] = CONDITION_HINT
        # The error summary lists every row's inputs: name the row in their labels.
        labels = (
            {
                "field": _("Question of rule %(number)d"),
                "op": _("Operator of rule %(number)d"),
                "value": _("Value of rule %(number)d"),
            }
            if row == RULE
            else {
                "field": _("Question of waiver %(number)d"),
                "op": _("Operator of waiver %(number)d"),
                "value": _("Value of waiver %(number)d"),
            }
        )
        for part, label in labels.items():
            self.fields[f"{prefix}_{part}"].label = label % {"number": number}

    def _describe(self, condition: dict | None) -> str:
        specs = {spec["key"]: spec for spec in self.form_fields}
        return describe_condition(condition, specs) if condition else ""

    # --- Reading the rows ------------------------------------------------------------

    def rows(self, row: str) -> list[dict[str, Any]]:
        """The bound inputs of each rule or waiver, for the template."""
        found = []
        for index in range(self.row_counts[row]):
            prefix = f"{row}_{index}"
            found.append(
                {
                    "index": index,
                    "number": index + 1,
                    "prefix": prefix,
                    "label_ja": self[f"{prefix}_label_ja"],
                    "label_en": self[f"{prefix}_label_en"],
                    "amount": self[f"{prefix}_amount"] if row == RULE else None,
                    "combined": self[f"{prefix}_combined"],
                    "condition": self.condition_groups[prefix],
                }
            )
        return found

    @property
    def rule_rows(self) -> list[dict[str, Any]]:
        return self.rows(RULE)

    @property
    def waiver_rows(self) -> list[dict[str, Any]]:
        return self.rows(WAIVER)

    def _raw(self, name: str) -> Any:
        return self[name].value() if name in self.fields else None

    def example_keys(self) -> list[str]:
        """The fields the fee reads as the inputs stand (cleaned or not), in order:
        the item count, then the conditions of the rules and of the waivers."""
        kind = self._raw("kind") or "none"
        keys: list[str] = []
        if kind == "per_item" and self._raw("item_field"):
            keys.append(str(self._raw("item_field")))
        rows = ([RULE] if kind == "computed" else []) + ([WAIVER] if kind != "none" else [])
        for row in rows:
            for index in range(self.row_counts[row]):
                prefix = f"{row}_{index}"
                keep = f"{prefix}_keep" in self.fields and self._raw(f"{prefix}_keep")
                if keep:
                    keys += referenced_fields(self.current_conditions[prefix])
                elif self._raw(f"{prefix}_field"):
                    keys.append(str(self._raw(f"{prefix}_field")))
        return [key for key in dict.fromkeys(keys) if key in self.field_keys]

    # --- Cleaning ----------------------------------------------------------------------

    def _row_is_empty(self, row: str, index: int) -> bool:
        """Nothing typed or chosen in it (the operator always has a value)."""
        prefix = f"{row}_{index}"
        parts = ["label_ja", "label_en", "field", "value"] + (["amount"] if row == RULE else [])
        if f"{prefix}_keep" in self.fields and self._raw(f"{prefix}_keep"):
            return False
        return all(self._raw(f"{prefix}_{part}") in (None, "") for part in parts)

    def _clean_row(self, row: str, index: int) -> dict[str, Any] | None:
        prefix = f"{row}_{index}"
        data = self.cleaned_data
        require_japanese(self, f"{prefix}_label_ja", f"{prefix}_label_en")
        condition = self.clean_condition(prefix)
        condition_inputs = (f"{prefix}_field", f"{prefix}_op", f"{prefix}_value")
        if condition is None and not any(name in self.errors for name in condition_inputs):
            self.add_error(
                f"{prefix}_field",
                _("Choose when the rule applies.")
                if row == RULE
                else _("Choose when the waiver applies."),
            )
        label = text_value(data.get(f"{prefix}_label_ja", ""), data.get(f"{prefix}_label_en", ""))
        item: dict[str, Any] = {"condition": condition}
        if row == RULE:
            amount = data.get(f"{prefix}_amount")
            if amount is None and f"{prefix}_amount" not in self.errors:
                self.add_error(f"{prefix}_amount", _("Enter the amount the rule adds."))
            item["amount"] = amount
        elif label is None and f"{prefix}_label_ja" not in self.errors:
            self.add_error(f"{prefix}_label_ja", _("Say who the waiver is for."))
        if label is not None:
            item["label"] = label
        return item

    def clean(self):
        data = super().clean()
        # Which row of the page each rule and waiver of the fee came from (empty
        # rows are left out), to show a problem of the fee next to its row.
        self.row_of_item: dict[str, list[int]] = {RULE: [], WAIVER: []}
        for row, name in ((RULE, "rules"), (WAIVER, "waivers")):
            items = []
            for index in range(self.row_counts[row]):
                if self._row_is_empty(row, index):
                    continue
                items.append(self._clean_row(row, index))
                self.row_of_item[row].append(index)
            data[name] = items
        return data

    def to_fee(self) -> dict[str, Any]:
        """The fee in the exchange format: what the chosen kind takes, filled in."""
        data = self.cleaned_data
        kind = data["kind"]
        takes = KIND_SETTINGS.get(kind, frozenset())
        fee: dict[str, Any] = {"kind": kind}
        for name in ("amount", "unit_amount"):
            if name in takes and data.get(name) is not None:
                fee[name] = data[name]
        if "item_field" in takes and data.get("item_field"):
            fee["item_field"] = data["item_field"]
        for name in ("rules", "waivers"):
            if name in takes and data.get(name):
                fee[name] = data[name]
        if "due" in takes:
            fee["due"] = data.get("due") or "before_review"
        if "methods" in takes and data.get("methods"):
            fee["methods"] = [
                value for value, _label in PAYMENT_METHODS if value in data["methods"]
            ]
        return fee

    # --- The services' problems ---------------------------------------------------------

    def input_of_problem(self, path: str) -> str | None:
        """The input a problem of the fee ("version.fee.rules.1.amount") is about."""
        parts = path.split(".")
        while parts and parts[0] in ("version", "fee"):
            parts = parts[1:]
        if len(parts) >= 2 and parts[0] in ("rules", "waivers") and parts[1].isdigit():
            row = RULE if parts[0] == "rules" else WAIVER
            rows = getattr(self, "row_of_item", {}).get(row, [])
            position = int(parts[1])
            if position >= len(rows):
                return None
            part = ROW_PROBLEM_INPUTS.get(parts[2] if len(parts) > 2 else "condition", "field")
            name = f"{row}_{rows[position]}_{part}"
            return name if name in self.fields else None
        name = PROBLEM_INPUTS.get(parts[0]) if parts else None
        return name if name in self.fields else None

    def add_problems(self, problems: list[dict[str, str]]) -> None:
        """A service's problems (path and message), each next to its input."""
        for problem in problems:
            self.add_error(self.input_of_problem(problem.get("path", "")), problem["message"])


def carried(
    data: Any,
    *,
    fee: Mapping[str, Any],
    form_fields: list[dict],
    add: str = "",
    remove: tuple[str, int] | None = None,
) -> FeeForm:
    """The form as the admin left it, unbound (so that no error shows yet), with
    a row added (`add`: rule or waiver) or one removed (`remove`: row, index):
    every value typed is kept, in the rows it was typed in."""
    bound = FeeForm(data, fee=fee, form_fields=form_fields)
    initial: dict[str, Any] = {}
    counts = dict(bound.row_counts)
    for name in bound.fields:
        value = bound[name].data
        match = ROW_INPUT.match(name)
        if match and remove is not None and match.group(1) == remove[0]:
            index = int(match.group(2))
            if index == remove[1]:
                continue
            if index > remove[1]:
                name = f"{match.group(1)}_{index - 1}_{match.group(3)}"
        initial[name] = value
    focus = ""
    if remove is not None and remove[1] < counts[remove[0]]:
        counts[remove[0]] -= 1
        left = counts[remove[0]]
        # The focus goes to the row that took its place, else to the one before.
        if left:
            focus = f"{remove[0]}_{min(remove[1], left - 1)}_label_ja"
    if add in (RULE, WAIVER) and counts[add] < MAX_ROWS:
        focus = f"{add}_{counts[add]}_label_ja"
        counts[add] += 1
    initial["rule_count"], initial["waiver_count"] = counts[RULE], counts[WAIVER]
    return FeeForm(fee=fee, form_fields=form_fields, initial=initial, focus=focus)


class FeeJsonForm(forms.Form):
    """The advanced view: the fee of the exchange format as text."""

    fee_json = forms.CharField(
        label=_("The fee as JSON"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 12, "class": "code-input", "spellcheck": "false"}),
        help_text=_(
            "The “fee” of the exchange format, the same as the inputs above produce. Saving it replaces the fee."
        ),
    )

    def clean_fee_json(self) -> dict:
        text = self.cleaned_data["fee_json"]
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(
                _("This is not valid JSON: %(error)s") % {"error": error}
            ) from None
        if not isinstance(value, dict):
            raise forms.ValidationError(_("Enter a JSON object."))
        return value

    def add_problems(self, problems: list[dict[str, str]]) -> None:
        for problem in problems:
            path = problem.get("path", "").removeprefix("version.")
            self.add_error(
                "fee_json", f"{path}: {problem['message']}" if path else problem["message"]
            )
