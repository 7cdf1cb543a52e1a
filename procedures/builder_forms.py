"""Forms of the procedure builder pages. They check the shape of what an admin
typed and turn it into the exchange format's JSON, keeping only the settings
that were filled in so the definition stays minimal. The rules about the whole
definition are the services' (version_update, version_publish)."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from accounts.permissions import Action, organizations_where
from procedures import builder
from procedures.form_engine.conditions import OPERATORS
from procedures.form_engine.definition import PREFILL_TYPES, definition_schema
from procedures.form_engine.text import localized_text
from procedures.models import (
    ANNUAL_VOLUME_MAX,
    Category,
    Filer,
    IdentityLevel,
    LifeEvent,
    Principle,
)
from procedures.services import CODE_PATTERN, PROCEDURE_FIELDS

KEY_HELP = _(
    "Lower-case letters, digits and underscores, starting with a letter, e.g. business_name."
)
key_validator = RegexValidator(
    builder.KEY_PATTERN.pattern,
    _("Use lower-case letters, digits and underscores, starting with a letter (at most 63)."),
)

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
FILE_TYPES = [
    (kind, kind.upper())
    for kind in definition_schema()["$defs"]["field"]["properties"]["accept"]["items"]["enum"]
]
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
APPROVALS = [
    ("four_eyes", _("Four eyes: a second person approves what the reviewer recommends")),
    ("single", _("Single: the reviewer decides")),
]
PREFILL_CHOICES = [
    ("", _("No")),
    ("identity.full_name", _("Name")),
    ("identity.birth_date", _("Date of birth")),
    ("identity.address", _("Address")),
]
IDENTITY_CHECKS = [
    ("online", _("Online (verified digital ID)")),
    ("in_person", _("In person at a counter")),
]
DELIVERY_METHODS = [
    ("electronic", _("Electronic (signed PDF download)")),
    ("post", _("By post")),
    ("counter_pickup", _("Pick-up at a counter")),
]
CONTACT_CHANNELS = [
    ("email", _("E-mail")),
    ("web_form", _("Web form")),
    ("phone", _("Phone")),
    ("fax", _("Fax")),
    ("counter", _("Counter")),
]
RESULT_KINDS = [
    ("", _("(not set)")),
    ("certificate", _("Certificate")),
    ("permit", _("Permit")),
    ("notice", _("Notice")),
]

# Which settings apply to which field type (all types: key, type, label, help,
# required, condition, required_if).
TYPE_ATTRIBUTES: dict[str, frozenset[str]] = {
    "text": frozenset({"min_length", "max_length", "pattern", "pattern_message"}),
    "textarea": frozenset({"min_length", "max_length", "pattern", "pattern_message"}),
    "integer": frozenset({"min", "max"}),
    "decimal": frozenset({"min", "max", "decimal_places"}),
    "date": frozenset({"min_date", "max_date"}),
    "choice": frozenset({"choices"}),
    "multi_choice": frozenset({"choices", "min_choices", "max_choices"}),
    "file": frozenset({"accept", "max_size_mb", "max_files", "paper_original_required"}),
    "group": frozenset({"min_items", "max_items"}),
}
# Form inputs holding each type-specific setting.
ATTRIBUTE_INPUTS = {
    "min_length": ["min_length"],
    "max_length": ["max_length"],
    "pattern": ["pattern"],
    "pattern_message": ["pattern_message_ja", "pattern_message_en"],
    "min": ["min"],
    "max": ["max"],
    "decimal_places": ["decimal_places"],
    "min_date": ["min_date"],
    "max_date": ["max_date"],
    "choices": ["choices"],
    "min_choices": ["min_choices"],
    "max_choices": ["max_choices"],
    "accept": ["accept"],
    "max_size_mb": ["max_size_mb"],
    "max_files": ["max_files"],
    "paper_original_required": ["paper_original_required"],
    "min_items": ["min_items"],
    "max_items": ["max_items"],
}


def _text(ja: str, en: str) -> dict[str, str] | None:
    """A format text object, or None when both are empty."""
    ja, en = (ja or "").strip(), (en or "").strip()
    if not ja and not en:
        return None
    return {"ja": ja, "en": en} if en else {"ja": ja}


def _text_initial(value: Any) -> tuple[str, str]:
    if isinstance(value, dict):
        return value.get("ja", ""), value.get("en", "")
    return "", ""


def _number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _field_label(spec: dict) -> str:
    return f"{localized_text(spec.get('label')) or spec.get('key')} ({spec.get('key')})"


def _require_japanese(form: forms.Form, ja: str, en: str) -> None:
    if form.cleaned_data.get(en) and not form.cleaned_data.get(ja):
        form.add_error(ja, _("Enter the Japanese text too: it is shown when no English is given."))


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
            (spec["key"], _field_label(spec)) for spec in fields
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


# --- Procedure ---------------------------------------------------------------------------


class ProcedureForm(forms.Form):
    """The catalogue entry: create (with code and owner) or edit."""

    code = forms.CharField(
        label=_("Code"),
        max_length=63,
        help_text=_(
            "Used in web addresses and exports, e.g. food-business-permit. Cannot be changed later."
        ),
        validators=[
            RegexValidator(
                CODE_PATTERN,
                _(
                    "Use 2 to 63 lower-case letters, digits and hyphens, starting with a letter or digit."
                ),
            )
        ],
    )
    organization = forms.ModelChoiceField(
        label=_("Owning organization"), queryset=Organization.objects.none()
    )
    title_ja = forms.CharField(label=_("Title (Japanese)"), max_length=200)
    title_en = forms.CharField(label=_("Title (English)"), max_length=200, required=False)
    description_ja = forms.CharField(
        label=_("Description (Japanese)"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    description_en = forms.CharField(
        label=_("Description (English)"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    legal_basis_ja = forms.CharField(
        label=_("Legal basis (Japanese)"), max_length=300, required=False
    )
    legal_basis_en = forms.CharField(
        label=_("Legal basis (English)"), max_length=300, required=False
    )
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    life_events = forms.MultipleChoiceField(
        label=_("Life events"),
        choices=LifeEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    filer = forms.ChoiceField(label=_("Who files"), choices=Filer.choices, widget=forms.RadioSelect)
    identity_level = forms.ChoiceField(
        label=_("Identity required"), choices=IdentityLevel.choices, widget=forms.RadioSelect
    )
    processing_days = forms.IntegerField(
        label=_("Standard processing period (business days)"), min_value=1, max_value=365
    )
    annual_volume = forms.IntegerField(
        label=_("Estimated cases per year"), min_value=0, max_value=ANNUAL_VOLUME_MAX, initial=0
    )

    def __init__(self, *args: Any, actor: Any, creating: bool, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.creating = creating
        if creating:
            self.fields["organization"].queryset = organizations_where(
                actor, Action.MANAGE_PROCEDURES
            ).order_by("path")
        else:
            del self.fields["code"]
            del self.fields["organization"]

    @classmethod
    def initial_from(cls, procedure) -> dict[str, Any]:
        return {name: getattr(procedure, name) for name in PROCEDURE_FIELDS}

    def procedure_fields(self) -> dict[str, Any]:
        """The keyword arguments of procedure_create / procedure_update."""
        data = self.cleaned_data
        fields = {name: data[name] for name in PROCEDURE_FIELDS if name != "life_events"}
        # In the catalogue's order, whatever order the boxes were ticked in.
        fields["life_events"] = [
            event for event in LifeEvent.values if event in data["life_events"]
        ]
        return fields


# --- Steps ---------------------------------------------------------------------------------


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
            title_ja, title_en = _text_initial(current.get("title"))
            description_ja, description_en = _text_initial(current.get("description"))
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
        _require_japanese(self, "description_ja", "description_en")
        data["condition"] = self.clean_condition("condition")
        return data

    def to_step(self) -> dict[str, Any]:
        data = self.cleaned_data
        step: dict[str, Any] = {
            "key": data["key"],
            "title": _text(data["title_ja"], data["title_en"]),
        }
        if description := _text(data["description_ja"], data["description_en"]):
            step["description"] = description
        if data.get("condition") is not None:
            step["condition"] = data["condition"]
        return step


# --- Fields --------------------------------------------------------------------------------


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
        if not builder.KEY_PATTERN.fullmatch(value):
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
            {"value": value, "label": _text(parts[1], parts[2] if len(parts) == 3 else "")}
        )
    return choices


def format_choices(choices: list[dict]) -> str:
    lines = []
    for choice in choices or []:
        ja, en = _text_initial(choice.get("label"))
        lines.append(
            "|".join([choice.get("value", ""), ja, en] if en else [choice.get("value", ""), ja])
        )
    return "\n".join(lines)


def _type_choices(in_group: bool) -> list[tuple[str, Any]]:
    types = [kind for kind in builder.field_types() if not (in_group and kind == "group")]
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
        label_ja, label_en = _text_initial(spec.get("label"))
        help_ja, help_en = _text_initial(spec.get("help"))
        message_ja, message_en = _text_initial(spec.get("pattern_message"))
        initial = {
            "key": spec.get("key"),
            "type": spec.get("type"),
            "label_ja": label_ja,
            "label_en": label_en,
            "help_ja": help_ja,
            "help_en": help_en,
            "required": bool(spec.get("required")),
            "pattern_message_ja": message_ja,
            "pattern_message_en": message_en,
            "choices": format_choices(spec.get("choices", [])),
            "accept": list(spec.get("accept", [])),
            "paper_original_required": bool(spec.get("paper_original_required")),
            "prefill": spec.get("prefill", ""),
        }
        for name in (
            "min_length",
            "max_length",
            "pattern",
            "min",
            "max",
            "decimal_places",
            "min_date",
            "max_date",
            "min_choices",
            "max_choices",
            "max_size_mb",
            "max_files",
            "min_items",
            "max_items",
        ):
            if spec.get(name) is not None:
                initial[name] = spec[name]
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
        _require_japanese(self, "help_ja", "help_en")
        _require_japanese(self, "pattern_message_ja", "pattern_message_en")
        data["condition"] = self.clean_condition("condition")
        data["required_if"] = self.clean_condition("required_if")
        kind = data.get("type")
        if kind:
            applicable = TYPE_ATTRIBUTES.get(kind, frozenset())
            for attribute, inputs in ATTRIBUTE_INPUTS.items():
                if attribute in applicable:
                    continue
                for name in inputs:
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
        data = self.cleaned_data
        spec: dict[str, Any] = {
            "key": data["key"],
            "type": data["type"],
            "label": _text(data["label_ja"], data["label_en"]),
        }
        if text := _text(data["help_ja"], data["help_en"]):
            spec["help"] = text
        if data["required"]:
            spec["required"] = True
        if data.get("prefill"):
            spec["prefill"] = data["prefill"]
        for name in ("condition", "required_if"):
            if data.get(name) is not None:
                spec[name] = data[name]
        applicable = TYPE_ATTRIBUTES.get(data["type"], frozenset())
        for name in (
            "min_length",
            "max_length",
            "pattern",
            "decimal_places",
            "min_date",
            "max_date",
            "min_choices",
            "max_choices",
            "max_size_mb",
            "max_files",
            "min_items",
            "max_items",
        ):
            if name in applicable and data.get(name) not in (None, ""):
                spec[name] = data[name]
        for name in ("min", "max"):
            if name in applicable and data.get(name) is not None:
                spec[name] = _number(data[name])
        if "pattern_message" in applicable and (
            text := _text(data["pattern_message_ja"], data["pattern_message_en"])
        ):
            spec["pattern_message"] = text
        if "choices" in applicable and data.get("choices"):
            spec["choices"] = data["choices"]
        if "accept" in applicable and data.get("accept"):
            spec["accept"] = [kind for kind, _label in FILE_TYPES if kind in data["accept"]]
        if "paper_original_required" in applicable and data.get("paper_original_required"):
            spec["paper_original_required"] = True
        return spec


# --- Fee -----------------------------------------------------------------------------------


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
            (spec["key"], _field_label(spec)) for spec in integers
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
        _require_japanese(self, "waiver_label_ja", "waiver_label_en")
        condition = self.clean_condition("waiver")
        label = _text(data.get("waiver_label_ja", ""), data.get("waiver_label_en", ""))
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


# --- Workflow, delivery, contact, result document ------------------------------------


class WorkflowForm(forms.Form):
    approval = forms.ChoiceField(label=_("Approval"), choices=APPROVALS, widget=forms.RadioSelect)
    identity_check = forms.ChoiceField(
        label=_("Identity check"), choices=IDENTITY_CHECKS, widget=forms.RadioSelect
    )
    counter_visit_required = forms.BooleanField(
        label=_("A step requires the applicant to visit a counter"),
        required=False,
        help_text=_("This fails the touchless principle unless an exemption is approved."),
    )
    delivery_methods = forms.MultipleChoiceField(
        label=_("How the result is delivered"),
        choices=DELIVERY_METHODS,
        widget=forms.CheckboxSelectMultiple,
    )
    contact_channels = forms.MultipleChoiceField(
        label=_("How applicants contact the department"),
        choices=CONTACT_CHANNELS,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Fax fails the FAX-less principle."),
    )
    contact_note_ja = forms.CharField(
        label=_("Contact note (Japanese)"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    contact_note_en = forms.CharField(
        label=_("Contact note (English)"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    result_kind = forms.ChoiceField(
        label=_("Result document"), choices=RESULT_KINDS, required=False
    )
    result_title_ja = forms.CharField(
        label=_("Document title (Japanese)"), max_length=200, required=False
    )
    result_title_en = forms.CharField(
        label=_("Document title (English)"), max_length=200, required=False
    )
    result_body_ja = forms.CharField(
        label=_("Document text (Japanese)"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
    )
    result_body_en = forms.CharField(
        label=_("Document text (English)"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )

    @staticmethod
    def initial_from(definition: dict) -> dict[str, Any]:
        workflow = definition.get("workflow", {})
        contact = definition.get("contact", {})
        document = definition.get("result_document", {})
        note_ja, note_en = _text_initial(contact.get("note"))
        title_ja, title_en = _text_initial(document.get("title"))
        body_ja, body_en = _text_initial(document.get("body"))
        return {
            "approval": workflow.get("approval", "four_eyes"),
            "identity_check": workflow.get("identity_check", "online"),
            "counter_visit_required": bool(workflow.get("counter_visit_required")),
            "delivery_methods": list(definition.get("delivery", {}).get("methods", [])),
            "contact_channels": list(contact.get("channels", [])),
            "contact_note_ja": note_ja,
            "contact_note_en": note_en,
            "result_kind": document.get("kind", ""),
            "result_title_ja": title_ja,
            "result_title_en": title_en,
            "result_body_ja": body_ja,
            "result_body_en": body_en,
        }

    def clean(self):
        data = super().clean()
        for ja, en in (
            ("contact_note_ja", "contact_note_en"),
            ("result_title_ja", "result_title_en"),
            ("result_body_ja", "result_body_en"),
        ):
            _require_japanese(self, ja, en)
        return data

    def to_sections(self) -> dict[str, Any]:
        """workflow, delivery, contact and result_document, as JSON (None: absent)."""
        data = self.cleaned_data
        workflow: dict[str, Any] = {"approval": data["approval"]}
        if data["counter_visit_required"]:
            workflow["counter_visit_required"] = True
        if data["identity_check"] != "online":
            workflow["identity_check"] = data["identity_check"]
        contact: dict[str, Any] = {}
        if data["contact_channels"]:
            contact["channels"] = [
                value for value, _label in CONTACT_CHANNELS if value in data["contact_channels"]
            ]
        if note := _text(data["contact_note_ja"], data["contact_note_en"]):
            contact["note"] = note
        document: dict[str, Any] = {}
        if data["result_kind"]:
            document["kind"] = data["result_kind"]
        if title := _text(data["result_title_ja"], data["result_title_en"]):
            document["title"] = title
        if body := _text(data["result_body_ja"], data["result_body_en"]):
            document["body"] = body
        return {
            "workflow": workflow,
            "delivery": {
                "methods": [
                    value for value, _label in DELIVERY_METHODS if value in data["delivery_methods"]
                ]
            },
            "contact": contact or None,
            "result_document": document or None,
        }


# --- Exemptions, import, JSON, small actions -------------------------------------------


class ExemptionForm(forms.Form):
    principle = forms.ChoiceField(
        label=_("Principle"), choices=Principle.choices, widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=5000,
        help_text=_("Why the procedure cannot comply, e.g. which law demands the paper original."),
    )
    legal_basis = forms.CharField(
        label=_("Legal basis"),
        max_length=300,
        required=False,
        help_text=_("The law or ordinance and its article, e.g. 食品衛生法第55条."),
    )
    within_city_discretion = forms.TypedChoiceField(
        label=_("Could the city remove the obstacle itself (e.g. by changing its own rules)?"),
        choices=[("yes", _("Yes")), ("no", _("No"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )


MAX_IMPORT_BYTES = 2 * 1024 * 1024


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("Procedure definition file (JSON)"),
        help_text=_("A file exported from this platform or another city's, at most 2 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": ".json,application/json"}),
    )
    organization = forms.ModelChoiceField(
        label=_("Owning organization"),
        queryset=Organization.objects.none(),
        required=False,
        empty_label=_("As named in the file"),
        help_text=_("Leave as named in the file when your organization uses the same code."),
    )

    def __init__(self, *args: Any, actor: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations_where(
            actor, Action.MANAGE_PROCEDURES
        ).order_by("path")

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(_("The file is larger than 2 MB."))
        try:
            return json.loads(upload.read().decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise forms.ValidationError(_("The file is not UTF-8 text.")) from None
        except json.JSONDecodeError as error:
            raise forms.ValidationError(
                _("The file is not valid JSON: %(error)s") % {"error": error}
            ) from None


class DefinitionJsonForm(forms.Form):
    definition = forms.CharField(
        label=_("Version definition (JSON)"),
        widget=forms.Textarea(attrs={"rows": 30, "class": "code-input", "spellcheck": "false"}),
        strip=False,
        help_text=_(
            "The “version” part of the exchange format: form, fee, workflow, delivery, contact and result_document."
        ),
    )

    def clean_definition(self) -> dict:
        try:
            value = json.loads(self.cleaned_data["definition"])
        except json.JSONDecodeError as error:
            raise forms.ValidationError(
                _("This is not valid JSON: %(error)s") % {"error": error}
            ) from None
        if not isinstance(value, dict):
            raise forms.ValidationError(_("Enter a JSON object."))
        return value


class MoveForm(forms.Form):
    direction = forms.ChoiceField(choices=[(builder.UP, _("Up")), (builder.DOWN, _("Down"))])


class ConfirmForm(forms.Form):
    """A POST that only needs its CSRF token: the page before it asked."""


class PublishForm(forms.Form):
    # A digest of the draft the admin reviewed: publishing refuses if it changed.
    revision = forms.CharField(widget=forms.HiddenInput, max_length=64)
