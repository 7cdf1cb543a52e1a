"""Refunds: full or partial, by staff with the refund permission in the organization
paid to, with a reason; never above what remains refundable, even when two are
requested at once; audited; the resident is notified."""

from __future__ import annotations

import json
import time

import pytest
from django.db import connection
from django.test import Client

from accounts.models import Notification
from applications.workflow import fee_settled
from audit.models import AuditEvent
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from payments.models import Payment, PaymentStatus, Refund, RefundStatus
from payments.providers import ProviderUnavailable
from payments.providers.sandbox import SandboxProvider
from payments.services.reconciliation import reconciliation_run
from payments.services.refunds import refund_request
from tests.payments.conftest import (
    deliver,
    file_application,
    race,
    sandbox_tx,
    signed_headers,
    staff_client,
)

pytestmark = pytest.mark.django_db

P = PaymentStatus


@pytest.fixture
def paid(office, django_capture_on_commit_callbacks):
    """An application whose 1,000 yen fee was paid by card."""
    from tests.payments.conftest import resident_client

    application = file_application(office.permit)
    client = resident_client(application.applicant)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/payments/applications/{application.pk}/",
            {"method": "card", "idempotency_key": "k"},
        )
        client.post(response["Location"], {"choice": "succeed"})
    payment = Payment.objects.get()
    assert payment.status == P.SUCCEEDED
    return payment


def test_a_partial_refund_is_audited_notified_and_leaves_the_fee_paid(
    office, paid, django_capture_on_commit_callbacks
):
    refund = refund_request(actor=office.approver, payment=paid, amount=300, reason="過徴収のため")

    assert refund.status == RefundStatus.SUCCEEDED
    paid.refresh_from_db()
    assert paid.status == P.PARTIALLY_REFUNDED
    assert paid.refunded_amount == 300
    assert paid.refundable_amount == 700
    assert sandbox_tx(paid).refunded_amount == 300
    actions = list(
        AuditEvent.objects.filter(action__startswith="payments.refund").values_list(
            "action", flat=True
        )
    )
    assert actions == ["payments.refund_requested", "payments.refunded"]
    requested = AuditEvent.objects.get(action="payments.refund_requested")
    assert requested.actor_id == office.approver.pk
    assert requested.data["amount"] == 300
    assert "過徴収のため" not in str(requested.data)  # free text stays on the refund
    note = Notification.objects.get(user=paid.payer, subject="Refund of 300 yen")
    assert "過徴収のため" in note.body
    from applications.models import Application

    assert fee_settled(Application.objects.get(pk=paid.subject_id))


def test_refunding_the_rest_makes_it_refunded_and_the_fee_unpaid(office, paid):
    refund_request(actor=office.approver, payment=paid, amount=400, reason="一部")
    refund_request(actor=office.approver, payment=paid, amount=600, reason="残り")

    paid.refresh_from_db()
    assert paid.status == P.REFUNDED
    assert paid.refundable_amount == 0
    from applications.models import Application

    assert not fee_settled(Application.objects.get(pk=paid.subject_id))
    with pytest.raises(Conflict) as refused:
        refund_request(actor=office.approver, payment=paid, amount=1, reason="もう一度")
    assert refused.value.code == "not_refundable"


def test_a_refund_never_exceeds_what_remains(office, paid):
    refund_request(actor=office.approver, payment=paid, amount=800, reason="一部")
    with pytest.raises(Conflict) as refused:
        refund_request(actor=office.approver, payment=paid, amount=201, reason="多すぎ")
    assert refused.value.code == "refund_exceeds_refundable"
    assert refused.value.details == {"refundable": 200}


def test_a_refund_needs_a_positive_amount_and_a_reason(office, paid):
    with pytest.raises(ValidationFailed) as invalid:
        refund_request(actor=office.approver, payment=paid, amount="0", reason=" ")
    assert set(invalid.value.details) == {"amount", "reason"}
    with pytest.raises(ValidationFailed):
        refund_request(actor=office.approver, payment=paid, amount="abc", reason="x")


def test_only_staff_with_the_refund_permission_refund(office, paid):
    with pytest.raises(PermissionDenied):
        refund_request(actor=office.clerk, payment=paid, amount=100, reason="x")
    with pytest.raises(NotFound):
        refund_request(actor=office.outsider, payment=paid, amount=100, reason="x")
    with pytest.raises(NotFound):
        refund_request(actor=paid.payer, payment=paid, amount=100, reason="x")
    assert not Refund.objects.exists()


