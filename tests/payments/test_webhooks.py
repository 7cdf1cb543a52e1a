"""Provider webhooks: HMAC-SHA256 over timestamp and body, checked in constant time;
forged, tampered, stale and malformed deliveries refused; each event applied once;
events out of order never move a payment backwards; and 200 concurrent deliveries
of one event make exactly one state change and one receipt (real threads, real
PostgreSQL)."""

from __future__ import annotations

import json
import os
import time

import pytest
from django.core import mail
from django.db import connection
from django.test import Client

from applications.models import Application, ApplicationStatus, DocumentKind, IssuedDocument
from audit.models import AuditEvent
from payments.models import (
    IssueKind,
    Payment,
    PaymentStatus,
    ReconciliationIssue,
    WebhookEvent,
)
from payments.providers.signature import WebhookRejected, signature, verify
from payments.services.start import payment_start
from tests.payments.conftest import (
    deliver,
    file_application,
    race,
    signed_headers,
    webhook_body,
)

pytestmark = pytest.mark.django_db

P = PaymentStatus
PROVIDER = "sandbox"


def _open_card_payment(office, django_capture_on_commit_callbacks=None) -> Payment:
    application = file_application(office.permit)
    payment, _created = payment_start(
        actor=application.applicant,
        subject_kind="application",
        subject_id=application.pk,
        method="card",
        idempotency_key="k1",
    )
    return payment


def _error(response) -> str:
    return response.json()["error"]["code"]


# --- Signatures -----------------------------------------------------------------------------


def test_a_correctly_signed_webhook_is_applied(office, django_capture_on_commit_callbacks):
    payment = _open_card_payment(office)
    body = webhook_body(payment)

    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(Client(), PROVIDER, body, signed_headers(PROVIDER, body))

    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == "applied"
    payment.refresh_from_db()
    assert payment.status == P.SUCCEEDED
    assert Application.objects.get(pk=payment.subject_id).status == ApplicationStatus.SUBMITTED


def test_a_forged_signature_is_refused_and_changes_nothing(office):
    payment = _open_card_payment(office)
    body = webhook_body(payment)

    forged = signed_headers(PROVIDER, body, secret=b"not-the-secret")
    response = deliver(Client(), PROVIDER, body, forged)

    assert response.status_code == 400
    assert _error(response) == "signature_invalid"
    payment.refresh_from_db()
    assert payment.status == P.PENDING
    assert not WebhookEvent.objects.exists()


def test_a_tampered_body_is_refused(office):
    payment = _open_card_payment(office)
    signed_for = webhook_body(payment, amount=1000, event_id="evt_a")
    headers = signed_headers(PROVIDER, signed_for)
    tampered = signed_for.replace(b'"amount": 1000', b'"amount": 1')

    response = deliver(Client(), PROVIDER, tampered, headers)

    assert tampered != signed_for
    assert _error(response) == "signature_invalid"


def test_a_missing_or_malformed_signature_header_is_refused(office):
    payment = _open_card_payment(office)
    body = webhook_body(payment)
    assert _error(deliver(Client(), PROVIDER, body, {})) == "signature_missing"
    bad = {"Sandbox-Signature": "v1=abc"}
    assert _error(deliver(Client(), PROVIDER, body, bad)) == "signature_missing"
    assert _error(deliver(Client(), PROVIDER, body, {"Sandbox-Signature": "t=1,v1="})) == (
        "signature_missing"
    )


def test_a_stale_delivery_is_refused_even_with_a_valid_signature(office):
    payment = _open_card_payment(office)
    body = webhook_body(payment)

    old = signed_headers(PROVIDER, body, timestamp=int(time.time()) - 301)
    future = signed_headers(PROVIDER, body, timestamp=int(time.time()) + 301)

    assert _error(deliver(Client(), PROVIDER, body, old)) == "timestamp_stale"
    assert _error(deliver(Client(), PROVIDER, body, future)) == "timestamp_stale"
    fresh = signed_headers(PROVIDER, body, timestamp=int(time.time()) - 290)
    assert deliver(Client(), PROVIDER, body, fresh).status_code == 200


def test_a_signed_but_malformed_payload_is_refused(office):
    body = b'{"id": "evt_1", "type": "payment.succeeded"}'
    response = deliver(Client(), PROVIDER, body, signed_headers(PROVIDER, body))
    assert response.status_code == 400
    assert _error(response) == "payload_invalid"


