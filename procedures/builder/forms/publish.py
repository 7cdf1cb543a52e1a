"""The forms of publishing: the publish confirmation (with the revision the admin
reviewed) and the request of an exemption from a five-less principle."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from procedures.models import Principle


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


class PublishForm(forms.Form):
    # A digest of the draft the admin reviewed: publishing refuses if it changed.
    revision = forms.CharField(widget=forms.HiddenInput, max_length=64)
