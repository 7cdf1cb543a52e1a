"""The shape of the delivery target pages' input; the rules are the services'."""

from django import forms
from django.utils.translation import gettext_lazy as _

from deliveries.models import EventType, TargetKind


class TargetForm(forms.Form):
    name = forms.CharField(
        label=_("System name"),
        max_length=100,
        help_text=_("What your department calls the receiving system, e.g. 福祉総合システム."),
    )
    kind = forms.ChoiceField(
        label=_("Deliver by"), choices=TargetKind.choices, widget=forms.RadioSelect
    )
    url = forms.CharField(
        label=_("Webhook address"),
        required=False,
        max_length=500,
        help_text=_(
            "For a webhook: the HTTPS address that receives the events. Each request is "
            "signed as the Standard Webhooks specification says."
        ),
        widget=forms.URLInput,
    )
    email = forms.CharField(
        label=_("Mailbox"),
        required=False,
        max_length=254,
        help_text=_("For e-mail: the department's address. The signed filing is attached."),
        widget=forms.EmailInput,
    )
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=EventType.choices,
        widget=forms.CheckboxSelectMultiple,
    )


class TargetEditForm(TargetForm):
    active = forms.BooleanField(
        label=_("Active: deliver this target's events"), required=False, initial=True
    )

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        # The kind is fixed once made (a webhook's secret belongs to it).
        del self.fields["kind"]
        if kind == TargetKind.WEBHOOK:
            del self.fields["email"]
        else:
            del self.fields["url"]