def test_signatures_allow_a_secret_rollover_and_compare_every_candidate():
    body, now = b"{}", 1_700_000_000
    good = signature(b"new", now, body)
    header = f"t={now},v1={signature(b'old', now, body)},v1={good}"
    assert verify(b"new", header, body, tolerance=300, now=now) == now
    with pytest.raises(WebhookRejected) as refused:
        verify(b"other", header, body, tolerance=300, now=now)
    assert refused.value.code == "signature_invalid"


def test_an_unknown_provider_is_not_found(office):
    body = b"{}"
    assert deliver(Client(), "nope", body, {}).status_code == 404


def test_webhooks_of_a_disabled_sandbox_are_not_found(office, settings):
    payment = _open_card_payment(office)
    body = webhook_body(payment)
    settings.PAYMENTS_SANDBOX_ENABLED = False
    assert deliver(Client(), PROVIDER, body, signed_headers(PROVIDER, body)).status_code == 404


# --- Once, and in order -----------------------------------------------------------------------


def test_a_redelivered_event_is_a_duplicate_and_changes_nothing(
    office, django_capture_on_commit_callbacks
):
    payment = _open_card_payment(office)
    body = webhook_body(payment, event_id="evt_once")
    client = Client()

    with django_capture_on_commit_callbacks(execute=True):
        first = deliver(client, PROVIDER, body, signed_headers(PROVIDER, body))
        second = deliver(client, PROVIDER, body, signed_headers(PROVIDER, body))

    assert first.json()["outcome"] == "applied"
    assert second.json()["outcome"] == "duplicate"
    assert WebhookEvent.objects.count() == 1
    assert AuditEvent.objects.filter(action="payments.succeeded").count() == 1


def test_a_delivery_takes_a_fixed_number_of_queries_and_publishes_one_task(
    office, django_assert_num_queries, django_capture_on_commit_callbacks
):
    payment = _open_card_payment(office)
    body = webhook_body(payment, event_id="evt_counted")
    client = Client()

    # In a savepoint here (2), a transaction in production: the payment locked with
    # its payer (1), the event recorded once (1), the payment moved on (1), the
    # payer's notification (1), whether another payment had settled the subject
    # already (1), the audit chain head locked (1), the audit row written and the
    # head advanced (1).
    with (
        django_assert_num_queries(9),
        django_capture_on_commit_callbacks() as callbacks,
    ):
        applied = deliver(client, PROVIDER, body, signed_headers(PROVIDER, body))
    # A redelivery: the payment locked, the event found recorded, nothing else.
    with (
        django_assert_num_queries(4),
        django_capture_on_commit_callbacks() as duplicate_callbacks,
    ):
        duplicate = deliver(client, PROVIDER, body, signed_headers(PROVIDER, body))

    assert applied.json()["outcome"] == "applied"
    assert duplicate.json()["outcome"] == "duplicate"
    # One message to the broker: the settlement task, which also e-mails the payer.
    assert len(callbacks) == 1
    assert duplicate_callbacks == []


def test_the_settlement_task_emails_the_payer_once(office, django_capture_on_commit_callbacks):
    from accounts.models import Notification
    from payments.tasks import dispatch_settlement

    payment = _open_card_payment(office)
    body = webhook_body(payment)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        deliver(Client(), PROVIDER, body, signed_headers(PROVIDER, body))
    # Run again, as a redelivered task would be.
    notification = Notification.objects.get(
        user=payment.payer, subject__startswith="Payment received"
    )
    dispatch_settlement(payment.pk, notification.pk)

    received = [message for message in mail.outbox if message.subject == notification.subject]
    assert [message.to for message in received] == [[payment.payer.email]]
    notification.refresh_from_db()
    assert notification.emailed_at is not None
    assert Application.objects.get(pk=payment.subject_id).status == ApplicationStatus.SUBMITTED


def test_a_late_failed_event_never_overrides_succeeded(office, django_capture_on_commit_callbacks):
    payment = _open_card_payment(office)
    succeeded = webhook_body(payment, event_id="evt_2", created=int(time.time()))
    failed = webhook_body(
        payment,
        event_type="payment.failed",
        status="failed",
        event_id="evt_1",
        created=int(time.time()) - 30,
    )
    pending = webhook_body(
        payment,
        event_type="payment.pending",
        status="pending",
        event_id="evt_0",
        created=int(time.time()) - 60,
    )
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, PROVIDER, succeeded, signed_headers(PROVIDER, succeeded))
        late_failed = deliver(client, PROVIDER, failed, signed_headers(PROVIDER, failed))
        late_pending = deliver(client, PROVIDER, pending, signed_headers(PROVIDER, pending))

    assert late_failed.json()["outcome"] == "ignored"
    assert late_pending.json()["outcome"] == "ignored"
    payment.refresh_from_db()
    assert payment.status == P.SUCCEEDED
    assert payment.failure_reason == ""
    assert list(WebhookEvent.objects.values_list("outcome", flat=True)) == [
        "applied",
        "ignored",
        "ignored",
    ]


