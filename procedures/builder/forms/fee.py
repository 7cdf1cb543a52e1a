"""The form of the fee: kind, amounts, when it is due, payment methods, the
rules of a computed fee and the waivers."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from procedures.builder.forms.common import field_label, require_japanese, text_value
from procedures.builder.forms.conditions import ConditionMixin

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


def _json_list(text: str, what: str) -> list:
    if not text.strip():
        return []
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise forms.ValidationError(
            _("This is not valid JSON: %(error)s") % {"error": error}
        ) from None
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise forms.ValidationError(
            _("Enter a JSON list of objects (%(what)s), e.g. [] for none.") % {"what": what}
        )
    return value


class FeeForm(ConditionMixin, forms.Form):
    kind = forms.ChoiceField(label=_("Fee"), choices=FEE_KINDS, widget=forms.RadioSelect)
    amount = forms.IntegerField(
        label=_("Amount (yen)"),
        min_value=0,
        required=False,
        help_text=_("The fee (fixed), or the base amount (computed)."),
    )
    unit_amount = forms.IntegerField(label=_("Amount per item (yen)"), min_value=0, required=False)
    item_field = forms.ChoiceField(label=_("Field holding the number of items"), required=False)
    due = forms.ChoiceField(
        label=_("When the fee is due"), choices=FEE_DUE, widget=forms.RadioSelect
    )
    methods = forms.MultipleChoiceField(
        label=_("Payment methods"),
        choices=PAYMENT_METHODS,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Cash and revenue stamps fail the cashless principle."),
    )
    rules = forms.CharField(
        label=_("Rules of a computed fee (JSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "class": "code-input", "spellcheck": "false"}),
        help_text=_(
            'A list; each rule whose condition holds adds its amount, e.g. [{"condition": {"field": "copies", "op": "gt", "value": 1}, "amount": 300}].'
        ),
    )
    waivers = forms.CharField(
        label=_("Waivers (JSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "class": "code-input", "spellcheck": "false"}),
        help_text=_("A list of declared categories for which no fee is due; add one below."),
    )
    waiver_label_ja = forms.CharField(
        label=_("New waiver: label (Japanese)"), max_length=200, required=False
    )
    waiver_label_en = forms.CharField(
        label=_("New waiver: label (English)"), max_length=200, required=False
    )

    def __init__(self, *args: Any, fee: dict, form_fields: list[dict], **kwargs: Any):
        if "initial" not in kwargs:
            kwargs["initial"] = {
                "kind": fee.get("kind", "none"),
                "amount": fee.get("amount"),
                "unit_amount": fee.get("unit_amount"),
                "item_field": fee.get("item_field", ""),
                "due": fee.get("due", "before_review"),
                "methods": list(fee.get("methods", [])),
                "rules": json.dumps(fee["rules"], ensure_ascii=False, indent=2)
                if fee.get("rules")
                else "",
                "waivers": json.dumps(fee["waivers"], ensure_ascii=False, indent=2)
                if fee.get("waivers")
                else "",
            }
        super().__init__(*args, **kwargs)
        integers = [spec for spec in form_fields if spec.get("type") == "integer"]
        self.fields["item_field"].choices = [("", _("(none)"))] + [
            (spec["key"], field_label(spec)) for spec in integers
        ]
        if fee.get("item_field") and fee["item_field"] not in {spec["key"] for spec in integers}:
            self.fields["item_field"].choices.append((fee["item_field"], fee["item_field"]))
        self.add_condition(
            "waiver",
            fields=form_fields,
            current=None,
            legend=_("New waiver applies if"),
        )

    def clean_rules(self) -> list:
        return _json_list(self.cleaned_data["rules"], "rules")

    def clean_waivers(self) -> list:
        return _json_list(self.cleaned_data["waivers"], "waivers")

    def clean(self):
        data = super().clean()
        require_japanese(self, "waiver_label_ja", "waiver_label_en")
        condition = self.clean_condition("waiver")
        label = text_value(data.get("waiver_label_ja", ""), data.get("waiver_label_en", ""))
        if condition is not None and label is None:
            self.add_error("waiver_label_ja", _("Name the new waiver."))
        elif label is not None and condition is None and not self.errors.get("waiver_field"):
            self.add_error("waiver_field", _("Choose when the new waiver applies."))
        elif label is not None and condition is not None and "waivers" in data:
            data["waivers"] = [*data["waivers"], {"condition": condition, "label": label}]
        return data

    def to_fee(self) -> dict[str, Any]:
        data = self.cleaned_data
        fee: dict[str, Any] = {"kind": data["kind"]}
        for name in ("amount", "unit_amount"):
            if data.get(name) is not None:
                fee[name] = data[name]
        if data.get("item_field"):
            fee["item_field"] = data["item_field"]
        if data.get("rules"):
            fee["rules"] = data["rules"]
        if data.get("waivers"):
            fee["waivers"] = data["waivers"]
        if data["kind"] != "none" or data.get("due") != "before_review":
            fee["due"] = data["due"]
        if data.get("methods"):
            fee["methods"] = [
                value for value, _label in PAYMENT_METHODS if value in data["methods"]
            ]
        return fee
