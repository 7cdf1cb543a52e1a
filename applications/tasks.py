from celery import shared_task

from applications.documents import receipt_issue


@shared_task(acks_late=True, autoretry_for=(OSError,), max_retries=5, retry_backoff=True)
def issue_receipt(application_id: int) -> None:
    """Issue the receipt of a submitted application. Safe to run twice: the
    second run finds the receipt already issued and returns it."""
    receipt_issue(application_id=application_id)
