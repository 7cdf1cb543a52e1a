"""Thin tasks: each calls one service of accounts.mail, which says why it is safe to
run twice."""

from celery import shared_task

from accounts import mail


@shared_task(acks_late=True, autoretry_for=(OSError,), max_retries=5, retry_backoff=True)
def send_verification_email(user_id: int) -> None:
    """Mail the verification link (none once the address is verified)."""
    mail.verification_email_send(user_id=user_id)


@shared_task(acks_late=True, autoretry_for=(OSError,), max_retries=5, retry_backoff=True)
def send_notification_email(notification_id: int) -> None:
    """E-mail a notification once; a failed send is retried (or swept)."""
    mail.notification_email_send(notification_id=notification_id)


@shared_task(acks_late=True)
def sweep_unsent_notifications() -> int:
    """Every few minutes (beat): e-mail the notifications whose task was never
    queued (the broker was down), was lost, or crashed; each is still sent once."""
    return mail.notifications_sweep_unsent()
