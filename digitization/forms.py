"""The shapes of the digitization pages' input. Rules live in the services."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from digitization.models import STAGES, Channel, Stage
from digitization.periods import fiscal_year_of, parse_month
from procedures.models import Principle


class MonthInput(forms.TextInput):
    input_type = "month"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class MonthField(forms.CharField):
    """A month as YYYY-MM (what <input type="month"> sends), cleaned to its first day."""

    widget = MonthInput

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        month = parse_month(value)
        if month is None:
            raise forms.ValidationError(_("Write the month as YYYY-MM, for example 2026-04."))
        return month


class CaseReportForm(forms.Form):
    procedure_code = forms.CharField(
        label=_("Procedure code"),
        max_length=63,
        help_text=_("As listed in the inventory, for example food-business-permit."),
    )
    month = MonthField(label=_("Month"), help_text=_("For example 2026-04."))
    online_cases = forms.IntegerField(
        label=_("Cases received online"),
        min_value=0,
        required=False,
        help_text=_("Leave empty for a procedure on this platform: it counts its own."),
    )
    offline_cases = forms.IntegerField(
        label=_("Cases received offline"),
        min_value=0,
        required=False,
        help_text=_("On paper, by post or at a counter."),
    )

    def clean_online_cases(self):
        return self.cleaned_data.get("online_cases") or 0

    def clean_offline_cases(self):
        return self.cleaned_data.get("offline_cases") or 0


class CSVUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8 or Shift_JIS, with the header row shown below; at most 10 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


class EntryForm(forms.Form):
    """A procedure outside the platform, as its department records it."""

    code = forms.SlugField(
        label=_("Code"),
        max_length=63,
        help_text=_(
            "Lower-case letters, digits and hyphens; the same code as in the catalogue if it is there."
        ),
    )
    title_ja = forms.CharField(label=_("Name (Japanese)"), max_length=200)
    title_en = forms.CharField(label=_("Name (English)"), max_length=200, required=False)
    organization = forms.ModelChoiceField(label=_("Owning organization"), queryset=None)
    channel = forms.ChoiceField(
        label=_("Where it is filed"),
        choices=[
            (Channel.OTHER_ONLINE, Channel.OTHER_ONLINE.label),
            (Channel.OFFLINE, Channel.OFFLINE.label),
        ],
        widget=forms.RadioSelect,
    )
    annual_volume = forms.IntegerField(label=_("Cases per fiscal year"), min_value=0)
    volume_fiscal_year = forms.IntegerField(
        label=_("Fiscal year of that count"),
        min_value=2000,
        help_text=_("The year it starts in: 2025 for April 2025 to March 2026."),
    )
    stages = forms.MultipleChoiceField(
        label=_("Stages that can be done online"),
        choices=Stage.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "A stage the procedure does not have (no fee, no attachments) counts as online."
        ),
    )
    breaks = forms.MultipleChoiceField(
        label=_("Principles it breaks besides its offline stages"),
        choices=Principle.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "An offline stage already breaks its principle: paper filing and attachments paperless, "
            "identity checks and results at a counter touchless, cash fees cashless. Tick a seal "
            "(hanko-less) or fax (FAX-less) requirement here."
        ),
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    active = forms.BooleanField(
        label=_("In force"),
        required=False,
        initial=True,
        help_text=_("Untick for an abolished procedure: it stays listed but does not count."),
    )

    def __init__(self, *args, organizations=None, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations
        self.fields["organization"].label_from_instance = lambda org: org.name
        self.fields["volume_fiscal_year"].max_value = fiscal_year_of(timezone.localdate())
        if editing:
            del self.fields["code"]

    @staticmethod
    def initial_of(entry) -> dict:
        from digitization.assessment import recorded_of

        online, broken = recorded_of(entry)
        return {
            "title_ja": entry.title_ja,
            "title_en": entry.title_en,
            "organization": entry.organization,
            "channel": entry.channel,
            "annual_volume": entry.annual_volume,
            "volume_fiscal_year": entry.volume_fiscal_year,
            "stages": [stage for stage in STAGES if online[stage]],
            "breaks": broken,
            "note": entry.note,
            "active": entry.active,
        }


class ExemptionDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("approve", _("Approve")), ("refuse", _("Refuse"))],
        widget=forms.RadioSelect,
    )
    review_date = forms.DateField(
        label=_("Review date"),
        required=False,
        widget=DateInput(),
        help_text=_("Required to approve. The exemption counts until this day, inclusive."),
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["review_date"].widget.attrs["min"] = (
            timezone.localdate() + timedelta(days=1)
        ).isoformat()

    def clean(self):
        data = super().clean()
        if data.get("decision") == "approve" and not data.get("review_date"):
            self.add_error("review_date", _("Give a review date in the future."))
        return data


YES_NO = [("", _("Any")), ("true", _("Yes")), ("false", _("No"))]


class InventoryFilterForm(forms.Form):
    q = forms.CharField(label=_("Code or name"), required=False, max_length=100)
    organization = forms.ChoiceField(label=_("Organization"), required=False)
    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=[("", _("Any")), *Channel.choices]
    )
    digital = forms.ChoiceField(label=_("Digital"), required=False, choices=YES_NO)
    in_force = forms.ChoiceField(label=_("In force"), required=False, choices=YES_NO)
    principle = forms.ChoiceField(
        label=_("Principle"), required=False, choices=[("", _("Any")), *Principle.choices]
    )
    principle_status = forms.ChoiceField(
        label=_("Result for that principle"),
        required=False,
        choices=[("", _("Any")), ("pass", _("Pass")), ("exempt", _("Exempt")), ("fail", _("Fail"))],
    )

    def __init__(self, *args, organizations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].choices = [("", _("All"))] + [
            (org.code, ("　" * max(0, org.depth - 1)) + org.name) for org in organizations
        ]


class AuditLogFilterForm(forms.Form):
    actor = forms.CharField(
        label=_("Actor"),
        required=False,
        max_length=254,
        help_text=_("An e-mail address, a user id, or “platform” for the platform's own events."),
    )
    action = forms.CharField(
        label=_("Action"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"list": "known-actions"}),
        help_text=_(
            "For example procedures.published, or procedures.* for every action of an app."
        ),
    )
    target_type = forms.CharField(
        label=_("Object type"),
        required=False,
        max_length=100,
        help_text=_("For example procedures.exemption."),
    )
    target_id = forms.CharField(label=_("Object id"), required=False, max_length=64)
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput())

    def clean(self):
        data = super().clean()
        first, last = data.get("date_from"), data.get("date_to")
        if first and last and first > last:
            self.add_error("date_to", _("The end date is before the start date."))
        return data


def default_review_date() -> date:
    today = timezone.localdate()
    return date(today.year + 1 if today.month >= 4 else today.year, 3, 31)
