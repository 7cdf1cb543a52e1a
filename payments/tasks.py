"""Thin, idempotent tasks: each takes ids (or the delivery it carries) and calls one
service."""

from __future__ import annotations

from celery import shared_task

from payments.providers.sandbox import sandbox_results_release
from payments.services.expiry import payments_expire_overdue
from payments.services.reconciliation import reconciliation_run
from payments.services.settlement import payment_settlement_run, payments_settlement_sweep
from payments.services.webhooks import sandbox_webhook_deliver


@shared_task(acks_late=True, autoretry_for=(OSError,), max_retries=5, retry_backoff=True)
def dispatch_settlement(payment_id: int, notification_id: int | None = None) -> bool:
    """A payment settled: its subject moves on, then the payer is e-mailed. Safe to
    run again (see the service)."""
    return payment_settlement_run(payment_id=payment_id, notification_id=notification_id)


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
    return sandbox_results_release()


@shared_task(acks_late=True, autoretry_for=(OSError,), max_retries=8, retry_backoff=True)
def deliver_sandbox_webhook(provider: str, body: str, signature: str) -> str:
    """The sandbox gateway delivering a signed webhook (over HTTP, or in-process)."""
    return sandbox_webhook_deliver(provider=provider, body=body, signature=signature)