def test_money_arriving_after_a_failure_is_recorded(office, django_capture_on_commit_callbacks):
    payment = _open_card_payment(office)
    failed = webhook_body(payment, event_type="payment.failed", status="failed")
    succeeded = webhook_body(payment)
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, PROVIDER, failed, signed_headers(PROVIDER, failed))
        payment.refresh_from_db()
        assert payment.status == P.FAILED
        deliver(client, PROVIDER, succeeded, signed_headers(PROVIDER, succeeded))
    payment.refresh_from_db()
    assert payment.status == P.SUCCEEDED


def test_a_confirmation_of_the_wrong_amount_does_not_mark_the_fee_paid(office):
    payment = _open_card_payment(office)
    body = webhook_body(payment, amount=1)

    response = deliver(Client(), PROVIDER, body, signed_headers(PROVIDER, body))

    assert response.json()["outcome"] == "ignored"
    payment.refresh_from_db()
    assert payment.status == P.PENDING
    issue = ReconciliationIssue.objects.get()
    assert issue.kind == IssueKind.AMOUNT_MISMATCH
    assert issue.theirs["amount"] == 1 and issue.ours["amount"] == 1000


def test_an_event_for_an_unknown_payment_is_acknowledged_and_recorded(office):
    body = json.dumps(
        {
            "id": "evt_x",
            "type": "payment.succeeded",
            "created": int(time.time()),
            "data": {"reference": "sbx_unknown", "amount": 5, "status": "succeeded"},
        }
    ).encode()
    response = deliver(Client(), PROVIDER, body, signed_headers(PROVIDER, body))
    assert response.status_code == 200
    assert response.json()["outcome"] == "unknown_payment"
    assert WebhookEvent.objects.get().outcome == "unknown_payment"


# --- 200 deliveries at once -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_200_concurrent_deliveries_of_one_event_make_one_change_and_one_receipt(office):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's row locks and unique index waits")
    payment = _open_card_payment(office)
    application_id = payment.subject_id
    body = webhook_body(payment, event_id="evt_storm")
    headers = signed_headers(PROVIDER, body)

    def one_delivery():
        return deliver(Client(), PROVIDER, body, headers)

    # 200 threads deliver at once; at most this many hold a database connection at a
    # time (the server's 100 connections are shared with every process here).
    limit = int(os.environ.get("PAYMENTS_RACE_DB_CONNECTIONS", "40"))
    results = race([one_delivery] * 200, limit=limit)

    errors = [result for result in results if isinstance(result, Exception)]
    assert not errors, errors[:3]
    assert {result.status_code for result in results} == {200}
    outcomes = [result.json()["outcome"] for result in results]
    assert outcomes.count("applied") == 1
    assert outcomes.count("duplicate") == 199
    payment.refresh_from_db()
    assert payment.status == P.SUCCEEDED
    assert WebhookEvent.objects.count() == 1
    assert AuditEvent.objects.filter(action="payments.succeeded").count() == 1
    application = Application.objects.get(pk=application_id)
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.events.filter(kind="payment_settled").count() == 1
    assert (
        IssuedDocument.objects.filter(
            application_id=application_id, kind=DocumentKind.PAYMENT_RECEIPT
        ).count()
        == 1
    )


@pytest.mark.django_db(transaction=True)
def test_different_events_confirming_one_payment_at_once_settle_it_once(office):
    """The webhook, the return page's status query and a redelivery with a new id
    racing each other: one transition, one settlement."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's row locks")
    from payments.services.follow import payment_refresh

    payment = _open_card_payment(office)
    from tests.payments.conftest import sandbox_tx

    tx = sandbox_tx(payment)
    tx.status = "succeeded"
    tx.save()
    bodies = [webhook_body(payment, event_id=f"evt_{index}") for index in range(10)]
    workers = [
        (lambda body=body: deliver(Client(), PROVIDER, body, signed_headers(PROVIDER, body)))
        for body in bodies
    ] + [lambda: payment_refresh(payment=Payment.objects.get(pk=payment.pk), force=True)] * 5

    results = race(workers, limit=15)

    assert not [result for result in results if isinstance(result, Exception)], results
    assert AuditEvent.objects.filter(action="payments.succeeded").count() == 1
    assert (
        Application.objects.get(pk=payment.subject_id).events.filter(kind="payment_settled").count()
        == 1
    )
    assert IssuedDocument.objects.filter(kind=DocumentKind.PAYMENT_RECEIPT).count() == 1
