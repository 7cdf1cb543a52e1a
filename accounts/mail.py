"""The e-mails accounts sends: verification links and notifications.

A notification is e-mailed once, and never under a row lock: it is claimed in a
short transaction of its own (`email_claimed_at`, one UPDATE, committed), the mail
is sent, then `emailed_at` is recorded. Two workers sending the same notification
at once: only one claims it. A send that fails releases the claim, so the task's
retry or the sweep sends it; a claim older than CLAIM_TIMEOUT (a worker that
crashed between claiming and recording) is taken over. Call these outside a
transaction (tasks do), so that the claim commits before the mail goes out.
The same claim (`email_once`, `unsent_ids`) sends other apps' outboxes of the same
shape: applications' e-mails to co-signers, who may have no account.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Notification, User
from accounts.services import verification_link_parts

# Longer than a send can take (the task's hard time limit is 180 s), shorter than
# the sweep's delay, so the sweep takes over the claims of crashed workers.
CLAIM_TIMEOUT = timedelta(minutes=5)
# The task queued on commit gets this long before the sweep sends it instead.
SWEEP_AFTER = timedelta(minutes=5)
SWEEP_BATCH = 500


def verification_email_send(*, user_id: int) -> None:
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


def _claimable(now: datetime) -> Q:
    return Q(emailed_at__isnull=True) & (
        Q(email_claimed_at__isnull=True) | Q(email_claimed_at__lt=now - CLAIM_TIMEOUT)
    )


def email_once(rows: QuerySet, pk: int, compose: Callable[[Any], tuple[str, str, str]]) -> bool:
    """Send the e-mail of one row of `rows` (a model with `email_claimed_at` and
    `emailed_at`: a notification, another app's outbox) once, by the claim the
    module describes. `compose` gives (subject, body, address) for the claimed row.
    Returns whether this call sent it; a failing send releases the claim and raises."""
    claimed_at = timezone.now()
    # One UPDATE, committed at once: a concurrent claim waits for it, then finds
    # the row claimed. No lock outlives this statement.
    claimed = rows.filter(_claimable(claimed_at)).filter(pk=pk).update(email_claimed_at=claimed_at)
    if not claimed:
        return False
    try:
        subject, body, address = compose(rows.get(pk=pk))
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address])
    except BaseException:
        # Not sent: claimable again at once, by the retry or the sweep.
        rows.filter(pk=pk, email_claimed_at=claimed_at, emailed_at__isnull=True).update(
            email_claimed_at=None
        )
        raise
    rows.filter(pk=pk, emailed_at__isnull=True).update(emailed_at=timezone.now())
    return True


def unsent_ids(rows: QuerySet, *, now: datetime | None = None, created: str = "created_at"):
    """Ids of the rows whose e-mail should have gone by now and has not (never
    queued, lost, or claimed by a worker that crashed), oldest first."""
    now = now or timezone.now()
    return list(
        rows.filter(_claimable(now), **{f"{created}__lt": now - SWEEP_AFTER})
        .order_by("id")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )


def _notification_message(notification: Notification) -> tuple[str, str, str]:
    body = notification.body
    if notification.link:
        body += "\n\n" + settings.SITE_URL + notification.link
    return notification.subject, body, notification.user.email


def notification_email_send(*, notification_id: int) -> bool:
    """E-mail a notification once (a redelivered task finds it sent or claimed).
    Returns whether this call sent it. A failing send releases the claim and
    raises, for the task to retry."""
    return email_once(
        Notification.objects.select_related("user"), notification_id, _notification_message
    )


def notifications_sweep_unsent(*, now: datetime | None = None) -> int:
    """E-mail the notifications whose task was never queued (the broker was down),
    was lost, or whose worker crashed after claiming; each is still sent once.
    Returns how many were due."""
    pending = unsent_ids(Notification.objects.all(), now=now)
    for notification_id in pending:
        notification_email_send(notification_id=notification_id)
    return len(pending)
