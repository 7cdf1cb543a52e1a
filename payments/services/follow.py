"""The payer following a payment: asking the provider where it stands (the
webhook may be late or lost), or canceling it to choose another method."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, NotFound
from payments.models import OPEN_STATUSES, Payment, PaymentStatus
from payments.providers import ProviderUnavailable, provider_named
from payments.services.status import apply_status_by_id

logger = logging.getLogger(__name__)

S = PaymentStatus


def payment_refresh(*, payment: Payment, force: bool = False) -> Payment:
    """Ask the provider where an open payment stands (the webhook may be late or
    lost) and apply its answer. At most once per PAYMENTS_QUERY_INTERVAL_SECONDS
    per payment unless forced, so reloading a page cannot flood the provider."""
    if payment.status not in OPEN_STATUSES or not payment.provider_reference:
        return payment
    now = timezone.now()
    interval = timedelta(seconds=settings.PAYMENTS_QUERY_INTERVAL_SECONDS)
    claimed = (
        Payment.objects.filter(pk=payment.pk)
        .filter(Q(last_queried_at__isnull=True) | Q(last_queried_at__lte=now - interval))
        .update(last_queried_at=now)
    )
    if not claimed and not force:
        return payment
    try:
        provider = provider_named(payment.provider)
        answer = provider.query_status(payment)
    except (NotFound, ProviderUnavailable):
        logger.warning("status query for payment %s failed", payment.public_id)
        return payment
    locked, _changed = apply_status_by_id(
        payment.pk,
        status=answer.status,
        amount=answer.amount,
        source="query",
        occurred_at=answer.occurred_at,
        failure_reason=answer.failure_reason,
    )
    return locked


def payment_cancel(*, actor: Any, payment: Payment) -> Payment:
    """The payer stops an unpaid payment (to choose another method). If the
    provider says it was paid after all, it is recorded as paid instead."""
    if payment.payer_id != getattr(actor, "pk", None):
        raise NotFound()
    if payment.status not in OPEN_STATUSES:
        return payment
    answer_status, amount = S.CANCELED, payment.amount
    if payment.provider_reference:
        try:
            answer = provider_named(payment.provider).cancel(payment)
        except NotFound:
            answer = None
        if answer is not None:
            answer_status, amount = answer.status, answer.amount
    if answer_status == S.PENDING:
        raise Conflict(
            _(
                "The payment service is still processing this payment, so it cannot be "
                "canceled now. Check again in a moment."
            ),
            code="payment_processing",
        )
    locked, _changed = apply_status_by_id(
        payment.pk, status=answer_status, amount=amount, source="payer", actor=actor
    )
    return locked
