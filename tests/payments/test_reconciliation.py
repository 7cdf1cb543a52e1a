"""The daily reconciliation: the provider's transactions against ours. A missed
webhook is repaired (and the application moves on); every other difference is
listed for auditors, once, until the two sides agree again."""

from __future__ import annotations

import pytest
from django.test import Client

from applications.models import Application, ApplicationStatus, DocumentKind
from audit.models import AuditEvent
from payments.models import (
    IssueKind,
    Payment,
    PaymentStatus,
    ReconciliationIssue,
    SandboxTransaction,
)
from payments.services.reconciliation import reconciliation_run
from payments.tasks import reconcile_payments
from tests.payments.conftest import (
    file_application,
    resident_client,
    sandbox_tx,
    staff_client,
)

pytestmark = pytest.mark.django_db

P = PaymentStatus


def _pay(application, choice, django_capture_on_commit_callbacks, method="card"):
    client = resident_client(application.applicant)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/payments/applications/{application.pk}/",
            {"method": method, "idempotency_key": f"k-{application.pk}"},
        )
        if choice:
            client.post(response["Location"], {"choice": choice})
    return Payment.objects.get(subject_id=application.pk)


def test_a_missed_webhook_is_repaired_and_the_application_moves_on(
    office, django_capture_on_commit_callbacks
):
    application = file_application(office.permit)
    payment = _pay(application, "succeed_silently", django_capture_on_commit_callbacks)
    assert payment.status == P.PENDING  # the notification was lost

    with django_capture_on_commit_callbacks(execute=True):
        run = reconciliation_run()

    payment.refresh_from_db()
    application.refresh_from_db()
    assert payment.status == P.SUCCEEDED
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.documents.filter(kind=DocumentKind.PAYMENT_RECEIPT).exists()
    issue = ReconciliationIssue.objects.get()
    assert issue.kind == IssueKind.MISSED_WEBHOOK and issue.repaired and issue.resolved_at
    assert run.checked == 1 and run.repaired >= 1 and run.mismatches == 0
    assert AuditEvent.objects.get(action="payments.succeeded").data["source"] == "reconciliation"
    assert AuditEvent.objects.filter(action="payments.reconciled").count() == 1


def test_a_settlement_the_application_missed_is_dispatched_again(
    office, django_capture_on_commit_callbacks
):
    application = file_application(office.permit)
    payment = _pay(application, "succeed_silently", django_capture_on_commit_callbacks)
    # Paid and recorded, but the task that moves the application on was lost.
    Payment.objects.filter(pk=payment.pk).update(
        status=P.SUCCEEDED, succeeded_at=payment.created_at
    )

    with django_capture_on_commit_callbacks(execute=True):
        reconcile_payments()

    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED


def test_differences_are_listed_once_and_closed_when_they_agree_again(
    office, django_capture_on_commit_callbacks
):
    application = file_application(office.permit)
    payment = _pay(application, "succeed", django_capture_on_commit_callbacks)
    SandboxTransaction.objects.filter(pk=sandbox_tx(payment).pk).update(amount=999)

    first = reconciliation_run()
    second = reconciliation_run()

    issue = ReconciliationIssue.objects.get()
    assert issue.kind == IssueKind.AMOUNT_MISMATCH
    assert issue.ours["amount"] == 1000 and issue.theirs["amount"] == 999
    assert issue.run_id == first.pk and issue.last_run_id == second.pk
    assert second.mismatches == 1

    SandboxTransaction.objects.filter(pk=sandbox_tx(payment).pk).update(amount=1000)
    third = reconciliation_run()
    issue.refresh_from_db()
    assert issue.resolved_at is not None
    assert third.mismatches == 0


def test_unknown_transactions_and_payments_missing_at_the_provider_are_listed(
    office, django_capture_on_commit_callbacks
):
    application = file_application(office.permit)
    payment = _pay(application, "succeed", django_capture_on_commit_callbacks)
    SandboxTransaction.objects.create(
        provider="sandbox",
        merchant_order="f" * 32,
        method="card",
        amount=300,
        description="?",
        status="succeeded",
    )
    SandboxTransaction.objects.filter(merchant_order=payment.public_id).delete()

    reconciliation_run()

    kinds = set(ReconciliationIssue.objects.values_list("kind", flat=True))
    assert kinds == {IssueKind.UNKNOWN_TRANSACTION, IssueKind.MISSING_AT_PROVIDER}


