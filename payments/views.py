"""The payment pages: a resident pays an application's fee and follows the payment,
staff refund, auditors read the reconciliation. Each POST calls one service; the
API calls the same ones."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import Action, actor_may
from core.errors import DomainError, NotFound
from payments import selectors
from payments.models import IssueKind, Payment, PaymentStatus
from payments.providers.sandbox import sandbox_enabled
from payments.registry import PaymentSubject, resolve_subject
from payments.services.follow import payment_cancel, payment_refresh
from payments.services.refunds import refund_request
from payments.services.start import payment_start
from payments.templatetags.payment_tags import payment_numbers

KIND = "application"


def _own(request: HttpRequest, public_id: str) -> Payment:
    try:
        return selectors.own_payment(request.user, public_id)
    except NotFound as error:
        raise Http404 from error


def _subject(payment: Payment) -> PaymentSubject | None:
    try:
        return resolve_subject(payment.subject_kind, payment.subject_id)
    except NotFound:
        return None


def _pay_page(payment: Payment) -> str:
    if payment.subject_kind == KIND:
        return reverse("payments:application", args=[payment.subject_id])
    return reverse("payments:detail", args=[payment.public_id])


def _continue(payment: Payment) -> HttpResponse:
    """To the provider's payment page while it can still be used; otherwise to the
    payment's own page (payment numbers, status)."""
    if payment.status == PaymentStatus.PENDING and payment.redirect_url and not payment.is_deferred:
        return redirect(payment.redirect_url)
    return redirect("payments:detail", public_id=payment.public_id)


# --- The resident -----------------------------------------------------------------------


@login_required
def application_view(request: HttpRequest, application_id: int) -> HttpResponse:
    """Pay an application's fee: the amount due, the methods its fee allows, and the
    payments made so far. Another resident's application does not exist here."""
    subject = resolve_subject(KIND, application_id)
    if subject is None or subject.owner_id != request.user.pk:
        raise Http404
    errors: dict[str, list[str]] = {}
    chosen = request.POST.get("method", "") if request.method == "POST" else ""
    if request.method == "POST":
        if not chosen:
            errors["method"] = [_("Choose how you want to pay.")]
        else:
            try:
                payment, _created = payment_start(
                    actor=request.user,
                    subject_kind=KIND,
                    subject_id=application_id,
                    method=chosen,
                    idempotency_key=request.POST.get("idempotency_key", ""),
                )
                return _continue(payment)
            except NotFound as error:
                raise Http404 from error
            except DomainError as failure:
                current = selectors.open_payment(kind=KIND, subject_id=application_id)
                if failure.code == "payment_in_progress" and current and current.method == chosen:
                    return _continue(current)
                if isinstance(failure.details, dict) and failure.details.get("method"):
                    errors["method"] = [str(problem) for problem in failure.details["method"]]
                else:
                    messages.error(request, failure.message)
                    return redirect("payments:application", application_id=application_id)
        subject = resolve_subject(KIND, application_id) or subject
    payments = list(selectors.subject_payments(kind=KIND, subject_id=application_id))
    choices = selectors.method_choices(subject)
    return render(
        request,
        "payments/application.html",
        {
            "subject": subject,
            "choices": choices,
            "chosen": chosen,
            "errors": errors,
            "error_links": [
                {"anchor": f"method-{choices[0]['value']}" if choices else "", "text": text}
                for text in errors.get("method", [])
            ],
            "idempotency_key": uuid.uuid4().hex,
            "payments": payments,
            "open": next((item for item in payments if item.is_open), None),
            "settled": next((item for item in payments if item.is_settled), None),
        },
        status=400 if errors else 200,
    )


@login_required
def detail_view(request: HttpRequest, public_id: str) -> HttpResponse:
    """Where a payment stands. While it is open the provider is asked (at most every
    few seconds), so a late webhook does not leave the resident guessing."""
    payment = _own(request, public_id)
    if payment.is_open:
        payment = payment_refresh(payment=payment)
    subject = _subject(payment)
    sandbox_link = ""
    if sandbox_enabled() and payment.is_open and payment.provider_reference:
        name = "payments_sandbox:deferred" if payment.is_deferred else "payments_sandbox:checkout"
        sandbox_link = reverse(name, args=[payment.provider_reference])
    return render(
        request,
        "payments/detail.html",
        {
            "payment": payment,
            "subject": subject,
            "numbers": payment_numbers(payment),
            "refunds": payment.refunds.all(),
            "pay_page": _pay_page(payment),
            "sandbox_link": sandbox_link,
        },
    )


