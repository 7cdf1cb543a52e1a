"""Sign-up, login, second factor, language and profile pages. Thin: each POST
validates the form, calls one service and renders or redirects."""

from __future__ import annotations

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from knox.models import AuthToken

from accounts import services
from accounts.forms import (
    LanguageForm,
    LoginForm,
    OneTimeCodeForm,
    ResendVerificationForm,
    RevokeTokenForm,
    SignUpForm,
)
from accounts.identity.selectors import verified_identity
from accounts.permissions import actor_is_staff
from core.errors import DomainError


def _safe_next(request: HttpRequest, fallback: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """django-axes calls this when a login attempt is refused for too many failures.
    Our own views already answered with the lockout message, so keep their answer."""
    if original_response is not None:
        return original_response
    return render(
        request,
        "accounts/login.html",
        {"form": LoginForm(), "error": services.LockedOut().message},
        status=429,
    )


def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.method == "GET":
        # Not redirect(): it would look a `next` without a slash ("true") up as a view name.
        return HttpResponseRedirect(_safe_next(request, reverse(settings.LOGIN_REDIRECT_URL)))
    form = LoginForm(request.POST or None)
    error, status = None, 200
    if request.method == "POST" and form.is_valid():
        try:
            user = services.session_log_in(
                request=request,
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
            )
        except DomainError as failure:
            error, status = failure.message, failure.http_status
        else:
            target = _safe_next(request, reverse(settings.LOGIN_REDIRECT_URL))
            if actor_is_staff(user):
                query = urlencode({"next": target})
                return redirect(f"{reverse('accounts:two_factor')}?{query}")
            return HttpResponseRedirect(target)
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "accounts/login.html",
        {"form": form, "error": error, "next": _safe_next(request, "")},
        status=status,
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    services.session_log_out(request=request)
    messages.success(request, _("You have logged out."))
    return redirect(settings.LOGOUT_REDIRECT_URL)


def sign_up_view(request: HttpRequest) -> HttpResponse:
    form = SignUpForm(request.POST or None, initial={"preferred_language": request.LANGUAGE_CODE})
    if request.method == "POST" and form.is_valid():
        try:
            services.resident_sign_up(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                display_name=form.cleaned_data["display_name"],
                preferred_language=form.cleaned_data["preferred_language"],
            )
        except DomainError as failure:
            for field, problems in (failure.details or {}).items():
                for problem in problems:
                    form.add_error(field, problem)
            if not failure.details:
                form.add_error("email" if failure.code == "email_taken" else None, failure.message)
        else:
            return redirect("accounts:sign_up_done")
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/sign_up.html", {"form": form}, status=status)


def sign_up_done_view(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/sign_up_done.html")


def verify_email_view(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    try:
        services.user_verify_email(uidb64=uidb64, token=token)
    except DomainError as failure:
        return render(
            request,
            "accounts/verify_email.html",
            {"error": failure.message, "form": ResendVerificationForm()},
            status=400,
        )
    return render(request, "accounts/verify_email.html", {"verified": True})


def resend_verification_view(request: HttpRequest) -> HttpResponse:
    form = ResendVerificationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.verification_email_resend(email=form.cleaned_data["email"])
        return redirect("accounts:sign_up_done")
    return render(request, "accounts/resend_verification.html", {"form": form})


@login_required
def two_factor_view(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator (first time) or enter the current code."""
    user = request.user
    target = _safe_next(request, reverse(settings.LOGIN_REDIRECT_URL))
    if not actor_is_staff(user) or user.is_verified():
        return HttpResponseRedirect(target)
    enrolling = not services.user_has_confirmed_totp(user)
    form = OneTimeCodeForm(request.POST or None)
    error, status = None, 200
    if request.method == "POST" and form.is_valid():
        try:
            if enrolling:
                services.totp_enrolment_confirm(
                    request=request, user=user, token=form.cleaned_data["token"]
                )
            else:
                services.session_verify_otp(request=request, token=form.cleaned_data["token"])
        except DomainError as failure:
            error, status = failure.message, failure.http_status
        else:
            return HttpResponseRedirect(target)
    elif request.method == "POST":
        status = 400
    context = {"form": form, "error": error, "enrolling": enrolling, "next": target}
    if enrolling:
        device = services.totp_enrolment_device(user=user)
        context["qr_svg"] = segno.make(device.config_url, error="m").svg_inline(
            omitsize=True, title=_("QR code for your authenticator app")
        )
        context["secret"] = services.totp_secret_base32(device)
    return render(request, "accounts/two_factor.html", context, status=status)


@require_POST
def set_language_view(request: HttpRequest) -> HttpResponse:
    form = LanguageForm(request.POST)
    target = _safe_next(request, reverse("home"))
    if not form.is_valid():
        return HttpResponseRedirect(target)
    language = form.cleaned_data["language"]
    if request.user.is_authenticated:
        services.user_set_language(user=request.user, language=language)
    response = HttpResponseRedirect(target)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite="Lax",
        secure=getattr(settings, "LANGUAGE_COOKIE_SECURE", False),
    )
    return response


@login_required
def profile_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = RevokeTokenForm(request.POST)
        if form.is_valid():
            try:
                services.api_token_revoke(
                    actor=request.user, token_key=form.cleaned_data["token_key"]
                )
                messages.success(request, _("The API token was revoked."))
            except DomainError as failure:
                messages.error(request, failure.message)
        return redirect("accounts:profile")
    memberships = request.user.memberships.select_related("organization").order_by(
        "organization__path", "role"
    )
    tokens = AuthToken.objects.filter(user=request.user).order_by("-created")
    return render(
        request,
        "accounts/profile.html",
        {
            "memberships": memberships,
            "tokens": tokens,
            "identity": verified_identity(request.user),
            "language_form": LanguageForm(initial={"language": request.user.preferred_language}),
        },
    )


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.user_password_changed(user=form.user, how="reset")
        return response


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset_body.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form):
        # Links in the mail point at SITE_URL, not at whatever Host the request named.
        self.extra_email_context = {"site_url": settings.SITE_URL}
        return super().form_valid(form)


@login_required
def notifications_view(request: HttpRequest) -> HttpResponse:
    """The user's messages, newest first; POST marks one (or all) as read."""
    if request.method == "POST":
        raw = request.POST.get("notification", "")
        services.notification_mark_read(
            actor=request.user, notification_id=int(raw) if raw.isdigit() else None
        )
        return redirect("accounts:notifications")
    notifications = request.user.notifications.all()[:100]
    return render(request, "accounts/notifications.html", {"notifications": notifications})
