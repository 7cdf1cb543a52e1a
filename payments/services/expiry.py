"""Deadlines: open payments past their deadline are closed, unless the provider
says the money arrived."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from core.errors import NotFound
from payments.models import OPEN_STATUSES, Payment, PaymentStatus
from payments.providers import ProviderUnavailable, provider_named
from payments.services.status import apply_status_by_id

S = PaymentStatus
STUCK_AFTER = timedelta(hours=1)


def payments_expire_overdue(*, now: datetime | None = None) -> dict[str, int]:
    """Close open payments past their deadline (payment numbers, abandoned payment
    pages). The provider is asked first: money that did arrive is recorded as paid."""
    now = now or timezone.now()
    counts = {"expired": 0, "paid": 0}
    overdue = Payment.objects.filter(
        Q(status__in=OPEN_STATUSES, expires_at__lt=now)
        # Never handed to the provider (the process stopped in between): no one can pay it.
        | Q(status=S.CREATED, created_at__lt=now - STUCK_AFTER)
    )
    for payment in list(overdue):
        status, amount = S.EXPIRED, payment.amount
        try:
            provider = provider_named(payment.provider)
            answer = provider.query_status(payment) if payment.provider_reference else None
            if answer is not None and answer.status == S.PENDING:
                answer = provider.cancel(payment)
        except (NotFound, ProviderUnavailable):
            answer = None
        if answer is not None and answer.status == S.SUCCEEDED:
            status, amount = S.SUCCEEDED, answer.amount
        elif answer is not None and answer.status == S.PENDING:
            continue  # the provider is still deciding; next round
        _locked, changed = apply_status_by_id(
            payment.pk, status=status, amount=amount, source="deadline"
        )
        if changed:
            counts["paid" if status == S.SUCCEEDED else "expired"] += 1
    return counts
