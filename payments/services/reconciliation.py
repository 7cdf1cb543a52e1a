"""The daily reconciliation: each provider's transactions compared with ours;
what a missed webhook left behind is repaired, every other difference listed."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q, Sum
from django.utils import timezone

from audit.services import audit_record
from payments.models import (
    OPEN_STATUSES,
    SETTLED_STATUSES,
    UNPAID_FINAL_STATUSES,
    IssueKind,
    Payment,
    PaymentStatus,
    ReconciliationIssue,
    ReconciliationRun,
    RefundStatus,
)
from payments.providers import PaymentProvider, ProviderUnavailable, enabled_providers
from payments.services.refunds import refund_complete
from payments.services.settlement import payment_settlement_dispatch
from payments.services.status import apply_status_by_id, record_issue

logger = logging.getLogger(__name__)

S = PaymentStatus
# A refund the provider never confirmed is given up (and its amount released)
# by the reconciliation only after this long.
REFUND_CONFIRMATION_GRACE = timedelta(hours=1)


@dataclass
class _RunState:
    run: ReconciliationRun
    seen: set
    now: datetime
    repaired: int = 0
    checked: int = 0


def _issue(state: _RunState, **kwargs: Any) -> None:
    issue = record_issue(run=state.run, **kwargs)
    if kwargs.get("repaired"):
        state.repaired += 1
    else:
        state.seen.add(issue.pk)


def _reconcile_one(state: _RunState, provider: PaymentProvider, tx: Any, payment: Payment) -> None:
    facts = {
        "status": payment.status,
        "amount": payment.amount,
        "refunded_amount": payment.refunded_amount,
    }
    theirs = {"status": tx.status, "amount": tx.amount, "refunded_amount": tx.refunded_amount}
    common = {"provider": provider.name, "reference": tx.reference, "payment": payment}
    if tx.amount != payment.amount:
        _issue(state, kind=IssueKind.AMOUNT_MISMATCH, ours=facts, theirs=theirs, **common)
        return
    behind = payment.status in OPEN_STATUSES or (
        payment.status in UNPAID_FINAL_STATUSES and tx.status == S.SUCCEEDED
    )
    if behind and tx.status != S.PENDING and tx.status != payment.status:
        _locked, changed = apply_status_by_id(
            payment.pk,
            status=tx.status,
            amount=tx.amount,
            source="reconciliation",
            occurred_at=tx.updated_at,
        )
        if changed:
            _issue(
                state,
                kind=IssueKind.MISSED_WEBHOOK,
                ours=facts,
                theirs=theirs,
                repaired=True,
                **common,
            )
            payment.refresh_from_db()
    elif payment.status in SETTLED_STATUSES | {S.REFUNDED} and tx.status != S.SUCCEEDED:
        _issue(state, kind=IssueKind.STATUS_MISMATCH, ours=facts, theirs=theirs, **common)
        return
    # Refunds: complete those the provider has, give up those it never got.
    for refund in payment.refunds.filter(status=RefundStatus.REQUESTED):
        if refund.public_id in tx.refunds:
            refund_complete(refund_id=refund.pk, status=RefundStatus.SUCCEEDED)
            state.repaired += 1
        elif refund.created_at < state.now - REFUND_CONFIRMATION_GRACE:
            refund_complete(
                refund_id=refund.pk,
                status=RefundStatus.FAILED,
                failure_reason="unknown_to_provider",
            )
            state.repaired += 1
    refunded = (
        payment.refunds.filter(status=RefundStatus.SUCCEEDED).aggregate(total=Sum("amount"))[
            "total"
        ]
        or 0
    )
    if refunded != tx.refunded_amount:
        _issue(
            state,
            kind=IssueKind.REFUND_MISMATCH,
            ours={**facts, "refunded": refunded},
            theirs=theirs,
            **common,
        )


def reconciliation_run(
    *, now: datetime | None = None, days: int | None = None
) -> ReconciliationRun:
    """Compare each provider's transactions of the last days with ours: repair what
    a missed webhook left behind (status, refunds, and the subject's settlement),
    and list every other difference for the auditors. An open difference that a
    later run no longer finds is closed."""
    now = now or timezone.now()
    since = now - timedelta(days=days or settings.PAYMENTS_RECONCILIATION_DAYS)
    run = ReconciliationRun.objects.create(started_at=now, window_start=since, window_end=now)
    state = _RunState(run=run, seen=set(), now=now)
    listed: list[str] = []
    for provider in enabled_providers():
        try:
            transactions = provider.list_transactions(since=since, until=now)
        except ProviderUnavailable:
            logger.error("reconciliation: %s did not list its transactions", provider.name)
            continue
        listed.append(provider.name)
        theirs = {tx.reference: tx for tx in transactions}
        ours = {
            payment.provider_reference: payment
            for payment in Payment.objects.filter(provider=provider.name)
            .exclude(provider_reference="")
            .filter(Q(updated_at__gte=since) | Q(provider_reference__in=list(theirs)))
        }
        for reference, tx in theirs.items():
            state.checked += 1
            payment = ours.get(reference)
            if payment is None:
                _issue(
                    state,
                    kind=IssueKind.UNKNOWN_TRANSACTION,
                    provider=provider.name,
                    reference=reference,
                    theirs={
                        "status": tx.status,
                        "amount": tx.amount,
                        "merchant_order": tx.merchant_order,
                    },
                )
                continue
            _reconcile_one(state, provider, tx, payment)
        for reference, payment in ours.items():
            if reference not in theirs and payment.status in SETTLED_STATUSES | {S.REFUNDED}:
                _issue(
                    state,
                    kind=IssueKind.MISSING_AT_PROVIDER,
                    provider=provider.name,
                    reference=reference,
                    payment=payment,
                    ours={"status": payment.status, "amount": payment.amount},
                )
    # Settlements the subject's app never confirmed (a lost task): handlers are idempotent.
    for payment_id in Payment.objects.filter(
        status__in=SETTLED_STATUSES, settlement_done_at__isnull=True
    ).values_list("pk", flat=True):
        if payment_settlement_dispatch(payment_id=payment_id):
            state.repaired += 1
    # Paid twice: open until one of the payments is refunded.
    for issue in ReconciliationIssue.objects.filter(
        kind=IssueKind.DUPLICATE_PAYMENT, resolved_at__isnull=True
    ).select_related("payment"):
        if issue.payment is not None and issue.payment.status == S.REFUNDED:
            continue
        others = Payment.objects.filter(
            public_id__in=issue.ours.get("other_payments", []), status__in=SETTLED_STATUSES
        )
        if issue.payment is not None and issue.payment.is_settled and others.exists():
            state.seen.add(issue.pk)
    ReconciliationIssue.objects.filter(resolved_at__isnull=True).filter(
        Q(provider__in=listed) | Q(kind=IssueKind.DUPLICATE_PAYMENT)
    ).exclude(pk__in=state.seen).update(resolved_at=now)
    run.finished_at = timezone.now()
    run.checked = state.checked
    run.repaired = state.repaired
    run.mismatches = ReconciliationIssue.objects.filter(resolved_at__isnull=True).count()
    run.save()
    audit_record(
        action="payments.reconciled",
        target=run,
        data={
            "checked": run.checked,
            "repaired": run.repaired,
            "open_issues": run.mismatches,
            "providers": listed,
        },
    )
    return run
