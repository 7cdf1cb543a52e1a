"""The form of a step: key, title, description and the condition that shows it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from procedures.builder.forms.common import (
    KEY_HELP,
    key_validator,
    require_japanese,
    text_parts,
    text_value,
)
from procedures.builder.forms.conditions import ConditionMixin


class StepForm(ConditionMixin, forms.Form):
    key = forms.CharField(
        label=_("Key"), max_length=63, validators=[key_validator], help_text=KEY_HELP
    )
    title_ja = forms.CharField(label=_("Title (Japanese)"), max_length=200)
    title_en = forms.CharField(label=_("Title (English)"), max_length=200, required=False)
    description_ja = forms.CharField(
        label=_("Description (Japanese)"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    description_en = forms.CharField(
        label=_("Description (English)"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )

    def __init__(
        self,
        *args: Any,
        condition_fields: list[dict],
        current: dict | None = None,
        describe: str = "",
        **kwargs: Any,
    ):
        if current is not None and not kwargs.get("initial"):
            title_ja, title_en = text_parts(current.get("title"))
            description_ja, description_en = text_parts(current.get("description"))
            kwargs["initial"] = {
                "key": current.get("key"),
                "title_ja": title_ja,
                "title_en": title_en,
                "description_ja": description_ja,
                "description_en": description_en,
            }
        super().__init__(*args, **kwargs)
        self.add_condition(
            "condition",
            fields=condition_fields,
            current=(current or {}).get("condition"),
            legend=_("Show this step only if"),
            describe=describe,
        )

    def clean(self):
        data = super().clean()
        require_japanese(self, "description_ja", "description_en")
        data["condition"] = self.clean_condition("condition")
        return data

    def to_step(self) -> dict[str, Any]:
        data = self.cleaned_data
        step: dict[str, Any] = {
            "key": data["key"],
            "title": text_value(data["title_ja"], data["title_en"]),
        }
        if description := text_value(data["description_ja"], data["description_en"]):
            step["description"] = description
        if data.get("condition") is not None:
            step["condition"] = data["condition"]
        return step
