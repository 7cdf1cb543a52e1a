from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Notification, User
from accounts.services import verification_link_parts


@shared_task(acks_late=True, autoretry_for=(OSError,), max_retries=5, retry_backoff=True)
def send_verification_email(user_id: int) -> None:
    """Mail the verification link. Safe to run twice: a second mail carries a link
    that works just as well, and none is sent once the address is verified."""
    user = User.objects.filter(pk=user_id, email_verified_at__isnull=True).first()
    if user is None:
        return
    uidb64, token = verification_link_parts(user)
    link = settings.SITE_URL + reverse("accounts:verify_email", args=[uidb64, token])
    with translation.override(user.preferred_language):
        context = {"user": user, "link": link}
        subject = render_to_string("accounts/email/verify_subject.txt", context).strip()
        body = render_to_string("accounts/email/verify_body.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])


@shared_task(acks_late=True, autoretry_for=(OSError,), max_retries=5, retry_backoff=True)
def send_notification_email(notification_id: int) -> None:
    """E-mail a notification once (a redelivered task finds it already sent)."""
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import Notification

    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update()
            .select_related("user")
            .filter(pk=notification_id, emailed_at__isnull=True)
            .first()
        )
        if notification is None:
            return
        body = notification.body
        if notification.link:
            body += "\n\n" + settings.SITE_URL + notification.link
        send_mail(
            notification.subject, body, settings.DEFAULT_FROM_EMAIL, [notification.user.email]
        )
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["emailed_at"])


@shared_task(acks_late=True)
def sweep_unsent_notifications() -> int:
    """Every few minutes (beat): e-mail the notifications whose task was never
    queued (the broker was down) or was lost; each is still sent once."""
    cutoff = timezone.now() - timedelta(minutes=5)
    pending = list(
        Notification.objects.filter(emailed_at__isnull=True, created_at__lt=cutoff)
        .order_by("id")
        .values_list("pk", flat=True)[:500]
    )
    for notification_id in pending:
        send_notification_email(notification_id)
    return len(pending)
