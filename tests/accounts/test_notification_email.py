"""A notification is e-mailed once, after the commit that records its claim, and
never under a row lock (accounts.mail)."""

from __future__ import annotations

import smtplib
import threading
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from accounts.mail import CLAIM_TIMEOUT, notification_email_send, notifications_sweep_unsent
from accounts.models import Notification
from accounts.services import notify
from accounts.tasks import send_notification_email
from tests.factories import UserFactory

BACKENDS = "tests.accounts.test_notification_email"


class SlowBackend(BaseEmailBackend):
    """Takes its time, so that a second sender arrives while the first one sends."""

    sent: list[str] = []

    def send_messages(self, messages):
        time.sleep(0.3)
        SlowBackend.sent += [message.subject for message in messages]
        return len(messages)


class FailingBackend(BaseEmailBackend):
    """An SMTP server that refuses."""

    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("the server went away")


class LockProbingBackend(BaseEmailBackend):
    """While the mail is being sent, another transaction (another connection, so
    another thread) tries to lock the notification's row without waiting."""

    notification_id: int | None = None
    probe: list[str] = []

    def send_messages(self, messages):
        def lock_it():
            try:
                with transaction.atomic():
                    Notification.objects.select_for_update(nowait=True).get(
                        pk=LockProbingBackend.notification_id
                    )
                LockProbingBackend.probe.append("locked by another transaction")
            except DatabaseError as error:
                LockProbingBackend.probe.append(f"row was locked: {error}")
            finally:
                connection.close()

        thread = threading.Thread(target=lock_it)
        thread.start()
        thread.join()
        return len(messages)


def _notification(**fields) -> Notification:
    notification = notify(
        user=UserFactory(), subject="Payment received", body="Thank you.", email_task=False
    )
    if fields:
        Notification.objects.filter(pk=notification.pk).update(**fields)
        notification.refresh_from_db()
    return notification


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sends_send_one_mail(settings):
    settings.EMAIL_BACKEND = f"{BACKENDS}.SlowBackend"
    SlowBackend.sent = []
    notification = _notification()
    barrier = threading.Barrier(2)
    results, errors = [], []

    def send():
        try:
            barrier.wait()
            results.append(notification_email_send(notification_id=notification.pk))
        except Exception as error:  # surfaced by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(results) == [False, True]
    assert SlowBackend.sent == ["Payment received"]
    notification.refresh_from_db()
    assert notification.emailed_at is not None
    # Once sent, a redelivered task sends nothing.
    assert notification_email_send(notification_id=notification.pk) is False
    assert SlowBackend.sent == ["Payment received"]


@pytest.mark.django_db(transaction=True)
def test_no_row_lock_is_held_while_the_mail_is_sent(settings):
    settings.EMAIL_BACKEND = f"{BACKENDS}.LockProbingBackend"
    notification = _notification()
    LockProbingBackend.notification_id = notification.pk
    LockProbingBackend.probe = []

    assert notification_email_send(notification_id=notification.pk) is True

    assert LockProbingBackend.probe == ["locked by another transaction"]


@pytest.mark.django_db(transaction=True)
def test_a_failing_smtp_server_leaves_it_unsent_and_the_retry_sends_it(settings):
    settings.EMAIL_BACKEND = f"{BACKENDS}.FailingBackend"
    notification = _notification()

    with pytest.raises(smtplib.SMTPException):
        notification_email_send(notification_id=notification.pk)

    notification.refresh_from_db()
    assert notification.emailed_at is None
    assert notification.email_claimed_at is None  # released: claimable at once
    # The task's autoretry catches it (SMTPException is an OSError).
    assert issubclass(smtplib.SMTPServerDisconnected, OSError)

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    send_notification_email(notification.pk)  # the retry
    assert [message.subject for message in mail.outbox] == ["Payment received"]
    notification.refresh_from_db()
    assert notification.emailed_at is not None


@pytest.mark.django_db
def test_the_sweep_sends_what_a_failed_send_left_unsent(settings):
    settings.EMAIL_BACKEND = f"{BACKENDS}.FailingBackend"
    notification = _notification(created_at=timezone.now() - timedelta(minutes=10))
    with pytest.raises(smtplib.SMTPException):
        notification_email_send(notification_id=notification.pk)

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    assert notifications_sweep_unsent() == 1
    assert notifications_sweep_unsent() == 0
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_the_sweep_takes_over_a_crashed_workers_claim_but_not_a_fresh_one():
    now = timezone.now()
    crashed = _notification(
        created_at=now - timedelta(minutes=20),
        email_claimed_at=now - CLAIM_TIMEOUT - timedelta(seconds=1),
    )
    sending = _notification(
        created_at=now - timedelta(minutes=20), email_claimed_at=now - timedelta(seconds=30)
    )
    mail.outbox = []

    assert notifications_sweep_unsent(now=now) == 1

    assert [message.to for message in mail.outbox] == [[crashed.user.email]]
    crashed.refresh_from_db()
    sending.refresh_from_db()
    assert crashed.emailed_at is not None
    assert sending.emailed_at is None
    # Nor does a task redelivered meanwhile send the one being sent.
    assert notification_email_send(notification_id=sending.pk) is False
