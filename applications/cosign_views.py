"""The co-signer's pages (docs/cosignature.md). The e-mailed link /cosign/<token>/
keeps its token in the session and sends the browser on to the request's page, so
the token does not stay in the address bar, the history or a Referer. That page
shows what the token's holder may see now (applications.cosigning.cosigner_access):
sign in or create an account, the wrong account (403), verify your identity, the
application and the statement with the buttons to sign or decline, or the answer
already given. Each POST calls one service."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from applications import cosigning
from applications.cosigners import role_of, shown_rows
from applications.models import Cosignature
from applications.sensitive_answers import reveal
from core.errors import DomainError, NotFound

SESSION_KEY = "cosign_tokens"
# A browser keeps the tokens of its last few links, not an unbounded list.
SESSION_TOKENS = 10


def _remember(request: HttpRequest, public_id: str, token: str) -> None:
    tokens = dict(request.session.get(SESSION_KEY) or {})
    tokens.pop(public_id, None)
    tokens[public_id] = token
    request.session[SESSION_KEY] = dict(list(tokens.items())[-SESSION_TOKENS:])


def _token(request: HttpRequest, request_id: str) -> str:
    tokens = request.session.get(SESSION_KEY) or {}
    token = tokens.get(request_id) if isinstance(tokens, dict) else None
    return token if isinstance(token, str) else ""


def _found(request: HttpRequest, request_id: str) -> tuple[Cosignature, str]:
    """The request this browser holds the token of; anything else is a 404."""
    token = _token(request, request_id)
    try:
        return cosigning.request_by_token(request_id, token), token
    except NotFound as error:
        raise Http404 from error


@never_cache
@require_safe
def link_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        found = cosigning.request_by_link(token)
    except NotFound:
        return render(request, "applications/cosign/invalid.html", status=404)
    _remember(request, found.public_id, token)
    return redirect("cosign:request", request_id=found.public_id)


def _context(request: HttpRequest, found: Cosignature, **extra) -> dict:
    access = cosigning.cosigner_access(request.user, found)
    application = found.application
    role = role_of(application.version, found.role)
    here = reverse("cosign:request", args=[found.public_id])
    context = {
        "access": access,
        "cosignature": found,
        "application": application,
        "role_label": role.label_text if role else found.role,
        "statement": role.statement_text if role else "",
        "needs_identity": access.state == "identity_required",
        "login_url": f"{reverse('accounts:login')}?{urlencode({'next': here})}",
        "identity_url": f"{reverse('accounts:identity')}?{urlencode({'next': here})}",
        **extra,
    }
    if access.state in ("open", "answered", "identity_required"):
        revision = application.revisions.filter(number=found.revision).first()
        data = reveal(application.version.form, revision.data if revision else {})
        context["rows"] = shown_rows(application, role, data)
    return context


@never_cache
@require_safe
def request_view(request: HttpRequest, request_id: str) -> HttpResponse:
    found, _token_value = _found(request, request_id)
    context = _context(request, found)
    status = 403 if context["access"].state == "wrong_account" else 200
    return render(request, "applications/cosign/request.html", context, status=status)


def _refused(request: HttpRequest, found: Cosignature, failure: DomainError) -> HttpResponse:
    """The page again with what was refused; the request as it stands now (another
    tab may have answered it meanwhile)."""
    found.refresh_from_db()
    details = failure.details or {}
    context = _context(
        request,
        found,
        declaration_error=(details.get("declaration") or [""])[0],
        reason_value=request.POST.get("reason", "")[:2000],
    )
    if not details:
        messages.error(request, failure.message)
    return render(request, "applications/cosign/request.html", context, status=failure.http_status)


@never_cache
@require_POST
def sign_view(request: HttpRequest, request_id: str) -> HttpResponse:
    found, token = _found(request, request_id)
    if not request.user.is_authenticated:
        return redirect("cosign:request", request_id=request_id)
    try:
        cosigning.cosignature_sign(
            actor=request.user,
            public_id=request_id,
            token=token,
            declaration=request.POST.get("declaration") == "on",
        )
    except NotFound as error:
        raise Http404 from error
    except DomainError as failure:
        return _refused(request, found, failure)
    messages.success(request, _("You co-signed the application. Thank you."))
    return redirect("cosign:request", request_id=request_id)


@never_cache
@require_POST
def decline_view(request: HttpRequest, request_id: str) -> HttpResponse:
    found, token = _found(request, request_id)
    if not request.user.is_authenticated:
        return redirect("cosign:request", request_id=request_id)
    try:
        cosigning.cosignature_decline(
            actor=request.user,
            public_id=request_id,
            token=token,
            reason=request.POST.get("reason", ""),
        )
    except NotFound as error:
        raise Http404 from error
    except DomainError as failure:
        return _refused(request, found, failure)
    messages.success(request, _("You declined to co-sign. The applicant has been told."))
    return redirect("cosign:request", request_id=request_id)
