"""The sandbox gateway's own pages, standing in for a provider's site: the hosted
card / QR-code payment page, and a page that plays the bank or the store for
payment numbers. Mounted under PAYMENTS_SANDBOX_PREFIX only while
PAYMENTS_SANDBOX_ENABLED (config/urls.py), and every view answers 404 otherwise."""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from core.pdf import qr_svg_data_uri
from payments.models import PaymentMethod, SandboxStatus, SandboxTransaction
from payments.providers import sandbox


def sandbox_only(view):
    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not sandbox.sandbox_enabled():
            raise Http404()
        return view(request, *args, **kwargs)

    return guarded


def _transaction(reference: str, provider: str) -> SandboxTransaction:
    tx = SandboxTransaction.objects.filter(reference=reference, provider=provider).first()
    if tx is None:
        raise Http404()
    return tx


def _expired(tx: SandboxTransaction) -> bool:
    return (
        tx.status == SandboxStatus.OPEN and bool(tx.expires_at) and tx.expires_at < timezone.now()
    )


@never_cache
@sandbox_only
def checkout_view(request: HttpRequest, reference: str) -> HttpResponse:
    """The hosted payment page: the payer chooses the result."""
    tx = _transaction(reference, sandbox.SandboxProvider.name)
    if request.method == "POST" and tx.status == SandboxStatus.OPEN and not _expired(tx):
        choice = request.POST.get("choice", "")
        if choice in sandbox.CHOICES:
            tx = sandbox.checkout_decide(reference=tx.reference, choice=choice)
            return redirect(tx.return_url or "/")
    return render(
        request,
        "payments/sandbox_checkout.html",
        {
            "tx": tx,
            "expired": _expired(tx),
            "delay_seconds": settings.PAYMENTS_SANDBOX_DELAY_SECONDS,
            "is_qr": tx.method == PaymentMethod.QR_CODE,
            "qr_code": qr_svg_data_uri(
                request.build_absolute_uri(
                    reverse("payments_sandbox:checkout", args=[tx.reference])
                )
            )
            if tx.method == PaymentMethod.QR_CODE
            else "",
        },
    )


@never_cache
@sandbox_only
def deferred_view(request: HttpRequest, reference: str) -> HttpResponse:
    """Plays the ATM, online banking or the store: pay with the numbers, or let the
    deadline pass."""
    tx = _transaction(reference, sandbox.SandboxDeferredProvider.name)
    if request.method == "POST" and tx.status == SandboxStatus.OPEN:
        action = request.POST.get("action", "")
        if action == "pay":
            tx = sandbox.deferred_pay(reference=tx.reference)
            return redirect(tx.return_url or "/")
        if action == "expire":
            tx = sandbox.deferred_expire(reference=tx.reference)
            return redirect(tx.return_url or "/")
    return render(request, "payments/sandbox_deferred.html", {"tx": tx})
