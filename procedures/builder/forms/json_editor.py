"""The form of the JSON editor: the whole definition as text."""

from __future__ import annotations

import json

from django import forms
from django.utils.translation import gettext_lazy as _


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
