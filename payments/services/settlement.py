"""Settlement: telling the subject's owner app that its payment settled (through
the registered handler), and the sweep of settlements never told."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.utils import timezone

from accounts.mail import notification_email_send
from core.errors import NotFound
from payments.models import SETTLED_STATUSES, Payment, PaymentStatus
from payments.registry import subject_handler

logger = logging.getLogger(__name__)

S = PaymentStatus
# The normal path (a task right after the commit) gets this long before the sweep steps in.
SETTLEMENT_GRACE = timedelta(minutes=2)


def payment_settlement_dispatch(*, payment_id: int) -> bool:
    """Tell the subject's owner app that its payment settled, and record that it
    was handled. Safe to repeat: the handler does nothing when the subject has
    already moved on. Returns whether the handler moved something."""
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None or payment.status not in SETTLED_STATUSES | {S.REFUNDED}:
        return False
    try:
        handler = subject_handler(payment.subject_kind)
    except NotFound:
        logger.error("no settlement handler for %s", payment.subject_kind)
        return False
    moved = bool(handler.settled(payment.subject_id, payment.pk))
    Payment.objects.filter(pk=payment.pk, settlement_done_at__isnull=True).update(
        settlement_done_at=timezone.now()
    )
    return moved


def payment_settlement_run(*, payment_id: int, notification_id: int | None = None) -> bool:
    """The settlement task: the subject moves on (and its receipt is issued), then the
    payer's "payment received" notification is e-mailed (queued with the settlement
    rather than as a task of its own: one broker message per payment). Safe to run
    again: the handler does nothing a second time, and a notification is e-mailed
    once. Returns whether the handler moved something."""
    moved = payment_settlement_dispatch(payment_id=payment_id)
    if notification_id is not None:
        notification_email_send(notification_id=notification_id)
    return moved


def payments_settlement_sweep(*, now: datetime | None = None) -> int:
    """Settlements whose task never ran or failed for good (a broker outage, a
    crashed worker): dispatch them again. Returns how many were dispatched."""
    now = now or timezone.now()
    waiting = Payment.objects.filter(
        status__in=SETTLED_STATUSES | {S.REFUNDED},
        settlement_done_at__isnull=True,
        closed_at__lt=now - SETTLEMENT_GRACE,
    ).values_list("pk", flat=True)
    dispatched = 0
    for payment_id in list(waiting):
        try:
            payment_settlement_dispatch(payment_id=payment_id)
        except Exception:
            # One subject failing must not stop the others; it is tried again next round.
            logger.exception("settlement of payment %s failed", payment_id)
            continue
        dispatched += 1
    return dispatched