def test_refund_differences_are_listed(office, django_capture_on_commit_callbacks):
    from payments.services.refunds import refund_request

    application = file_application(office.permit)
    payment = _pay(application, "succeed", django_capture_on_commit_callbacks)
    refund_request(actor=office.approver, payment=payment, amount=100, reason="x")
    SandboxTransaction.objects.filter(merchant_order=payment.public_id).update(refunded_amount=0)

    reconciliation_run()

    issue = ReconciliationIssue.objects.get()
    assert issue.kind == IssueKind.REFUND_MISMATCH


def test_a_fee_paid_twice_is_listed_until_one_payment_is_refunded(
    office, django_capture_on_commit_callbacks
):
    application = file_application(office.permit)
    client = resident_client(application.applicant)
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(
            f"/payments/applications/{application.pk}/", {"method": "card", "idempotency_key": "a"}
        )["Location"]
    old = Payment.objects.get()
    client.post(f"/payments/{old.public_id}/cancel/")
    with django_capture_on_commit_callbacks(execute=True):
        second = client.post(
            f"/payments/applications/{application.pk}/",
            {"method": "card", "idempotency_key": "b"},
        )["Location"]
        client.post(second, {"choice": "succeed"})
    # The first page was still open in another tab: the gateway had canceled it, but
    # suppose the money arrived anyway and the provider says so.
    SandboxTransaction.objects.filter(merchant_order=old.public_id).update(status="succeeded")
    assert first != second
    with django_capture_on_commit_callbacks(execute=True):
        reconciliation_run()

    old.refresh_from_db()
    assert old.status == P.SUCCEEDED
    duplicate = ReconciliationIssue.objects.get(kind=IssueKind.DUPLICATE_PAYMENT)
    assert duplicate.resolved_at is None
    assert application.documents.filter(kind=DocumentKind.PAYMENT_RECEIPT).count() == 1

    from payments.services.refunds import refund_request

    refund_request(actor=office.approver, payment=old, amount=1000, reason="二重払い")
    reconciliation_run()
    duplicate.refresh_from_db()
    assert duplicate.resolved_at is not None
    assert Application.objects.get(pk=application.pk).status == ApplicationStatus.SUBMITTED


def test_auditors_read_the_report_and_nobody_else_does(office, django_capture_on_commit_callbacks):
    application = file_application(office.permit)
    payment = _pay(application, "succeed", django_capture_on_commit_callbacks)
    SandboxTransaction.objects.filter(merchant_order=payment.public_id).update(amount=1)
    reconciliation_run()

    auditor = staff_client(office.auditor)
    page = auditor.get("/payments/reconciliation/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Amounts differ" in text and payment.public_id in text
    assert 'href="/payments/reconciliation/"' in text  # in the auditor's navigation

    issues = auditor.get("/api/v1/payments/reconciliation/issues/").json()
    assert issues["count"] == 1
    assert issues["results"][0]["kind"] == "amount_mismatch"
    assert issues["results"][0]["subject"] == {"kind": "application", "id": application.pk}
    runs = auditor.get("/api/v1/payments/reconciliation/runs/").json()
    assert runs["count"] == 1

    assert staff_client(office.clerk).get("/payments/reconciliation/").status_code == 404
    assert (
        resident_client(application.applicant).get("/payments/reconciliation/").status_code == 404
    )
    assert (
        staff_client(office.clerk).get("/api/v1/payments/reconciliation/issues/").status_code == 404
    )
    assert Client().get("/api/v1/payments/reconciliation/runs/").status_code == 401


def test_a_settlement_whose_task_never_ran_is_swept_up(office, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from payments.services.settlement import payments_settlement_sweep
    from payments.tasks import sweep_settlements

    application = file_application(office.permit)
    payment = _pay(application, "succeed_silently", django_capture_on_commit_callbacks)
    # Recorded as paid, but the broker was down when the settlement task was queued.
    Payment.objects.filter(pk=payment.pk).update(
        status=P.SUCCEEDED, succeeded_at=timezone.now(), closed_at=timezone.now()
    )
    assert payments_settlement_sweep() == 0  # the normal path still has time

    later = timezone.now() + timedelta(minutes=3)
    with django_capture_on_commit_callbacks(execute=True):
        assert payments_settlement_sweep(now=later) == 1
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.documents.filter(kind=DocumentKind.PAYMENT_RECEIPT).count() == 1
    assert payments_settlement_sweep(now=later) == 0
    assert sweep_settlements() == 0
