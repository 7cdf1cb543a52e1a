"""The form of the version's co-signers (the `cosigners` section of the open format,
docs/cosignature.md): one sub-form per role, a blank one to add a role, and a box
to remove one. A condition written in the JSON editor is kept as it is."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from procedures.builder.forms.common import (
    KEY_HELP,
    field_label,
    key_validator,
    require_japanese,
    text_parts,
    text_value,
)

MAX_ROLES = 5
IDENTITY_LEVELS = [
    ("email_verified", _("A verified e-mail address (the one the applicant names)")),
    ("identity_verified", _("A verified identity (digital ID), as well")),
]
# Answers a co-signer is never shown (procedures.form_engine.definition).
UNSHOWABLE = ("my_number", "file")


class CosignerRoleForm(forms.Form):
    key = forms.CharField(
        label=_("Key"), max_length=63, validators=[key_validator], help_text=KEY_HELP
    )
    label_ja = forms.CharField(
        label=_("Role (Japanese)"),
        max_length=100,
        help_text=_("What the applicant and the co-signer read, e.g. 配偶者, 連帯保証人."),
    )
    label_en = forms.CharField(label=_("Role (English)"), max_length=100, required=False)
    required = forms.BooleanField(
        label=_("Required: the case waits for this co-signature"),
        required=False,
        help_text=_("Unticked, the co-signer is asked only when the applicant names one."),
    )
    identity_level = forms.ChoiceField(
        label=_("What the co-signer proves before signing"),
        choices=IDENTITY_LEVELS,
        widget=forms.RadioSelect,
        initial="email_verified",
    )
    statement_ja = forms.CharField(
        label=_("What they consent to (Japanese)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
    )
    statement_en = forms.CharField(
        label=_("What they consent to (English)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        required=False,
    )
    shows = forms.MultipleChoiceField(
        label=_("Answers shown to the co-signer"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Never an Individual Number or a file."),
    )

    def __init__(self, *args, showable: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["shows"].choices = showable

    def has_changed(self) -> bool:
        """A blank "add a co-signer" part is left alone: its radio buttons always
        post their default, which is no reason to validate it."""
        return any(name != "identity_level" for name in self.changed_data)

    def clean(self):
        data = super().clean()
        require_japanese(self, "statement_ja", "statement_en")
        return data


class BaseCosignerFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        keys = set()
        for form in self.forms:
            if not form.has_changed() or self._should_delete_form(form):
                continue
            key = form.cleaned_data.get("key")
            if key in keys:
                form.add_error("key", _("Co-signer keys must be unique."))
            keys.add(key)


CosignerFormSet = forms.formset_factory(
    CosignerRoleForm,
    formset=BaseCosignerFormSet,
    extra=1,
    max_num=MAX_ROLES,
    validate_max=True,
    can_delete=True,
)


def showable_fields(definition: dict) -> list[tuple[str, str]]:
    """(key, label) of the top-level fields a co-signer may be shown."""
    return [
        (spec["key"], field_label(spec))
        for step in (definition.get("form") or {}).get("steps", [])
        for spec in step.get("fields", [])
        if spec.get("type") not in UNSHOWABLE
    ]


def initial_roles(definition: dict) -> list[dict[str, Any]]:
    roles = []
    for role in definition.get("cosigners") or []:
        label_ja, label_en = text_parts(role.get("label"))
        statement_ja, statement_en = text_parts(role.get("statement"))
        roles.append(
            {
                "key": role["key"],
                "label_ja": label_ja,
                "label_en": label_en,
                "required": bool(role.get("required", True)),
                "identity_level": role.get("identity_level", "email_verified"),
                "statement_ja": statement_ja,
                "statement_en": statement_en,
                "shows": list(role.get("shows", [])),
            }
        )
    return roles


def cosigners_from(formset: forms.BaseFormSet, definition: dict) -> list[dict[str, Any]] | None:
    """The section as JSON (None: no co-signers), keeping each role's condition."""
    conditions = {
        role["key"]: role["condition"]
        for role in definition.get("cosigners") or []
        if "condition" in role
    }
    roles = []
    for form in formset.forms:
        if not form.has_changed() and not form.initial:
            continue
        if formset._should_delete_form(form):
            continue
        data = form.cleaned_data
        role: dict[str, Any] = {
            "key": data["key"],
            "label": text_value(data["label_ja"], data["label_en"]),
            "required": data["required"],
            "identity_level": data["identity_level"],
            "statement": text_value(data["statement_ja"], data["statement_en"]),
        }
        if data["shows"]:
            role["shows"] = list(data["shows"])
        if data["key"] in conditions:
            role["condition"] = conditions[data["key"]]
        roles.append(role)
    return roles or None
