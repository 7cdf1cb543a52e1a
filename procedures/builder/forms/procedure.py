"""The catalogue entry's forms: create or edit a procedure, import one from a file."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from accounts.permissions import Action, organizations_where
from procedures.models import ANNUAL_VOLUME_MAX, Category, Filer, IdentityLevel, LifeEvent
from procedures.search import analyser_readings
from procedures.services import CODE_PATTERN, PROCEDURE_FIELDS
from procedures.window import TOKYO, window_problems


class JapanTimeField(forms.DateTimeField):
    """A date and time typed (and shown) in Japan time, whatever the server's zone."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    default_error_messages = {
        "invalid": _("Enter a date and time, for example 2027-04-01 0:00."),
    }

    def to_python(self, value: Any):
        with timezone.override(TOKYO):
            return super().to_python(value)

    def prepare_value(self, value: Any):
        with timezone.override(TOKYO):
            return super().prepare_value(value)


class WordListField(forms.CharField):
    """Words one per line, as a list (the services trim and check them)."""

    widget = forms.Textarea(attrs={"rows": 4})

    def to_python(self, value: Any) -> list[str]:
        text = super().to_python(value)
        return [line.strip() for line in text.splitlines() if line.strip()]

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(value) if isinstance(value, list | tuple) else value


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
    keywords = WordListField(
        label=_("Search keywords"),
        required=False,
        help_text=_(
            "One per line: words residents may search by that the title does not hold, "
            "such as everyday names, older names and English (保育園, daycare)."
        ),
    )
    readings = WordListField(
        label=_("Readings"),
        required=False,
        help_text=_(
            "One per line, in kana: the reading of the title or a keyword where the "
            "search reads it wrongly. Readings are otherwise produced automatically."
        ),
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
    opens_at = JapanTimeField(
        label=_("Applications open at (Japan time)"),
        required=False,
        help_text=_(
            "From this moment residents can start and submit applications. Leave empty to "
            "take them as soon as a version is published."
        ),
    )
    closes_at = JapanTimeField(
        label=_("Applications close at (Japan time)"),
        required=False,
        help_text=_(
            "From this moment no application can be started or submitted; cases already "
            "submitted go on. To take applications through 30 April, enter 1 May 0:00: "
            "residents read “until 30 April 23:59”. Leave empty for no deadline."
        ),
    )

    def __init__(self, *args: Any, actor: Any, creating: bool, procedure=None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.creating = creating
        if procedure is not None and (read := analyser_readings(procedure)):
            self.fields["readings"].help_text = format_html(
                "{} {}: {}",
                self.fields["readings"].help_text,
                _("The search reads them as"),
                "、".join(read),
            )
        if creating:
            self.fields["organization"].queryset = organizations_where(
                actor, Action.MANAGE_PROCEDURES
            ).order_by("path")
        else:
            del self.fields["code"]
            del self.fields["organization"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name, problem in window_problems(data.get("opens_at"), data.get("closes_at")).items():
            self.add_error(name, problem)
        return data

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
