"""Paying a fee as a resident does: the payment page, the sandbox card / QR page and
its return, payment numbers for bank transfer and convenience stores, deadlines,
cancelling, and what a settled payment does to the application (it moves on, and
the 領収書 is issued among its documents)."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest
from django.utils import timezone

from accounts.models import Notification
from applications.documents import verify_code, verify_pdf
from applications.models import ApplicationStatus, DocumentKind
from applications.selectors import resident_next_step
from audit.models import AuditEvent
from payments.models import Payment, PaymentStatus, SandboxStatus
from payments.providers import sandbox
from payments.services.expiry import payments_expire_overdue
from payments.services.follow import payment_refresh
from tests.payments.conftest import file_application, resident, resident_client, sandbox_tx

pytestmark = pytest.mark.django_db

S = ApplicationStatus
P = PaymentStatus


def _text(response) -> str:
    return unescape(response.content.decode())


def _pay_page(application) -> str:
    return f"/payments/applications/{application.pk}/"


def _start(client, application, method, key="key-1"):
    return client.post(_pay_page(application), {"method": method, "idempotency_key": key})


def test_the_payment_page_shows_the_amount_due_and_the_fees_methods(office):
    application = file_application(office.permit)
    assert application.status == S.PAYMENT_PENDING
    assert resident_next_step(application).code == "pay_fee"

    response = resident_client(application.applicant).get(_pay_page(application))

    assert response.status_code == 200
    text = _text(response)
    assert "1,000 yen" in text
    for label in (
        "Credit or debit card",
        "QR code payment",
        "Bank transfer (Pay-easy)",
        "Convenience store",
    ):
        assert label in text
    assert 'name="idempotency_key"' in text
    assert 'aria-describedby="method-help"' in text


def test_another_residents_application_has_no_payment_page(office):
    application = file_application(office.permit)
    stranger = resident("他人 花子")

    assert resident_client(stranger).get(_pay_page(application)).status_code == 404
    assert resident_client(stranger).get("/payments/applications/999999/").status_code == 404


def test_choosing_no_method_is_an_error_summarised_and_linked(office):
    application = file_application(office.permit)

    response = resident_client(application.applicant).post(
        _pay_page(application), {"idempotency_key": "k"}
    )

    assert response.status_code == 400
    text = _text(response)
    assert 'class="error-summary"' in text
    assert 'href="#method-card"' in text
    assert "Choose how you want to pay." in text
    assert not Payment.objects.exists()


def test_a_resident_pays_by_card_and_the_application_moves_on_with_a_receipt(
    office, django_capture_on_commit_callbacks
):
    application = file_application(office.permit)
    client = resident_client(application.applicant)

    with django_capture_on_commit_callbacks(execute=True):
        response = _start(client, application, "card")
    payment = Payment.objects.get()
    assert payment.status == P.PENDING and payment.amount == 1000
    assert response.status_code == 302
    assert response["Location"] == f"/sandbox-pay/checkout/{payment.provider_reference}/"

    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "This is a test payment service." in _text(page)

    with django_capture_on_commit_callbacks(execute=True):
        back = client.post(response["Location"], {"choice": "succeed"})
    assert back["Location"].endswith(f"/payments/{payment.public_id}/return/")

    payment.refresh_from_db()
    application.refresh_from_db()
    assert payment.status == P.SUCCEEDED
    assert application.status == S.SUBMITTED  # in the queue now
    assert application.due_date is not None  # the processing period started
    receipt = application.documents.get(kind=DocumentKind.PAYMENT_RECEIPT)
    assert receipt.title.startswith("領収書")
    assert receipt.content["payment"]["amount"] == 1000
    assert receipt.content["payment"]["method_ja"] == "クレジットカード・デビットカード"
    assert verify_code(receipt.verification_code) == receipt
    assert verify_pdf(receipt.pdf.read()) == receipt
    assert application.events.filter(kind="payment_settled").count() == 1

    detail = client.get(f"/payments/{payment.public_id}/return/", follow=True)
    assert "Your payment was received." in _text(detail)
    actions = set(
        AuditEvent.objects.filter(target_type="payments.payment").values_list("action", flat=True)
    )
    assert {"payments.started", "payments.pending", "payments.succeeded"} <= actions
    assert Notification.objects.filter(
        user=application.applicant, subject__startswith="Payment received"
    ).exists()


def test_a_declined_card_leaves_the_fee_unpaid_and_the_resident_may_try_again(
    office, django_capture_on_commit_callbacks
):
    application = file_application(office.permit)
    client = resident_client(application.applicant)
    with django_capture_on_commit_callbacks(execute=True):
        location = _start(client, application, "card")["Location"]
        client.post(location, {"choice": "fail"})

    payment = Payment.objects.get()
    assert payment.status == P.FAILED
    application.refresh_from_db()
    assert application.status == S.PAYMENT_PENDING
    detail = client.get(f"/payments/{payment.public_id}/")
    assert "The payment did not go through." in _text(detail)

    with django_capture_on_commit_callbacks(execute=True):
        again = _start(client, application, "qr_code", key="key-2")
    assert again.status_code == 302
    assert Payment.objects.filter(status=P.PENDING, method="qr_code").count() == 1


def test_the_return_page_never_marks_a_payment_paid_by_itself(
    office, django_capture_on_commit_callbacks
):
    application = file_application(office.permit)
    client = resident_client(application.applicant)
    with django_capture_on_commit_callbacks(execute=True):
        _start(client, application, "card")
    payment = Payment.objects.get()

    # The payer never paid, but comes back with a URL claiming success.
    client.get(f"/payments/{payment.public_id}/return/?status=succeeded&paid=1")

    payment.refresh_from_db()
    assert payment.status == P.PENDING
    application.refresh_from_db()
    assert application.status == S.PAYMENT_PENDING


def test_a_delayed_result_is_found_by_asking_the_provider_when_the_webhook_is_late(
    office, django_capture_on_commit_callbacks
):
    application = file_application(office.permit)
    client = resident_client(application.applicant)
    with django_capture_on_commit_callbacks(execute=True):
        location = _start(client, application, "card")["Location"]
        client.post(location, {"choice": "delay"})
    payment = Payment.objects.get()
    assert sandbox_tx(payment).status == SandboxStatus.PROCESSING
    waiting = client.get(f"/payments/{payment.public_id}/return/", follow=True)
    assert "We are waiting for the payment service" in _text(waiting)
    payment.refresh_from_db()
    assert payment.status == P.PENDING

    # The provider decides; its webhook has not come. Asking it finds the payment.
    tx = sandbox_tx(payment)
    tx.settle_at = timezone.now() - timedelta(seconds=1)
    tx.save()
    Payment.objects.filter(pk=payment.pk).update(last_queried_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/payments/{payment.public_id}/refresh/")

    payment.refresh_from_db()
    application.refresh_from_db()
    assert payment.status == P.SUCCEEDED
    assert application.status == S.SUBMITTED
    event = AuditEvent.objects.get(action="payments.succeeded")
    assert event.data["source"] == "query"

    # The late webhook, when the sandbox finally sends it, changes nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        assert sandbox.release_delayed() == 1
    assert AuditEvent.objects.filter(action="payments.succeeded").count() == 1
    assert application.documents.filter(kind=DocumentKind.PAYMENT_RECEIPT).count() == 1


def test_a_lost_notification_is_found_when_the_resident_returns(
    office, django_capture_on_commit_callbacks
):
    application = file_application(office.permit)
    client = resident_client(application.applicant)
    with django_capture_on_commit_callbacks(execute=True):
        location = _start(client, application, "card")["Location"]
        back = client.post(location, {"choice": "succeed_silently"})
        client.get(back["Location"])

    payment = Payment.objects.get()
    assert payment.status == P.SUCCEEDED
    application.refresh_from_db()
    assert application.status == S.SUBMITTED


def test_status_queries_are_rate_limited_per_payment(office, django_capture_on_commit_callbacks):
    application = file_application(office.permit)
    client = resident_client(application.applicant)
    with django_capture_on_commit_callbacks(execute=True):
        _start(client, application, "card")
    payment = Payment.objects.get()
    payment_refresh(payment=payment)
    first = Payment.objects.get().last_queried_at
    payment_refresh(payment=payment)
    assert Payment.objects.get().last_queried_at == first


def test_bank_transfer_gives_payment_numbers_and_a_deadline_and_moves_on_when_paid(
    office, django_capture_on_commit_callbacks
):
    application = file_application(office.permit)
    client = resident_client(application.applicant)
    with django_capture_on_commit_callbacks(execute=True):
        response = _start(client, application, "bank_transfer")
    payment = Payment.objects.get()
    assert response["Location"] == f"/payments/{payment.public_id}/"
    numbers = {item["key"]: item["value"] for item in payment.instructions["numbers"]}
    assert set(numbers) == {"institution_number", "payment_number", "confirmation_number"}
    assert len(numbers["payment_number"]) == 16
    local_deadline = timezone.localtime(payment.expires_at)
    assert (local_deadline - timezone.localtime()).days in (6, 7)
    assert (local_deadline.hour, local_deadline.minute) == (23, 59)

    page = _text(client.get(response["Location"]))
    grouped = " ".join(numbers["payment_number"][i : i + 4] for i in range(0, 16, 4))
    assert grouped in page
    assert "Pay-easy" in page
    assert "Open the sandbox bank and store" in page

    # The bank pays days later; its webhook moves the application on.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/sandbox-pay/deferred/{payment.provider_reference}/", {"action": "pay"})
    payment.refresh_from_db()
    application.refresh_from_db()
    assert payment.status == P.SUCCEEDED
    assert application.status == S.SUBMITTED
    assert application.documents.filter(kind=DocumentKind.PAYMENT_RECEIPT).exists()


def test_convenience_store_payment_numbers(office, django_capture_on_commit_callbacks):
    application = file_application(office.permit)
    with django_capture_on_commit_callbacks(execute=True):
        _start(resident_client(application.applicant), application, "convenience_store")
    payment = Payment.objects.get()
    assert payment.instructions["where"] == "store"
    assert [item["label_ja"] for item in payment.instructions["numbers"]] == [
        "納付番号",
        "確認番号",
    ]


def test_unpaid_payment_numbers_expire_at_the_deadline(office, django_capture_on_commit_callbacks):
    application = file_application(office.permit)
    with django_capture_on_commit_callbacks(execute=True):
        _start(resident_client(application.applicant), application, "bank_transfer")
    payment = Payment.objects.get()

    assert payments_expire_overdue() == {"expired": 0, "paid": 0}  # not yet
    later = payment.expires_at + timedelta(minutes=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert payments_expire_overdue(now=later) == {"expired": 1, "paid": 0}
        assert payments_expire_overdue(now=later) == {"expired": 0, "paid": 0}

    payment.refresh_from_db()
    assert payment.status == P.EXPIRED
    assert sandbox_tx(payment).status == SandboxStatus.CANCELED  # the numbers are void
    assert Notification.objects.filter(
        user=application.applicant, subject="Your payment numbers have expired"
    ).exists()
    application.refresh_from_db()
    assert application.status == S.PAYMENT_PENDING
    # A new payment can be started.
    page = _text(resident_client(application.applicant).get(_pay_page(application)))
    assert "How would you like to pay?" in page


def test_the_provider_is_asked_before_expiring_and_money_that_arrived_counts(
    office, django_capture_on_commit_callbacks
):
    application = file_application(office.permit)
    with django_capture_on_commit_callbacks(execute=True):
        _start(resident_client(application.applicant), application, "bank_transfer")
    payment = Payment.objects.get()
    tx = sandbox_tx(payment)
    tx.status = SandboxStatus.SUCCEEDED  # paid, but the webhook was lost
    tx.save()

    with django_capture_on_commit_callbacks(execute=True):
        result = payments_expire_overdue(now=payment.expires_at + timedelta(minutes=1))

    assert result == {"expired": 0, "paid": 1}
    payment.refresh_from_db()
    assert payment.status == P.SUCCEEDED


def test_the_sandbox_deadline_passing_expires_the_payment_by_webhook(
    office, django_capture_on_commit_callbacks
):
    application = file_application(office.permit)
    client = resident_client(application.applicant)
    with django_capture_on_commit_callbacks(execute=True):
        _start(client, application, "convenience_store")
        payment = Payment.objects.get()
        client.post(f"/sandbox-pay/deferred/{payment.provider_reference}/", {"action": "expire"})
    payment.refresh_from_db()
    assert payment.status == P.EXPIRED
    page = _text(client.get(f"/payments/{payment.public_id}/"))
    assert "The deadline passed before the payment arrived." in page
    assert "Choose a way to pay again" in page


def test_cancelling_an_open_payment_lets_the_resident_choose_another_method(
    office, django_capture_on_commit_callbacks
):
    application = file_application(office.permit)
    client = resident_client(application.applicant)
    with django_capture_on_commit_callbacks(execute=True):
        _start(client, application, "bank_transfer")
    payment = Payment.objects.get()
    page = _text(client.get(_pay_page(application)))
    assert "A payment is in progress" in page

    response = client.post(f"/payments/{payment.public_id}/cancel/")
    assert response["Location"] == _pay_page(application)
    payment.refresh_from_db()
    assert payment.status == P.CANCELED
    assert sandbox_tx(payment).status == SandboxStatus.CANCELED
    with django_capture_on_commit_callbacks(execute=True):
        assert _start(client, application, "card", key="key-2").status_code == 302


def test_a_fee_due_on_approval_is_paid_after_approval_and_releases_the_result(
    office, django_capture_on_commit_callbacks
):
    from applications.casework.services import workflow_act

    application = file_application(office.late_fee_permit)
    client = resident_client(application.applicant)
    assert application.status == S.SUBMITTED
    not_yet = client.get(_pay_page(application))
    assert "The fee is not due yet" in _text(not_yet)

    workflow_act(actor=office.clerk, application=application, action="claim")
    with django_capture_on_commit_callbacks(execute=True):
        workflow_act(actor=office.clerk, application=application, action="approve")
    application.refresh_from_db()
    assert application.status == S.APPROVED
    assert resident_next_step(application).code == "pay_fee"

    with django_capture_on_commit_callbacks(execute=True):
        location = _start(client, application, "card")["Location"]
        client.post(location, {"choice": "succeed"})

    application.refresh_from_db()
    assert application.status == S.RESULT_ISSUED
    kinds = set(application.documents.values_list("kind", flat=True))
    assert {DocumentKind.DECISION, DocumentKind.PAYMENT_RECEIPT} <= kinds


def test_the_panels_for_the_application_and_case_pages_render(
    office, django_capture_on_commit_callbacks, rf
):
    from django.template.loader import render_to_string
    from django.utils import translation

    translation.activate("en")  # the panels' texts are asserted in English
    application = file_application(office.permit)
    request = rf.get("/")
    request.user = application.applicant
    before = render_to_string(
        "payments/_application_payment.html", {"application": application, "request": request}
    )
    assert f"/payments/applications/{application.pk}/" in before
    assert "1,000 yen is due." in unescape(before)

    client = resident_client(application.applicant)
    with django_capture_on_commit_callbacks(execute=True):
        location = _start(client, application, "card")["Location"]
        client.post(location, {"choice": "succeed"})
    after = unescape(
        render_to_string(
            "payments/_application_payment.html",
            {"application": application, "request": request},
        )
    )
    assert "1,000 yen was received on" in after

    request.user = office.approver
    case = unescape(
        render_to_string(
            "payments/_case_payments.html", {"application": application, "request": request}
        )
    )
    assert "Refund the payment of 1,000 yen" in case
    request.user = office.clerk  # reviews, but may not refund
    case = unescape(
        render_to_string(
            "payments/_case_payments.html", {"application": application, "request": request}
        )
    )
    assert "Paid" in case and "Refund the payment" not in case
