"""Moving a payment's status forward, for every job of the payments services: a
status only moves forward (models.STATUS_RANK), paid means the provider confirmed
the very amount asked for, and each change is audited. A success notifies the
payer, queues the settlement and flags a second payment of the same subject;
an expiry of payment numbers notifies the payer. Also the reconciliation issues
these changes (and the reconciliation) record, one open issue per difference."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts.services import notify
from audit.services import audit_record
from core.errors import Conflict
from core.tasks import enqueue
from payments.models import (
    SETTLED_STATUSES,
    STATUS_RANK,
    UNPAID_FINAL_STATUSES,
    IssueKind,
    Payment,
    PaymentStatus,
    ReconciliationIssue,
    ReconciliationRun,
)

logger = logging.getLogger(__name__)

S = PaymentStatus


def yen(amount: int) -> str:
    return f"{amount:,}"


def payment_link(payment: Payment) -> str:
    return reverse("payments:detail", args=[payment.public_id])


def record_issue(
    *,
    kind: str,
    provider: str,
    reference: str,
    payment: Payment | None = None,
    run: ReconciliationRun | None = None,
    ours: dict | None = None,
    theirs: dict | None = None,
    repaired: bool = False,
) -> ReconciliationIssue:
    """One open issue per (provider, reference, kind): found again, it is updated."""
    now = timezone.now()
    values = {"ours": ours or {}, "theirs": theirs or {}, "payment": payment, "last_run": run}
    if repaired:
        return ReconciliationIssue.objects.create(
            run=run,
            provider=provider,
            provider_reference=reference,
            kind=kind,
            repaired=True,
            detected_at=now,
            resolved_at=now,
            **values,
        )
    for _attempt in range(2):
        existing = ReconciliationIssue.objects.filter(
            provider=provider, provider_reference=reference, kind=kind, resolved_at__isnull=True
        ).first()
        if existing is not None:
            for name, value in values.items():
                setattr(existing, name, value)
            existing.save()
            return existing
        try:
            with transaction.atomic():
                return ReconciliationIssue.objects.create(
                    run=run,
                    provider=provider,
                    provider_reference=reference,
                    kind=kind,
                    detected_at=now,
                    **values,
                )
        except IntegrityError:
            continue  # recorded at the same moment by someone else: update theirs
    raise Conflict(code="issue_race")


# What `apply_status` changes on the payment row.
APPLIED_FIELDS = [
    "status",
    "provider_status",
    "provider_updated_at",
    "succeeded_at",
    "closed_at",
    "failure_reason",
    "updated_at",
]


def apply_status(
    locked: Payment,
    *,
    status: str,
    amount: int,
    source: str,
    occurred_at: datetime | None = None,
    failure_reason: str = "",
    actor: Any = None,
) -> bool:
    """Move a locked payment to the status a provider reported, if that is a step
    forward. Returns whether anything changed. Paid means the provider confirmed
    the very amount we asked for."""
    if status not in (S.PENDING, S.SUCCEEDED, S.FAILED, S.EXPIRED, S.CANCELED):
        return False
    if STATUS_RANK[status] <= STATUS_RANK[locked.status]:
        return False
    if status == S.SUCCEEDED and amount != locked.amount:
        record_issue(
            kind=IssueKind.AMOUNT_MISMATCH,
            provider=locked.provider,
            reference=locked.provider_reference,
            payment=locked,
            ours={"amount": locked.amount},
            theirs={"amount": amount, "status": status},
        )
        logger.error(
            "payment %s: provider confirmed %s yen, expected %s",
            locked.public_id,
            amount,
            locked.amount,
        )
        return False
    before = locked.status
    now = timezone.now()
    locked.status = status
    locked.provider_status = status
    locked.provider_updated_at = occurred_at or now
    if status == S.SUCCEEDED:
        locked.succeeded_at = occurred_at or now
        locked.closed_at = now
        locked.failure_reason = ""
    elif status in UNPAID_FINAL_STATUSES:
        locked.closed_at = now
        locked.failure_reason = (failure_reason or "")[:200]
    locked.save(update_fields=APPLIED_FIELDS)
    if status == S.SUCCEEDED:
        _on_succeeded(locked)
    elif status == S.EXPIRED and locked.is_deferred:
        notify(
            user=locked.payer,
            subject=gettext_lazy("Your payment numbers have expired"),
            body=gettext_lazy(
                "The deadline to pay %(amount)s yen for %(description)s has passed, and its "
                "payment numbers no longer work. To pay, choose a payment method again."
            ),
            params={"amount": yen(locked.amount), "description": locked.description},
            link=payment_link(locked),
        )
    # Last: the audit chain's head stays locked until the commit, and every
    # audited change of the platform waits for it.
    audit_record(
        actor=actor,
        action=f"payments.{status}",
        target=locked,
        data={
            "from": before,
            "to": status,
            "source": source,
            "subject": f"{locked.subject_kind}:{locked.subject_id}",
            "amount": locked.amount,
        },
    )
    return True


def _on_succeeded(locked: Payment) -> None:
    # The settlement task e-mails it: one message to the broker per payment.
    notification = notify(
        email_task=False,
        user=locked.payer,
        subject=gettext_lazy("Payment received: %(amount)s yen"),
        body=gettext_lazy(
            "We received your payment of %(amount)s yen for %(description)s. Your receipt "
            "(領収書) will be among the documents of what you paid for."
        ),
        params={"amount": yen(locked.amount), "description": locked.description},
        link=payment_link(locked),
    )
    others = Payment.objects.filter(
        subject_kind=locked.subject_kind,
        subject_id=locked.subject_id,
        status__in=SETTLED_STATUSES,
    ).exclude(pk=locked.pk)
    if others.exists():
        # Paid twice (an old payment succeeded after a new one): staff must refund one.
        record_issue(
            kind=IssueKind.DUPLICATE_PAYMENT,
            provider=locked.provider,
            reference=locked.provider_reference,
            payment=locked,
            ours={"other_payments": [other.public_id for other in others]},
        )
    # If the broker cannot take it, the settlement sweep finds the payment later (and
    # the sweep of unsent notifications the e-mail).
    # By name: the task module imports the services, never the reverse.
    enqueue("payments.tasks.dispatch_settlement", locked.pk, notification.pk)


def apply_status_by_id(payment_id: int, **kwargs: Any) -> tuple[Payment, bool]:
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment_id)
        return locked, apply_status(locked, **kwargs)
