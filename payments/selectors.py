"""Reads of payments, filtered by who asks.

- A payer sees their own payments; anyone else's is "not found".
- Staff see the payments made to organizations where they review applications or
  may refund, and nothing else.
- Auditors (digitization.audit) see the reconciliation report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from accounts.permissions import Action, actor_may, organizations_where
from core.errors import NotFound
from payments.models import (
    METHOD_NAMES,
    OPEN_STATUSES,
    SETTLED_STATUSES,
    Payment,
    PaymentMethod,
    PaymentStatus,
    ReconciliationIssue,
    ReconciliationRun,
)
from payments.providers import provider_for_method
from payments.registry import PaymentSubject, resolve_subject


def _authenticated(actor: Any) -> bool:
    return bool(getattr(actor, "is_authenticated", False))


def staff_may_see(actor: Any, payment: Payment) -> bool:
    """Staff who review applications for, or may refund fees of, the organization
    paid to."""
    organization = payment.organization
    if organization is None:
        return False  # actor_may without a target would mean "anywhere"
    return actor_may(actor, Action.REVIEW_APPLICATIONS, organization) or actor_may(
        actor, Action.REFUND_PAYMENTS, organization
    )


def payments_visible_to(actor: Any) -> QuerySet[Payment]:
    """The actor's own payments and those made to organizations they work for."""
    if not _authenticated(actor):
        return Payment.objects.none()
    condition = Q(payer=actor)
    for action in (Action.REVIEW_APPLICATIONS, Action.REFUND_PAYMENTS):
        organizations = organizations_where(actor, action)
        if organizations.exists():
            condition |= Q(organization__in=organizations)
    return Payment.objects.filter(condition).select_related("payer", "organization")


def own_payment(actor: Any, public_id: str) -> Payment:
    payment = (
        Payment.objects.filter(public_id=str(public_id)[:32], payer_id=getattr(actor, "pk", None))
        .select_related("payer")
        .first()
        if _authenticated(actor)
        else None
    )
    if payment is None:
        raise NotFound()
    return payment


def visible_payment(actor: Any, public_id: str) -> Payment:
    payment = payments_visible_to(actor).filter(public_id=str(public_id)[:32]).first()
    if payment is None:
        raise NotFound()
    return payment


def staff_payment(actor: Any, public_id: str) -> Payment:
    payment = (
        Payment.objects.filter(public_id=str(public_id)[:32])
        .select_related("payer", "organization")
        .first()
    )
    if payment is None or not staff_may_see(actor, payment):
        raise NotFound()
    return payment


def subject_payments(*, kind: str, subject_id: int) -> QuerySet[Payment]:
    return Payment.objects.filter(subject_kind=kind, subject_id=subject_id).prefetch_related(
        "refunds"
    )


def subject_settled(*, kind: str, subject_id: int, amount: int) -> bool:
    """Does a settled payment (paid, and not wholly refunded) cover `amount`?
    A payment partly refunded still counts: the fee was paid and the office chose
    to give some back. A wholly refunded one does not."""
    return Payment.objects.filter(
        subject_kind=kind,
        subject_id=subject_id,
        status__in=SETTLED_STATUSES,
        amount__gte=amount,
    ).exists()


def open_payment(*, kind: str, subject_id: int) -> Payment | None:
    return Payment.objects.filter(
        subject_kind=kind, subject_id=subject_id, status__in=OPEN_STATUSES
    ).first()


def method_choices(subject: PaymentSubject) -> list[dict[str, Any]]:
    """The methods of the subject's fee that a provider takes now, with labels."""
    labels = dict(PaymentMethod.choices)
    choices = []
    for method in subject.methods:
        if method in labels and provider_for_method(method) is not None:
            choices.append({"value": method, "label": labels[method]})
    return choices


# --- Panels for other apps' pages (templatetags/payment_tags.py) ---------------------------


def resident_panel(*, actor: Any, kind: str, subject_id: int) -> dict[str, Any]:
    subject = resolve_subject(kind, subject_id)
    if subject is None or subject.owner_id != getattr(actor, "pk", None):
        return {"visible": False}
    payments = list(subject_payments(kind=kind, subject_id=subject_id))
    return {
        "visible": bool(payments) or subject.payable,
        "subject": subject,
        "payments": payments,
        "open": next((item for item in payments if item.is_open), None),
        "settled": next((item for item in payments if item.is_settled), None),
    }


def staff_panel(*, actor: Any, kind: str, subject_id: int) -> dict[str, Any]:
    payments = [
        payment
        for payment in subject_payments(kind=kind, subject_id=subject_id).select_related(
            "organization"
        )
        if staff_may_see(actor, payment)
    ]
    return {
        "payments": payments,
        "may_refund": [
            payment.pk
            for payment in payments
            if payment.refundable_amount > 0
            and actor_may(actor, Action.REFUND_PAYMENTS, payment.organization)
        ],
    }


# --- Auditors -----------------------------------------------------------------------------------


def may_see_reconciliation(actor: Any) -> bool:
    return actor_may(actor, Action.AUDIT_DIGITIZATION)


def reconciliation_issues_for(actor: Any) -> QuerySet[ReconciliationIssue]:
    """Issues of payments to organizations the auditor audits, and transactions
    matched to no payment at all (they belong to no organization)."""
    if not may_see_reconciliation(actor):
        raise NotFound()
    organizations = organizations_where(actor, Action.AUDIT_DIGITIZATION)
    return ReconciliationIssue.objects.filter(
        Q(payment__isnull=True) | Q(payment__organization__in=organizations)
    ).select_related("payment", "last_run")


def reconciliation_runs_for(actor: Any) -> QuerySet[ReconciliationRun]:
    if not may_see_reconciliation(actor):
        raise NotFound()
    return ReconciliationRun.objects.all()


# --- The receipt ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiptFacts:
    """What a payment receipt (領収書) states about the payment."""

    public_id: str
    subject_kind: str
    subject_id: int
    amount: int
    method: str
    method_ja: str
    method_en: str
    provider: str
    provider_reference: str
    paid_at: datetime | None
    settled: bool
    description: str


def receipt_facts(*, payment_id: int) -> ReceiptFacts | None:
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None:
        return None
    names = METHOD_NAMES.get(payment.method, (payment.method, payment.method))
    return ReceiptFacts(
        public_id=payment.public_id,
        subject_kind=payment.subject_kind,
        subject_id=payment.subject_id,
        amount=payment.amount,
        method=payment.method,
        method_ja=names[0],
        method_en=names[1],
        provider=payment.provider,
        provider_reference=payment.provider_reference,
        paid_at=payment.succeeded_at,
        # A refunded fee was paid all the same.
        settled=payment.status in SETTLED_STATUSES | {PaymentStatus.REFUNDED},
        description=payment.description,
    )
