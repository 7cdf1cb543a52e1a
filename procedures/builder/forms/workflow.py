"""The form of the workflow, delivery of the result, contact and result document."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from core.retention import RetentionPeriod
from procedures.builder.forms.common import require_japanese, text_parts, text_value

APPROVALS = [
    ("four_eyes", _("Four eyes: a second person approves what the reviewer recommends")),
    ("single", _("Single: the reviewer decides")),
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

    retention_period = forms.ChoiceField(
        label=_("Retention period"),
        choices=[("", _("The department's default")), *RetentionPeriod.choices],
        required=False,
        help_text=_(
            "How long a case is kept after it ends (decided or withdrawn). Without a choice, "
            "the department's default is written in at publication. A change applies to "
            "cases filed under the next version."
        ),
    )
    individual_number_days = forms.IntegerField(
        label=_("Days the Individual Number is still needed after the case ends"),
        min_value=0,
        max_value=3650,
        required=False,
        help_text=_("0 or empty: it is erased when the case ends, as the My Number Act requires."),
    )

    @staticmethod
    def initial_from(definition: dict) -> dict[str, Any]:
        workflow = definition.get("workflow", {})
        contact = definition.get("contact", {})
        document = definition.get("result_document", {})
        note_ja, note_en = text_parts(contact.get("note"))
        title_ja, title_en = text_parts(document.get("title"))
        body_ja, body_en = text_parts(document.get("body"))
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
            "retention_period": (definition.get("retention") or {}).get("period", ""),
            "individual_number_days": (definition.get("retention") or {}).get(
                "individual_number_days"
            ),
        }

    def clean(self):
        data = super().clean()
        for ja, en in (
            ("contact_note_ja", "contact_note_en"),
            ("result_title_ja", "result_title_en"),
            ("result_body_ja", "result_body_en"),
        ):
            require_japanese(self, ja, en)
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
        if note := text_value(data["contact_note_ja"], data["contact_note_en"]):
            contact["note"] = note
        document: dict[str, Any] = {}
        if data["result_kind"]:
            document["kind"] = data["result_kind"]
        if title := text_value(data["result_title_ja"], data["result_title_en"]):
            document["title"] = title
        if body := text_value(data["result_body_ja"], data["result_body_en"]):
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
            "retention": self._retention() or None,
        }

    def _retention(self) -> dict[str, Any]:
        data = self.cleaned_data
        retention: dict[str, Any] = {}
        if data["retention_period"]:
            retention["period"] = data["retention_period"]
        if data["individual_number_days"]:
            retention["individual_number_days"] = data["individual_number_days"]
        return retention