@login_required
def return_view(request: HttpRequest, public_id: str) -> HttpResponse:
    """Where the provider sends the payer back. Whatever the address says, only the
    provider's own answer (a webhook, or the status query made here) marks a payment
    as paid."""
    payment = _own(request, public_id)
    payment = payment_refresh(payment=payment)
    if payment.is_settled:
        messages.success(request, _("Your payment was received. Thank you."))
    elif payment.status == PaymentStatus.FAILED:
        messages.error(request, _("The payment did not go through. No money was taken."))
    elif payment.is_open:
        messages.info(
            request,
            _(
                "We are waiting for the payment service to confirm your payment. "
                "This page shows the result as soon as it arrives."
            ),
        )
    return redirect("payments:detail", public_id=payment.public_id)


@login_required
@require_POST
def refresh_view(request: HttpRequest, public_id: str) -> HttpResponse:
    payment = payment_refresh(payment=_own(request, public_id))
    if payment.is_open:
        messages.info(request, _("No result from the payment service yet."))
    return redirect("payments:detail", public_id=payment.public_id)


@login_required
@require_POST
def cancel_view(request: HttpRequest, public_id: str) -> HttpResponse:
    payment = _own(request, public_id)
    try:
        payment = payment_cancel(actor=request.user, payment=payment)
    except DomainError as failure:
        messages.error(request, failure.message)
        return redirect("payments:detail", public_id=payment.public_id)
    if payment.is_settled:
        messages.success(request, _("This payment had already been received, so it was kept."))
        return redirect("payments:detail", public_id=payment.public_id)
    messages.success(request, _("The payment was canceled. You can choose another way to pay."))
    return redirect(_pay_page(payment))


# --- Staff: refunds -----------------------------------------------------------------------


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@login_required
def refund_view(request: HttpRequest, public_id: str) -> HttpResponse:
    """Refund all or part of a paid fee, with a reason (staff with the refund
    permission in the organization paid to)."""
    try:
        payment = selectors.staff_payment(request.user, public_id)
    except NotFound as error:
        raise Http404 from error
    if not actor_may(request.user, Action.REFUND_PAYMENTS, payment.organization):
        raise DjangoPermissionDenied
    subject = _subject(payment)
    back = _safe_next(request, (subject.staff_url if subject else "") or reverse("home"))
    errors: dict[str, list[str]] = {}
    posted: dict[str, Any] = {}
    if request.method == "POST":
        posted = {
            "amount": request.POST.get("amount", ""),
            "reason": request.POST.get("reason", ""),
        }
        try:
            refund = refund_request(
                actor=request.user,
                payment=payment,
                amount=posted["amount"],
                reason=posted["reason"],
            )
        except NotFound as error:
            raise Http404 from error
        except DomainError as failure:
            if isinstance(failure.details, dict) and failure.code == "validation_failed":
                errors = {
                    key: [str(item) for item in value] for key, value in failure.details.items()
                }
            else:
                errors = {"amount": [str(failure.message)]}
        else:
            if refund.status == "succeeded":
                messages.success(
                    request,
                    _("%(amount)s yen was refunded. The resident has been notified.")
                    % {"amount": f"{refund.amount:,}"},
                )
            elif refund.status == "failed":
                messages.error(request, _("The payment service refused the refund."))
            else:
                messages.info(
                    request,
                    _("The refund was requested; the payment service has not confirmed it yet."),
                )
            return redirect(back)
        payment.refresh_from_db()
    labels = {"amount": _("Amount to refund (yen)"), "reason": _("Reason")}
    return render(
        request,
        "payments/refund.html",
        {
            "payment": payment,
            "subject": subject,
            "back": back,
            "errors": errors,
            "posted": posted,
            "error_links": [
                {"anchor": f"refund-{key}", "text": f"{labels.get(key, key)}: {text}"}
                for key, problems in errors.items()
                for text in problems
            ],
        },
        status=400 if errors else 200,
    )


# --- Auditors -------------------------------------------------------------------------------


@login_required
def reconciliation_view(request: HttpRequest) -> HttpResponse:
    """The reconciliation report: the latest runs, the open differences, and the
    recently closed or repaired ones."""
    if not selectors.may_see_reconciliation(request.user):
        raise Http404
    issues = selectors.reconciliation_issues_for(request.user)
    return render(
        request,
        "payments/reconciliation.html",
        {
            "runs": selectors.reconciliation_runs_for(request.user)[:10],
            "open_issues": issues.filter(resolved_at__isnull=True),
            "closed_issues": issues.filter(resolved_at__isnull=False).order_by("-resolved_at")[:50],
            "missed_kind": IssueKind.MISSED_WEBHOOK,
        },
    )