def test_refunds_over_the_api(office, paid):
    url = f"/api/v1/payments/{paid.public_id}/refunds/"
    approver = staff_client(office.approver)

    created = approver.post(url, {"amount": 250, "reason": "誤り"}, content_type="application/json")
    too_much = approver.post(url, {"amount": 751, "reason": "x"}, content_type="application/json")
    no_reason = approver.post(url, {"amount": 1, "reason": ""}, content_type="application/json")
    clerk = staff_client(office.clerk).post(
        url, {"amount": 1, "reason": "x"}, content_type="application/json"
    )
    outsider = staff_client(office.outsider).post(
        url, {"amount": 1, "reason": "x"}, content_type="application/json"
    )

    assert created.status_code == 201 and created.json()["status"] == "succeeded"
    assert too_much.status_code == 409
    assert too_much.json()["error"]["code"] == "refund_exceeds_refundable"
    assert no_reason.status_code == 400
    assert clerk.status_code == 403 and clerk.json()["error"]["code"] == "not_allowed"
    assert outsider.status_code == 404


def test_the_refund_page_shows_errors_and_refunds(office, paid):
    approver = staff_client(office.approver)
    url = f"/payments/{paid.public_id}/refund/"

    page = approver.get(url)
    assert page.status_code == 200
    assert 'for="refund-amount"' in page.content.decode()

    invalid = approver.post(url, {"amount": "2000", "reason": ""})
    assert invalid.status_code == 400
    text = invalid.content.decode()
    assert 'class="error-summary"' in text and 'href="#refund-reason"' in text
    assert 'aria-invalid="true"' in text

    done = approver.post(
        url,
        {"amount": "1000", "reason": "申請取下げのため", "next": f"/casework/{paid.subject_id}/"},
    )
    assert done.status_code == 302
    assert done["Location"] == f"/casework/{paid.subject_id}/"
    paid.refresh_from_db()
    assert paid.status == P.REFUNDED

    assert staff_client(office.clerk).get(url).status_code == 403
    assert staff_client(office.outsider).get(url).status_code == 404


def test_an_unsafe_next_address_is_ignored(office, paid):
    done = staff_client(office.approver).post(
        f"/payments/{paid.public_id}/refund/",
        {"amount": "1", "reason": "x", "next": "https://evil.example/"},
    )
    assert done["Location"] == f"/casework/{paid.subject_id}/"


def test_a_refund_the_provider_never_confirmed_is_completed_by_its_webhook(
    office, paid, monkeypatch
):
    def unreachable(self, payment, refund):
        raise ProviderUnavailable()

    monkeypatch.setattr(SandboxProvider, "refund", unreachable)
    refund = refund_request(actor=office.approver, payment=paid, amount=500, reason="返金")
    assert refund.status == RefundStatus.REQUESTED
    paid.refresh_from_db()
    assert paid.refunded_amount == 500  # reserved
    assert paid.status == P.SUCCEEDED

    body = json.dumps(
        {
            "id": "evt_refund",
            "type": "refund.succeeded",
            "created": int(time.time()),
            "data": {
                "reference": paid.provider_reference,
                "refund": {
                    "id": "sbr_1",
                    "key": refund.public_id,
                    "amount": 500,
                    "status": "succeeded",
                },
            },
        }
    ).encode()
    response = deliver(Client(), "sandbox", body, signed_headers("sandbox", body))

    assert response.json()["outcome"] == "applied"
    refund.refresh_from_db()
    paid.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert refund.provider_reference == "sbr_1"
    assert paid.status == P.PARTIALLY_REFUNDED


def test_a_refund_the_provider_never_received_is_released_by_the_reconciliation(
    office, paid, monkeypatch
):
    from datetime import timedelta

    from django.utils import timezone

    def unreachable(self, payment, refund):
        raise ProviderUnavailable()

    monkeypatch.setattr(SandboxProvider, "refund", unreachable)
    refund = refund_request(actor=office.approver, payment=paid, amount=500, reason="返金")
    monkeypatch.undo()

    reconciliation_run(now=timezone.now() + timedelta(hours=2))

    refund.refresh_from_db()
    paid.refresh_from_db()
    assert refund.status == RefundStatus.FAILED
    assert paid.refunded_amount == 0
    assert paid.status == P.SUCCEEDED


@pytest.mark.django_db(transaction=True)
def test_two_refunds_at_once_never_exceed_the_payment(office, paid):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")

    def refund(actor):
        return refund_request(
            actor=actor, payment=Payment.objects.get(pk=paid.pk), amount=600, reason="返金"
        )

    results = race([lambda: refund(office.approver), lambda: refund(office.approver2)] * 3)

    refunds = [result for result in results if isinstance(result, Refund)]
    refused = [result for result in results if isinstance(result, Conflict)]
    assert len(refunds) == 1 and len(refused) == 5, results
    assert {error.code for error in refused} == {"refund_exceeds_refundable"}
    paid.refresh_from_db()
    assert paid.refunded_amount == 600
    assert sandbox_tx(paid).refunded_amount == 600
    assert AuditEvent.objects.filter(action="payments.refunded").count() == 1
