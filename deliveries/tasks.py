from celery import shared_task

from deliveries.services import delivery_attempt, due_deliveries_sweep


@shared_task(acks_late=True)
def deliver(delivery_id: int) -> str:
    """One attempt at a delivery. Safe to run twice: the lease and the due time
    make a duplicate a no-op ("skipped")."""
    return delivery_attempt(delivery_id=delivery_id)


@shared_task(acks_late=True)
def sweep_due_deliveries() -> int:
    """Every minute (beat): queue the retries that are due, and first attempts
    whose task never reached the broker."""
    return due_deliveries_sweep()
