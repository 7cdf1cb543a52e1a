"""The forms of a field (or a sub-field of a repeating group): first its type,
then the settings that type takes, keeping only those filled in."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from procedures.builder import edits, lookup
from procedures.builder.forms.common import (
    KEY_HELP,
    key_validator,
    require_japanese,
    text_parts,
    text_value,
)
from procedures.builder.forms.conditions import ConditionMixin
from procedures.builder.forms.field_settings import FILE_TYPES, SETTINGS, settings_of
from procedures.form_engine.definition import PREFILL_TYPES

FIELD_TYPE_LABELS = {
    "text": _("Text (one line)"),
    "textarea": _("Text (several lines)"),
    "integer": _("Whole number"),
    "decimal": _("Decimal number"),
    "date": _("Date"),
    "email": _("E-mail address"),
    "phone": _("Phone number"),
    "postal_code": _("Postal code"),
    "address": _("Address"),
    "name": _("Name with furigana"),
    "choice": _("One choice of several"),
    "multi_choice": _("Several choices"),
    "consent": _("Consent (tick box)"),
    "file": _("File upload"),
    "my_number": _("Individual Number (My Number)"),
    "corporate_number": _("Corporate Number"),
    "group": _("Repeating group"),
}
PREFILL_CHOICES = [
    ("", _("No")),
    ("identity.full_name", _("Name")),
    ("identity.name_kana", _("Reading of the name (furigana)")),
    ("identity.birth_date", _("Date of birth")),
    ("identity.address", _("Address")),
]


def _date_bound(value: str) -> str:
    value = value.strip()
    if value == "today":
        return value
    try:
        date.fromisoformat(value)
    except ValueError:
        raise forms.ValidationError(_("Enter a date as YYYY-MM-DD, or today.")) from None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise forms.ValidationError(_("Enter a date as YYYY-MM-DD, or today."))
    return value


def parse_choices(text: str) -> list[dict[str, Any]]:
    """ "value|日本語|English" per line into the format's choices."""
    choices, seen = [], set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|")]
        if len(parts) < 2 or len(parts) > 3 or not parts[1]:
            raise forms.ValidationError(
                _("Line %(number)d: write value|日本語|English (the English is optional).")
                % {"number": number}
            )
        value = parts[0]
        if not edits.KEY_PATTERN.fullmatch(value):
            raise forms.ValidationError(
                _(
                    "Line %(number)d: the value “%(value)s” must be lower-case letters, digits and underscores, starting with a letter."
                )
                % {"number": number, "value": value}
            )
        if value in seen:
            raise forms.ValidationError(
                _("Line %(number)d: the value “%(value)s” is used twice.")
                % {"number": number, "value": value}
            )
        seen.add(value)
        choices.append(
            {"value": value, "label": text_value(parts[1], parts[2] if len(parts) == 3 else "")}
        )
    return choices


def _type_choices(in_group: bool) -> list[tuple[str, Any]]:
    types = [kind for kind in lookup.field_types() if not (in_group and kind == "group")]
    return [(kind, FIELD_TYPE_LABELS.get(kind, kind)) for kind in types]


