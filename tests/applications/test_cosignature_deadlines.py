"""Co-signatures over time and at once (docs/cosignature.md): the daily reminder task
reminds a co-signer COSIGNATURE_REMINDER_DAYS before their request runs out (once),
expires it after its last day (the applicant is told), and closes an application
whose declined or expired required co-signature was not replaced within
COSIGNATURE_DAYS; two co-signers signing at the same moment are both recorded,
once each, and the case moves on exactly once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import close_old_connections, connection
from django.utils import timezone, translation

from applications import cosigning, services
from applications.models import ApplicationStatus, CosignatureStatus, CosignerEmail
from applications.tasks import send_deadline_reminders
from core.signing import decrypt_text
from procedures.form_engine.definition import version_problems
from tests.applications.casework_setup import City, resident
from tests.applications.cosign_setup import (
    GUARANTOR_EMAIL,
    SPOUSE_EMAIL,
    cosigned_definition,
    cosigned_procedure,
    cosigner,
    file_cosigned,
    link_of,
    mails_to,
    verify_identity,
)

S = ApplicationStatus
CS = CosignatureStatus
DAY = timedelta(days=1)


def _later(days: int):
    return time_machine.travel(timezone.now() + days * DAY, tick=False)


def _token(request) -> str:
    return decrypt_text(request.token_sealed)


@pytest.mark.django_db
def test_the_reminder_task_reminds_then_expires_then_closes_the_application(
    settings, django_capture_on_commit_callbacks
):
    settings.COSIGNATURE_DAYS = 14
    settings.COSIGNATURE_REMINDER_DAYS = 3
    city = City()
    housing = cosigned_procedure(city.health)
    applicant = resident()
    with django_capture_on_commit_callbacks(execute=True):
        application = file_cosigned(housing, applicant)
    spouse_request = application.cosignatures.get(role="spouse")
    guarantor = cosigner(GUARANTOR_EMAIL, "保証 次郎")
    guarantor_request = application.cosignatures.get(role="guarantor")
    cosigning.cosignature_sign(
        actor=guarantor,
        public_id=guarantor_request.public_id,
        token=_token(guarantor_request),
        declaration=True,
    )

    # Ten days on: too early for the reminder.
    with _later(10), django_capture_on_commit_callbacks(execute=True):
        assert send_deadline_reminders.delay().get()["cosigners_reminded"] == 0
    # Eleven days on, three before the last day: one reminder, with a working link.
    with _later(11), django_capture_on_commit_callbacks(execute=True):
        first = send_deadline_reminders.delay().get()
        again = send_deadline_reminders.delay().get()
    assert first["cosigners_reminded"] == 1 and again["cosigners_reminded"] == 0
    invitation, reminder = mails_to(SPOUSE_EMAIL)
    assert "Reminder" in reminder.subject or "リマインダー" in reminder.subject
    assert link_of(reminder) == link_of(invitation)
    assert CosignerEmail.objects.filter(cosignature=spouse_request, kind="reminder").count() == 1

    # The last day (14 days on) still works; the day after, the request ran out.
    with _later(14), django_capture_on_commit_callbacks(execute=True):
        assert send_deadline_reminders.delay().get()["cosignatures_expired"] == 0
    with _later(15), django_capture_on_commit_callbacks(execute=True):
        summary = send_deadline_reminders.delay().get()
        spouse = cosigner(SPOUSE_EMAIL, "都民 花子")
        verify_identity(spouse, "都民 花子", "subject-spouse")
        with pytest.raises(cosigning.Conflict):
            cosigning.cosignature_sign(
                actor=spouse,
                public_id=spouse_request.public_id,
                token=_token(spouse_request),
                declaration=True,
            )
    assert summary["cosignatures_expired"] == 1
    spouse_request.refresh_from_db()
    assert spouse_request.status == CS.EXPIRED
    application.refresh_from_db()
    assert application.status == S.COSIGNATURE_PENDING
    told = [message for message in mail.outbox if message.to == [applicant.email]][-1]
    assert "did not answer" in told.subject
    assert spouse_request.replace_by.isoformat() in told.body
    assert application.events.filter(kind="cosignature_expired").count() == 1

    # Nobody named within COSIGNATURE_DAYS more: the application is closed.
    with _later(29), django_capture_on_commit_callbacks(execute=True):
        assert send_deadline_reminders.delay().get()["applications_lapsed"] == 0
    with _later(30), django_capture_on_commit_callbacks(execute=True):
        assert send_deadline_reminders.delay().get()["applications_lapsed"] == 1
        assert send_deadline_reminders.delay().get()["applications_lapsed"] == 0
    application.refresh_from_db()
    assert application.status == S.WITHDRAWN
    assert "co-signature" in application.withdrawn_reason
    assert application.ended_at is not None and application.kept_until is not None
    assert application.events.filter(kind="cosignatures_lapsed").count() == 1
    assert not application.documents.exists()


@pytest.mark.django_db
def test_asking_again_after_an_expiry_gives_a_new_deadline(django_capture_on_commit_callbacks):
    city = City()
    housing = cosigned_procedure(city.health, guarantor_required=False)
    applicant = resident()
    application = file_cosigned(housing, applicant, guarantor="")
    with _later(15):
        send_deadline_reminders.delay().get()
        with django_capture_on_commit_callbacks(execute=True):
            request = services.cosigner_replace(
                actor=applicant,
                application=application,
                role_key="spouse",
                name="都民 花子",
                email=SPOUSE_EMAIL,
            )
        assert request.expires_on == (timezone.localdate() + 14 * DAY)
    with _later(40):
        summary = send_deadline_reminders.delay().get()
    # The new request ran out in turn, but it had its own fourteen days.
    assert summary["cosignatures_expired"] == 1 and summary["applications_lapsed"] == 0
    assert len(mails_to(SPOUSE_EMAIL)) == 1  # the new link (the first was not sent on commit)


@pytest.mark.django_db(transaction=True)
def test_two_cosigners_signing_at_once_are_both_recorded_once(django_capture_on_commit_callbacks):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    city = City()
    housing = cosigned_procedure(city.health)
    applicant = resident()
    application = file_cosigned(housing, applicant)
    spouse = cosigner(SPOUSE_EMAIL, "都民 花子")
    verify_identity(spouse, "都民 花子", "subject-spouse")
    guarantor = cosigner(GUARANTOR_EMAIL, "保証 次郎")
    requests = {item.role: item for item in application.cosignatures.all()}
    barrier = threading.Barrier(2)
    results: dict = {}

    def sign(role, actor):
        try:
            barrier.wait()
            request = requests[role]
            results[role] = cosigning.cosignature_sign(
                actor=actor, public_id=request.public_id, token=_token(request), declaration=True
            )
        except Exception as error:  # reported by the assertion below
            results[role] = error
        finally:
            close_old_connections()

    threads = [
        threading.Thread(target=sign, args=("spouse", spouse)),
        threading.Thread(target=sign, args=("guarantor", guarantor)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert all(not isinstance(result, Exception) for result in results.values()), results
    assert set(application.cosignatures.values_list("status", flat=True)) == {CS.SIGNED}
    application.refresh_from_db()
    assert application.status == S.SUBMITTED
    kinds = list(application.events.values_list("kind", flat=True))
    assert kinds.count("cosigned") == 2
    assert kinds.count("cosignatures_complete") == 1


def test_the_definition_checks_the_cosigners():
    document = cosigned_definition()
    assert version_problems(document) == []
    document["cosigners"][0]["shows"] = ["my_number", "nothing"]
    document["cosigners"][1]["key"] = "spouse"
    document["cosigners"][1]["condition"] = {"field": "missing", "op": "filled"}
    messages: dict[str, list[str]] = {}
    with translation.override("en"):
        problems = version_problems(document)
    for problem in problems:
        messages.setdefault(problem.path, []).append(problem.message)
    shows = " ".join(messages["version.cosigners.0.shows"])
    assert "Individual Numbers" in shows and "“nothing”, which is not a field" in shows
    assert messages["version.cosigners.1.key"] == ["Co-signer keys must be unique."]
    assert "missing" in messages["version.cosigners.1.condition"][0]
    # A workflow of its own must know the wait for co-signatures.
    own = cosigned_definition()
    own["workflow"]["transitions"] = [
        {"action": action, "from": ["submitted"], "to": "under_review", "by": "reviewer"}
        for action in ("claim", "approve", "reject", "issue_result", "withdraw")
    ]
    with translation.override("en"):
        paths = [problem.message for problem in version_problems(own)]
    assert any("cosignatures_complete" in message for message in paths)
    assert any("cosignature_pending" in message for message in paths)
