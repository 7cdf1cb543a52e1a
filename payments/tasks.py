"""Thin, idempotent tasks: each loads by id and calls one service."""

from __future__ import annotations

import logging
import urllib.request

from celery import shared_task
from django.conf import settings

from accounts.mail import notification_email_send
from payments.providers.sandbox import SIGNATURE_HEADER, release_delayed, sandbox_enabled
from payments.services.expiry import payments_expire_overdue
from payments.services.reconciliation import reconciliation_run
from payments.services.settlement import payment_settlement_dispatch, payments_settlement_sweep
from payments.services.webhooks import webhook_receive

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, autoretry_for=(OSError,), max_retries=5, retry_backoff=True)
def dispatch_settlement(payment_id: int, notification_id: int | None = None) -> bool:
    """A payment settled: its subject moves on (and its receipt is issued), then the
    payer's "payment received" notification is e-mailed (queued with this task
    rather than as a task of its own). Safe to run again: the handler does nothing
    a second time, and a notification is e-mailed once."""
    moved = payment_settlement_dispatch(payment_id=payment_id)
    if notification_id is not None:
        notification_email_send(notification_id=notification_id)
    return moved


@shared_task(acks_late=True)
def expire_overdue_payments() -> dict:
    """Beat, every five minutes: payment numbers and payment pages past their deadline."""
    return payments_expire_overdue()


@shared_task(acks_late=True)
def sweep_settlements() -> int:
    """Beat, every five minutes: settlements whose task was never queued or failed."""
    return payments_settlement_sweep()


@shared_task(acks_late=True)
def reconcile_payments() -> int:
    """Beat, daily: compare the providers' books with ours, repair, list mismatches."""
    return reconciliation_run().pk


@shared_task(acks_late=True)
def release_sandbox_results() -> int:
    """Beat, every minute: the sandbox gateway notifies its delayed results."""
    if not sandbox_enabled():
        return 0
    return release_delayed()


@shared_task(acks_late=True, autoretry_for=(OSError,), max_retries=8, retry_backoff=True)
def deliver_sandbox_webhook(provider: str, body: str, signature: str) -> str:
    """The sandbox gateway delivering a signed webhook: over HTTP when
    PAYMENTS_SANDBOX_WEBHOOK_URL is set (as a real gateway would), otherwise straight
    into the same service the webhook endpoint calls, signature check included."""
    if not sandbox_enabled():
        return "disabled"
    base = settings.PAYMENTS_SANDBOX_WEBHOOK_URL
    if base:
        request = urllib.request.Request(  # noqa: S310 (a configured http(s) URL)
            f"{base.rstrip('/')}/{provider}/",
            data=body.encode("utf-8"),
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return str(response.status)
    result = webhook_receive(
        provider_name=provider,
        headers={SIGNATURE_HEADER: signature},
        body=body.encode("utf-8"),
    )
    return result.outcome
