"""Beat tasks of the digitization app: thin, idempotent, safe to run twice."""

from __future__ import annotations

from datetime import date

from celery import shared_task

from digitization import services


@shared_task(acks_late=True, autoretry_for=(Exception,), max_retries=3, retry_backoff=60)
def take_snapshots(day: str | None = None) -> list[int]:
    """Daily just before midnight (Asia/Tokyo): the daily snapshot, and on the
    last day of a month (31 March: of the fiscal year) the month-end (and
    fiscal-year-end) ones. Taking one again the same day replaces it."""
    snapshots = services.snapshot_take(day=date.fromisoformat(day) if day else None)
    return [snapshot.pk for snapshot in snapshots]


@shared_task(acks_late=True)
def check_audit_chain() -> bool:
    """Verify the audit chain and keep the result for the auditors' log viewer."""
    return services.audit_chain_check(actor=None).ok
