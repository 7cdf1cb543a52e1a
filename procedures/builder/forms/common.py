"""What the builder's forms share: the key rule, texts in Japanese and English,
and the small forms of the editor's buttons (move, confirm)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from procedures.builder import edits
from procedures.form_engine.text import localized_text

KEY_HELP = _(
    "Lower-case letters, digits and underscores, starting with a letter, e.g. business_name."
)
key_validator = RegexValidator(
    edits.KEY_PATTERN.pattern,
    _("Use lower-case letters, digits and underscores, starting with a letter (at most 63)."),
)


def text_value(ja: str, en: str) -> dict[str, str] | None:
    """A format text object, or None when both are empty."""
    ja, en = (ja or "").strip(), (en or "").strip()
    if not ja and not en:
        return None
    return {"ja": ja, "en": en} if en else {"ja": ja}


def text_parts(value: Any) -> tuple[str, str]:
    if isinstance(value, dict):
        return value.get("ja", ""), value.get("en", "")
    return "", ""


def field_label(spec: dict) -> str:
    return f"{localized_text(spec.get('label')) or spec.get('key')} ({spec.get('key')})"


def require_japanese(form: forms.Form, ja: str, en: str) -> None:
    if form.cleaned_data.get(en) and not form.cleaned_data.get(ja):
        form.add_error(ja, _("Enter the Japanese text too: it is shown when no English is given."))


class MoveForm(forms.Form):
    direction = forms.ChoiceField(choices=[(edits.UP, _("Up")), (edits.DOWN, _("Down"))])


class ConfirmForm(forms.Form):
    """A POST that only needs its CSRF token: the page before it asked."""
