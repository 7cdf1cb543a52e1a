import logging

from celery import shared_task

from applications.cosigning import (
    cosignature_deadlines_run,
    cosigner_email_send,
    cosigner_emails_sweep,
)
from applications.documents import decision_issue, documents_pending_issue, receipt_issue
from applications.purge import (
    drafts_expiry_run,
    individual_numbers_erase_due,
    retention_purge_run,
)
from applications.reminders import deadline_reminders_send
from core.errors import Conflict
from core.storage import STORAGE_ERRORS

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, autoretry_for=STORAGE_ERRORS, max_retries=5, retry_backoff=True)
def issue_receipt(application_id: int) -> None:
    """Issue the receipt of a submitted application. Safe to run twice: the
    second run finds the receipt already issued and returns it."""
    receipt_issue(application_id=application_id)


@shared_task(acks_late=True, autoretry_for=STORAGE_ERRORS, max_retries=5, retry_backoff=True)
def issue_decision(application_id: int) -> None:
    """Issue the decision document once a decision is taken. When it cannot be
    issued yet (a fee due on approval is unpaid), the payment's settlement runs
    this again; nothing to retry until then."""
    try:
        decision_issue(application_id=application_id)
    except Conflict as waiting:
        logger.info(
            "decision not issued yet",
            extra={"application": application_id, "reason": waiting.code},
        )


@shared_task(acks_late=True)
def send_deadline_reminders() -> dict:
    """Daily (beat): reminders for applications due soon, escalations for overdue ones;
    co-signers reminded, their requests expired, and filings whose co-signature was
    not obtained closed (applications.cosigning)."""
    return {**deadline_reminders_send(), **cosignature_deadlines_run().as_dict()}


@shared_task(acks_late=True, autoretry_for=(OSError,), max_retries=5, retry_backoff=True)
def send_cosigner_email(email_id: int) -> None:
    """E-mail a co-signer their request or its reminder, once; retried when the mail
    server is away (or swept)."""
    cosigner_email_send(email_id=email_id)


@shared_task(acks_late=True)
def sweep_unsent_cosigner_emails() -> int:
    """Every few minutes (beat): co-signers' e-mails whose task was never queued or
    was lost; each is still sent once."""
    return cosigner_emails_sweep()


@shared_task(acks_late=True)
def sweep_pending_documents() -> dict:
    """Every few minutes (beat): issue receipts and decisions whose task was never
    queued (the broker was down at that moment) or was lost."""
    return documents_pending_issue()


@shared_task(acks_late=True)
def purge_expired_cases() -> dict:
    """The nightly retention work (applications/purge.py): the Individual Numbers no
    longer needed are erased, unsent drafts reminded or deleted, then the cases
    past their period purged."""
    erased = individual_numbers_erase_due()
    drafts = drafts_expiry_run()
    summary = retention_purge_run()
    return {
        "numbers_erased": erased,
        "drafts_reminded": drafts.reminded,
        "drafts_deleted": drafts.deleted,
        "purged": summary.purged,
        "files": summary.files,
    }
