"""The payments API for residents: starting with an Idempotency-Key (same key and
body: the same payment; another body: 409), one open payment per application,
reading status, refreshing and cancelling; and the OpenAPI schema."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from applications.models import ApplicationStatus
from payments.models import Payment, PaymentStatus
from payments.services.start import payment_start
from tests.payments.conftest import file_application, race, resident, resident_client

pytestmark = pytest.mark.django_db

URL = "/api/v1/payments/"
P = PaymentStatus


def _start(client, application, method="card", key="key-1"):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(
        URL,
        {"application": application.pk, "method": method},
        content_type="application/json",
        headers=headers,
    )


def _code(response) -> str:
    return response.json()["error"]["code"]


def test_starting_a_card_payment_returns_the_provider_page(office):
    application = file_application(office.permit)
    response = _start(resident_client(application.applicant), application)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending"
    assert body["amount"] == 1000
    assert body["method"] == "card"
    assert body["subject"] == {"kind": "application", "id": application.pk}
    assert body["redirect_url"].startswith("/sandbox-pay/checkout/")
    assert body["instructions"] is None


def test_a_deferred_payment_returns_payment_numbers_and_a_deadline(office):
    application = file_application(office.permit)
    body = _start(resident_client(application.applicant), application, "bank_transfer").json()
    assert body["redirect_url"] == ""
    assert body["expires_at"]
    assert [item["key"] for item in body["instructions"]["numbers"]] == [
        "institution_number",
        "payment_number",
        "confirmation_number",
    ]


def test_the_same_key_and_body_return_the_same_payment(office):
    application = file_application(office.permit)
    client = resident_client(application.applicant)

    first = _start(client, application, key="same")
    second = _start(client, application, key="same")

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert Payment.objects.count() == 1


def test_the_same_key_with_another_body_is_a_conflict(office):
    application = file_application(office.permit)
    client = resident_client(application.applicant)
    first = _start(client, application, "card", key="same")

    other = _start(client, application, "bank_transfer", key="same")

    assert other.status_code == 409
    assert _code(other) == "idempotency_key_reused"
    assert other.json()["error"]["details"]["payment"] == first.json()["id"]
    assert Payment.objects.count() == 1


def test_keys_belong_to_their_user(office):
    mine = file_application(office.permit)
    theirs = file_application(office.permit)
    assert _start(resident_client(mine.applicant), mine, key="shared").status_code == 201
    assert _start(resident_client(theirs.applicant), theirs, key="shared").status_code == 201


def test_an_idempotency_key_is_required_and_must_be_sane(office):
    application = file_application(office.permit)
    client = resident_client(application.applicant)
    missing = _start(client, application, key=None)
    assert missing.status_code == 400
    assert _code(missing) == "idempotency_key_required"
    too_long = _start(client, application, key="x" * 101)
    assert too_long.status_code == 400
    assert _code(too_long) == "idempotency_key_invalid"


def test_a_second_payment_while_one_is_open_is_refused(office):
    application = file_application(office.permit)
    client = resident_client(application.applicant)
    first = _start(client, application, key="a")

    second = _start(client, application, "bank_transfer", key="b")

    assert second.status_code == 409
    assert _code(second) == "payment_in_progress"
    assert second.json()["error"]["details"]["payment"] == first.json()["id"]

    cancelled = client.post(f"{URL}{first.json()['id']}/cancel/")
    assert cancelled.json()["status"] == "canceled"
    assert _start(client, application, "bank_transfer", key="b").status_code == 201


def test_the_database_allows_one_open_payment_per_application(office):
    from django.db import IntegrityError, transaction

    application = file_application(office.permit)
    payment_start(
        actor=application.applicant,
        subject_kind="application",
        subject_id=application.pk,
        method="card",
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.create(
            subject_kind="application",
            subject_id=application.pk,
            payer=application.applicant,
            description="x",
            amount=1000,
            method="card",
            provider="sandbox",
        )


def test_methods_the_fee_does_not_list_are_refused(office):
    application = file_application(office.card_only)
    response = _start(resident_client(application.applicant), application, "bank_transfer")
    assert response.status_code == 400
    assert "method" in response.json()["error"]["details"]
    unknown = _start(resident_client(application.applicant), application, "cash", key="k2")
    assert unknown.status_code == 400


def test_another_residents_application_is_not_found(office):
    application = file_application(office.permit)
    response = _start(resident_client(resident("他人")), application)
    assert response.status_code == 404
    assert _code(response) == "not_found"
    assert _start(resident_client(application.applicant), application).status_code == 201
    payment = Payment.objects.get()
    stranger = resident_client(resident("別人"))
    assert stranger.get(f"{URL}{payment.public_id}/").status_code == 404
    assert stranger.post(f"{URL}{payment.public_id}/cancel/").status_code == 404
    assert stranger.get(f"/payments/{payment.public_id}/").status_code == 404


def test_a_paid_fee_cannot_be_paid_again(office, django_capture_on_commit_callbacks):
    application = file_application(office.permit)
    client = resident_client(application.applicant)
    with django_capture_on_commit_callbacks(execute=True):
        location = _start(client, application).json()["redirect_url"]
        client.post(location, {"choice": "succeed"})

    again = _start(client, application, key="again")

    assert again.status_code == 409
    assert _code(again) == "already_paid"


def test_a_fee_due_on_approval_cannot_be_paid_before_approval(office):
    application = file_application(office.late_fee_permit)
    response = _start(resident_client(application.applicant), application)
    assert response.status_code == 409
    assert _code(response) == "not_due"


def test_a_withdrawn_application_cannot_be_paid(office):
    from applications.services import application_withdraw

    application = file_application(office.permit)
    application_withdraw(actor=application.applicant, application=application, reason="不要")
    response = _start(resident_client(application.applicant), application)
    assert response.status_code == 409


def test_anonymous_callers_are_refused(office):
    assert Client().post(URL, {}, content_type="application/json").status_code == 401


def test_listing_and_reading_payments(office, django_capture_on_commit_callbacks):
    application = file_application(office.permit)
    other = file_application(office.permit)
    client = resident_client(application.applicant)
    _start(client, application)
    _start(resident_client(other.applicant), other)

    listed = client.get(URL).json()
    assert listed["count"] == 1
    assert client.get(f"{URL}?application={application.pk}").json()["count"] == 1
    assert client.get(f"{URL}?application={other.pk}").json()["count"] == 0
    payment_id = listed["results"][0]["id"]
    detail = client.get(f"{URL}{payment_id}/").json()
    assert detail["status_label"] == "Waiting for payment"

    # Staff of the department see both; the outsider none.
    from tests.payments.conftest import staff_client

    assert staff_client(office.clerk).get(URL).json()["count"] == 2
    assert staff_client(office.outsider).get(URL).json()["count"] == 0

    refreshed = client.post(f"{URL}{payment_id}/refresh/")
    assert refreshed.status_code == 200
    assert refreshed.json()["status"] == "pending"


@pytest.mark.django_db(transaction=True)
def test_concurrent_starts_with_one_key_make_one_payment(office):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    application = file_application(office.permit)

    def start():
        return payment_start(
            actor=application.applicant,
            subject_kind="application",
            subject_id=application.pk,
            method="card",
            idempotency_key="double-click",
        )

    results = race([start] * 8)

    assert not [result for result in results if isinstance(result, Exception)], results
    assert len({payment.pk for payment, _created in results}) == 1
    assert sum(created for _payment, created in results) == 1
    assert Payment.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_starts_with_different_keys_open_one_payment(office):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    application = file_application(office.permit)

    def start(key):
        return payment_start(
            actor=application.applicant,
            subject_kind="application",
            subject_id=application.pk,
            method="card",
            idempotency_key=key,
        )

    results = race([lambda key=f"k{index}": start(key) for index in range(6)])

    payments = [result for result in results if isinstance(result, tuple)]
    conflicts = [
        result for result in results if getattr(result, "code", "") == "payment_in_progress"
    ]
    assert len(payments) == 1 and len(conflicts) == 5, results
    assert Payment.objects.filter(status=P.PENDING).count() == 1
    application.refresh_from_db()
    assert application.status == ApplicationStatus.PAYMENT_PENDING


def test_the_schema_documents_the_payment_endpoints(office):
    response = Client().get("/api/schema/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    text = response.content.decode()
    for path in (
        "/api/v1/payments/",
        "/api/v1/payments/{public_id}/",
        "/api/v1/payments/{public_id}/refunds/",
        "/api/v1/payments/webhooks/{provider}/",
        "/api/v1/payments/reconciliation/issues/",
    ):
        assert path in text, path
    assert "Idempotency-Key" in text
