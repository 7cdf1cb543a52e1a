"""The resident's identity verification pages. Thin: the client talks to the
provider, the service records the result, and every failure becomes a translated
message on the identity page."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.identity import client, selectors, services
from accounts.identity.sandbox import issuer as sandbox_issuer
from core.errors import DomainError


def _safe_next(request: HttpRequest, candidate: str) -> str:
    """`candidate` if it stays on this site, else ""."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def provider_label(issuer: str) -> str:
    if issuer == sandbox_issuer():
        return _("Test identity provider (sandbox)")
    if issuer == settings.OIDC_OP_ISSUER and settings.IDENTITY_PROVIDER_NAME:
        return settings.IDENTITY_PROVIDER_NAME
    return issuer


@login_required
def identity_view(request: HttpRequest) -> HttpResponse:
    verification = selectors.verified_identity(request.user)
    return render(
        request,
        "accounts/identity/identity.html",
        {
            "verification": verification,
            "provider_name": provider_label(verification.issuer) if verification else "",
            "available": client.is_available(),
            "next": _safe_next(request, request.GET.get("next", "")),
        },
    )


@login_required
@require_POST
def identity_start_view(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request, request.POST.get("next", ""))
    try:
        target = client.authorization_url(request, next_url=next_url)
    except DomainError as failure:
        messages.error(request, failure.message)
        query = f"?{urlencode({'next': next_url})}" if next_url else ""
        return redirect(f"{reverse('accounts:identity')}{query}")
    return HttpResponseRedirect(target)


@never_cache
@login_required
def identity_callback_view(request: HttpRequest) -> HttpResponse:
    """Where the provider sends the resident back, with a code or an error."""
    try:
        identity, next_url = client.authorization_response(request)
        services.identity_verification_record(
            user=request.user,
            issuer=identity.issuer,
            subject=identity.subject,
            full_name=identity.full_name,
            birth_date=identity.birth_date,
            address=identity.address,
            name_kana=identity.name_kana,
            sex=identity.sex,
        )
    except DomainError as failure:
        messages.error(request, failure.message)
        return redirect("accounts:identity")
    messages.success(request, _("Your identity has been verified."))
    return HttpResponseRedirect(_safe_next(request, next_url) or reverse("accounts:identity"))
