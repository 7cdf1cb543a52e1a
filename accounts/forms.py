from django import forms
from django.contrib.auth.password_validation import (
    password_validators_help_text_html,
    validate_password,
)
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import Language, User


class LoginForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class SignUpForm(forms.Form):
    display_name = forms.CharField(
        label=_("Name"),
        max_length=150,
        help_text=_("How we address you in messages, e.g. 山田 花子."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label=_("E-mail address"),
        help_text=_("We send a link to this address to confirm it is yours."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        help_text=password_validators_help_text_html(),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_again = forms.CharField(
        label=_("Password (again)"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    preferred_language = forms.ChoiceField(
        label=_("Language for messages"), choices=Language.choices, initial=Language.JAPANESE
    )

    def clean(self):
        data = super().clean()
        if data.get("password"):
            # Show the password rules together with the other errors; the service
            # checks them again for callers that do not come through this form.
            candidate = User(email=data.get("email", ""), display_name=data.get("display_name", ""))
            try:
                validate_password(data["password"], user=candidate)
            except ValidationError as error:
                self.add_error("password", error)
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", _("The two passwords do not match."))
        return data


class ResendVerificationForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )


class OneTimeCodeForm(forms.Form):
    token = forms.CharField(
        label=_("One-time code"),
        min_length=6,
        max_length=8,
        help_text=_("The 6-digit code your authenticator app shows now."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*"}
        ),
    )


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices)
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class RevokeTokenForm(forms.Form):
    token_key = forms.CharField(max_length=25, widget=forms.HiddenInput)