class FieldTypeForm(forms.Form):
    """The first question when adding a field (sent with GET): its type decides
    which settings the field form opens."""

    type = forms.ChoiceField(
        label=_("What kind of answer does the question need?"), widget=forms.RadioSelect
    )

    def __init__(self, *args: Any, in_group: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["type"].choices = _type_choices(in_group)


# How a whole number is shown; blank is the format's default, a quantity.
DISPLAY_CHOICES = [
    ("", _("Quantity: 1,234 (the default)")),
    ("year", _("Year: 2025 (no separators)")),
    ("code", _("Code: 1234 (digits only)")),
    ("amount", _("Amount of money: 1,234 yen")),
]


class FieldForm(ConditionMixin, forms.Form):
    """One field of the form (or a sub-field of a repeating group). Settings that
    do not apply to the chosen type must be left empty."""

    key = forms.CharField(
        label=_("Key"), max_length=63, validators=[key_validator], help_text=KEY_HELP
    )
    type = forms.ChoiceField(label=_("Type"))
    label_ja = forms.CharField(label=_("Label (Japanese)"), max_length=500)
    label_en = forms.CharField(label=_("Label (English)"), max_length=500, required=False)
    help_ja = forms.CharField(
        label=_("Help text (Japanese)"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    help_en = forms.CharField(
        label=_("Help text (English)"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    required = forms.BooleanField(label=_("An answer is required"), required=False)
    # Text
    min_length = forms.IntegerField(label=_("Minimum length"), min_value=0, required=False)
    max_length = forms.IntegerField(label=_("Maximum length"), min_value=1, required=False)
    pattern = forms.CharField(
        label=_("Pattern (regular expression the whole answer must match)"),
        max_length=500,
        required=False,
        strip=False,
    )
    pattern_message_ja = forms.CharField(
        label=_("Message when the pattern does not match (Japanese)"),
        max_length=500,
        required=False,
    )
    pattern_message_en = forms.CharField(
        label=_("Message when the pattern does not match (English)"),
        max_length=500,
        required=False,
    )
    # Numbers
    min = forms.DecimalField(label=_("Minimum"), required=False, max_digits=20, decimal_places=6)
    max = forms.DecimalField(label=_("Maximum"), required=False, max_digits=20, decimal_places=6)
    decimal_places = forms.IntegerField(
        label=_("Decimal places"), min_value=0, max_value=6, required=False
    )
    display = forms.ChoiceField(
        label=_("How the whole number is shown"),
        choices=DISPLAY_CHOICES,
        required=False,
        help_text=_(
            "On the check page, the case pages and the PDFs. Whole numbers only. A whole "
            "number keeps no leading zeros: for a code such as 01100, use a one-line text "
            "field with a pattern instead."
        ),
    )
    # Dates
    min_date = forms.CharField(
        label=_("Earliest date"),
        required=False,
        max_length=10,
        help_text=_("YYYY-MM-DD, or today."),
    )
    max_date = forms.CharField(
        label=_("Latest date"),
        required=False,
        max_length=10,
        help_text=_("YYYY-MM-DD, or today."),
    )
    # Choices
    choices = forms.CharField(
        label=_("Options"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("One option per line: value|日本語|English, e.g. business|法人|Business."),
    )
    min_choices = forms.IntegerField(label=_("Minimum choices"), min_value=0, required=False)
    max_choices = forms.IntegerField(label=_("Maximum choices"), min_value=1, required=False)
    # Files
    accept = forms.MultipleChoiceField(
        label=_("Accepted file types"),
        choices=FILE_TYPES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("None ticked: PDF, JPG and PNG."),
    )
    max_size_mb = forms.IntegerField(
        label=_("Maximum size per file (MB)"), min_value=1, max_value=100, required=False
    )
    max_files = forms.IntegerField(
        label=_("Maximum number of files"), min_value=1, max_value=20, required=False
    )
    paper_original_required = forms.BooleanField(
        label=_("The paper original must also be presented"),
        required=False,
        help_text=_("This fails the paperless principle unless an exemption is approved."),
    )
    # Prefilled from the applicant's verified digital ID
    prefill = forms.ChoiceField(
        label=_("Fill in from the verified digital ID"),
        choices=PREFILL_CHOICES,
        required=False,
        help_text=_("The applicant can still see and change the value."),
    )
    # Repeating groups
    min_items = forms.IntegerField(label=_("Minimum items"), min_value=0, required=False)
    max_items = forms.IntegerField(
        label=_("Maximum items"), min_value=1, max_value=100, required=False
    )

    def __init__(
        self,
        *args: Any,
        condition_fields: list[dict],
        current: dict | None = None,
        in_group: bool = False,
        describe: dict[str, str] | None = None,
        **kwargs: Any,
    ):
        if current is not None and not kwargs.get("initial"):
            kwargs["initial"] = self.initial_from(current)
        super().__init__(*args, **kwargs)
        self.in_group = in_group
        self.fields["type"].choices = _type_choices(in_group)
        describe = describe or {}
        self.add_condition(
            "condition",
            fields=condition_fields,
            current=(current or {}).get("condition"),
            legend=_("Show this field only if"),
            describe=describe.get("condition", ""),
        )
        self.add_condition(
            "required_if",
            fields=condition_fields,
            current=(current or {}).get("required_if"),
            legend=_("Required only if"),
            describe=describe.get("required_if", ""),
        )

    @staticmethod
    def initial_from(spec: dict) -> dict[str, Any]:
        label_ja, label_en = text_parts(spec.get("label"))
        help_ja, help_en = text_parts(spec.get("help"))
        initial = {
            "key": spec.get("key"),
            "type": spec.get("type"),
            "label_ja": label_ja,
            "label_en": label_en,
            "help_ja": help_ja,
            "help_en": help_en,
            "required": bool(spec.get("required")),
        }
        for setting in SETTINGS:
            if spec.get(setting.name) is not None:
                initial.update(setting.initial(spec[setting.name]))
        return initial

    def clean_min_date(self) -> str:
        value = self.cleaned_data["min_date"]
        return _date_bound(value) if value else ""

    def clean_max_date(self) -> str:
        value = self.cleaned_data["max_date"]
        return _date_bound(value) if value else ""

    def clean_pattern(self) -> str:
        value = self.cleaned_data["pattern"]
        if value:
            try:
                re.compile(value)
            except re.error as error:
                raise forms.ValidationError(
                    _("This is not a valid regular expression: %(error)s") % {"error": error}
                ) from None
        return value

    def clean_choices(self) -> list[dict]:
        return parse_choices(self.cleaned_data["choices"])

    def clean(self):
        data = super().clean()
        require_japanese(self, "help_ja", "help_en")
        require_japanese(self, "pattern_message_ja", "pattern_message_en")
        data["condition"] = self.clean_condition("condition")
        data["required_if"] = self.clean_condition("required_if")
        kind = data.get("type")
        if kind:
            for setting in SETTINGS:
                if setting.applies_to(kind):
                    continue
                for name in setting.input_names:
                    if data.get(name) not in (None, "", [], False) and name not in self.errors:
                        self.add_error(
                            name,
                            _(
                                "This setting does not apply to fields of the type “%(type)s”; clear it."
                            )
                            % {"type": FIELD_TYPE_LABELS.get(kind, kind)},
                        )
            prefill = data.get("prefill")
            if prefill and kind not in PREFILL_TYPES.get(prefill, ()):
                self.add_error(
                    "prefill",
                    _("This value cannot fill a field of the type “%(type)s”.")
                    % {"type": FIELD_TYPE_LABELS.get(kind, kind)},
                )
            if (
                kind in ("choice", "multi_choice")
                and not data.get("choices")
                and "choices" not in self.errors
            ):
                self.add_error("choices", _("Give at least one option."))
        for low, high in (
            ("min_length", "max_length"),
            ("min", "max"),
            ("min_choices", "max_choices"),
            ("min_items", "max_items"),
        ):
            if data.get(low) is not None and data.get(high) is not None and data[low] > data[high]:
                self.add_error(low, _("The minimum is greater than the maximum."))
        return data

    def to_spec(self) -> dict[str, Any]:
        """The field as JSON, with only the settings that were filled in."""
        return self.spec_from(self.cleaned_data)

    @staticmethod
    def spec_from(data: dict[str, Any]) -> dict[str, Any]:
        """The field as JSON from cleaned inputs; what failed to clean is left
        out (the preview shows a field whose settings are still being typed)."""
        spec: dict[str, Any] = {
            "key": data.get("key") or "",
            "type": data.get("type") or "",
            "label": text_value(data.get("label_ja", ""), data.get("label_en", "")),
        }
        if text := text_value(data.get("help_ja", ""), data.get("help_en", "")):
            spec["help"] = text
        if data.get("required"):
            spec["required"] = True
        for name in ("condition", "required_if"):
            if data.get(name) is not None:
                spec[name] = data[name]
        for setting in settings_of(spec["type"]):
            value = setting.value(data)
            if value is not None:
                spec[setting.name] = value
        return spec
