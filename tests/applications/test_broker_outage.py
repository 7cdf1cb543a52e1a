"""The broker down at the moment of submission: the filing is saved and the
resident sees success; the receipt and the e-mail follow once the sweeps run
with the broker back. Nothing is issued twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import Notification
from accounts.tasks import sweep_unsent_notifications
from applications.models import Application, ApplicationStatus, DocumentKind
from applications.services import application_save_step, application_start
from applications.tasks import issue_receipt, sweep_pending_documents
from config.celery import app  # the broker_down fixture is in conftest.py
from core.tasks import publish
from tests.factories import MY_NUMBER, UserFactory, applicant_step, publish_procedure

pytestmark = pytest.mark.django_db

DEFINITION = {
    "form": {"steps": [applicant_step()]},
    "fee": {"kind": "none"},
    "workflow": {"approval": "single"},
    "delivery": {"methods": ["electronic"]},
    "contact": {"channels": ["email"]},
}


def test_publishing_to_a_dead_broker_reports_failure_without_raising(broker_down):
    assert publish(issue_receipt, 123) is False


def test_a_filing_submitted_while_the_broker_is_down_gets_its_receipt_later(
    client, broker_down, django_capture_on_commit_callbacks
):
    resident = UserFactory(preferred_language="en")
    procedure = publish_procedure(code="outage", definition=DEFINITION)
    application = application_start(actor=resident, procedure=procedure)
    application_save_step(
        actor=resident,
        application=application,
        step_key="applicant",
        answers={"full_name": "山田 太郎", "my_number": MY_NUMBER},
    )
    client.force_login(resident)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/applications/{application.pk}/check/", {"declaration": "on"}, follow=True
        )

    assert response.status_code == 200
    assert "Your application was submitted" in response.content.decode()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert not application.documents.exists()

    # Later, with the broker back, the sweeps find what was left behind.
    app.conf.task_always_eager = True
    Application.objects.filter(pk=application.pk).update(
        submitted_at=timezone.now() - timedelta(minutes=10)
    )
    assert sweep_pending_documents() == {"receipts": 1, "decisions": 0}
    assert sweep_pending_documents() == {"receipts": 0, "decisions": 0}
    assert application.documents.filter(kind=DocumentKind.RECEIPT).count() == 1
    # The receipt's notification was stored; its e-mail goes out with the next sweep.
    Notification.objects.update(created_at=timezone.now() - timedelta(minutes=10))
    assert sweep_unsent_notifications() == 1
    assert sweep_unsent_notifications() == 0
    assert [message.to for message in mail.outbox] == [[resident.email]]


def test_a_decision_taken_while_the_broker_is_down_is_issued_by_the_sweep(
    broker_down, django_capture_on_commit_callbacks
):
    from applications.casework.services import workflow_act
    from applications.services import application_submit
    from tests.factories import MembershipFactory

    procedure = publish_procedure(code="outage", definition=DEFINITION)
    clerk = UserFactory()
    MembershipFactory(user=clerk, organization=procedure.owning_organization, role="clerk")
    resident = UserFactory()
    application = application_start(actor=resident, procedure=procedure)
    application_save_step(
        actor=resident,
        application=application,
        step_key="applicant",
        answers={"full_name": "山田 太郎", "my_number": MY_NUMBER},
    )
    application_submit(actor=resident, application=application, declaration=True)
    workflow_act(actor=clerk, application=application, action="claim")
    with django_capture_on_commit_callbacks(execute=True):
        workflow_act(actor=clerk, application=application, action="approve")
    assert Application.objects.get(pk=application.pk).status == ApplicationStatus.APPROVED

    app.conf.task_always_eager = True
    Application.objects.filter(pk=application.pk).update(
        submitted_at=timezone.now() - timedelta(minutes=10),
        decided_at=timezone.now() - timedelta(minutes=10),
    )
    assert sweep_pending_documents() == {"receipts": 1, "decisions": 1}
    assert Application.objects.get(pk=application.pk).status == ApplicationStatus.RESULT_ISSUED
