import json
import re
import threading

import pytest
from django.db import connection

from applications.models import Application, ApplicationStatus, CaseCount
from applications.services import application_start, application_submit
from audit.models import AuditEvent
from core.signing import canonical_json, sha256_hex, verify_digest
from tests.factories import MY_NUMBER, PASSWORD, UserFactory, applicant_step, publish_procedure

pytestmark = pytest.mark.django_db


DEFINITION = {
    "form": {
        "steps": [
            applicant_step(),
            {
                "key": "request",
                "title": {"ja": "申請内容", "en": "Request"},
                "fields": [
                    {
                        "key": "purpose",
                        "type": "choice",
                        "label": {"ja": "用途", "en": "Purpose"},
                        "required": True,
                        "choices": [
                            {"value": "loan", "label": {"ja": "融資", "en": "Loan"}},
                            {"value": "other", "label": {"ja": "その他", "en": "Other"}},
                        ],
                    },
                    {
                        "key": "purpose_other",
                        "type": "text",
                        "label": {"ja": "その他の用途", "en": "Other purpose"},
                        "required": True,
                        "condition": {"field": "purpose", "op": "equals", "value": "other"},
                    },
                ],
            },
        ]
    },
    "fee": {"kind": "none"},
    "workflow": {"approval": "single"},
    "delivery": {"methods": ["electronic"]},
    "contact": {"channels": ["email"]},
}


@pytest.fixture
def procedure(db):
    return publish_procedure(
        code="tax-cert",
        definition=DEFINITION,
        title_ja="納税証明書交付申請",
        title_en="Tax certificate",
        category="tax",
        processing_days=3,
    )


@pytest.fixture
def resident(client):
    user = UserFactory()
    client.post("/accounts/login/", {"email": user.email, "password": PASSWORD})
    return user


def _start(client):
    response = client.post("/applications/start/tax-cert/")
    assert response.status_code == 302
    return Application.objects.latest("pk"), response["Location"]


def test_a_resident_fills_leaves_resumes_checks_and_submits(client, procedure, resident):
    application, location = _start(client)
    assert location == f"/applications/{application.pk}/steps/applicant/"

    # A mistake is reported, and what was typed stays on the page and in the draft.
    wrong = client.post(location, {"f.full_name": "山田 花子", "f.my_number": "123"})
    assert wrong.status_code == 400
    page = wrong.content.decode()
    assert 'href="#f-my_number"' in page  # the error summary links to the field
    assert 'value="山田 花子"' in page
    application.refresh_from_db()
    assert application.answers["full_name"] == "山田 花子"

    # Save and come back later; the draft is listed and resumes where it was.
    client.post(location, {"f.full_name": "山田 花子", "f.my_number": MY_NUMBER, "save_draft": "1"})
    assert "納税証明書交付申請" in client.get("/applications/").content.decode()
    assert client.get(location).status_code == 200

    assert client.post(location, {"f.full_name": "山田 花子", "f.my_number": MY_NUMBER})[
        "Location"
    ] == (f"/applications/{application.pk}/steps/request/")
    # The conditional field is required only when "other" is chosen.
    missing = client.post(f"/applications/{application.pk}/steps/request/", {"f.purpose": "other"})
    assert missing.status_code == 400
    done = client.post(
        f"/applications/{application.pk}/steps/request/",
        {"f.purpose": "other", "f.purpose_other": "ビザ申請"},
    )
    assert done["Location"] == f"/applications/{application.pk}/check/"

    check = client.get(done["Location"]).content.decode()
    assert "ビザ申請" in check
    assert MY_NUMBER not in check  # shown masked
    assert "********" + MY_NUMBER[-4:] in check

    refused = client.post(done["Location"], {})
    assert refused.status_code == 400  # the declaration is required
    submitted = client.post(done["Location"], {"declaration": "on"})
    application.refresh_from_db()
    assert submitted["Location"] == f"/applications/{application.pk}/"
    assert application.status == ApplicationStatus.SUBMITTED
    assert re.fullmatch(r"[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]", application.reference)
    assert application.reference in client.get(submitted["Location"]).content.decode()


def test_the_individual_number_is_never_stored_in_clear(client, procedure, resident):
    application, location = _start(client)
    client.post(location, {"f.full_name": "山田 花子", "f.my_number": MY_NUMBER})
    client.post(f"/applications/{application.pk}/steps/request/", {"f.purpose": "loan"})
    client.post(f"/applications/{application.pk}/check/", {"declaration": "on"})

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT answers::text, data::text FROM applications_application WHERE id = %s",
            [application.pk],
        )
        stored = " ".join(cursor.fetchone())
    assert MY_NUMBER not in stored
    assert "encrypted" in stored
    assert MY_NUMBER not in json.dumps(list(AuditEvent.objects.values_list("data", flat=True)))


def test_the_filing_is_signed_and_counted_for_the_auditors(client, procedure, resident):
    application, location = _start(client)
    client.post(location, {"f.full_name": "山田 花子", "f.my_number": MY_NUMBER})
    client.post(f"/applications/{application.pk}/steps/request/", {"f.purpose": "loan"})
    client.post(f"/applications/{application.pk}/check/", {"declaration": "on"})
    application.refresh_from_db()

    assert verify_digest(application.submission_digest, application.signature)
    assert not verify_digest(sha256_hex(canonical_json({"forged": True})), application.signature)
    assert CaseCount.objects.get(procedure=procedure).online_filings == 1


def test_another_residents_application_does_not_exist_for_you(client, procedure, resident):
    application, location = _start(client)
    other = UserFactory()
    client.post("/accounts/logout/")
    client.post("/accounts/login/", {"email": other.email, "password": PASSWORD})

    for url in (
        f"/applications/{application.pk}/",
        location,
        f"/applications/{application.pk}/check/",
    ):
        assert client.get(url).status_code == 404
    assert (
        client.post(f"/applications/{application.pk}/withdraw/", {"reason": "x"}).status_code == 404
    )
    assert client.post(f"/applications/{application.pk}/delete/").status_code == 404
    assert Application.objects.filter(pk=application.pk).exists()


def test_a_resident_withdraws_with_a_reason_and_it_shows_in_the_history(
    client, procedure, resident
):
    application = application_start(actor=resident, procedure=procedure)
    application.answers = {"full_name": "山田 花子"}
    application.save()
    from applications.services import application_save_step

    application_save_step(
        actor=resident,
        application=application,
        step_key="applicant",
        answers={"full_name": "山田 花子", "my_number": MY_NUMBER},
    )
    application_save_step(
        actor=resident, application=application, step_key="request", answers={"purpose": "loan"}
    )
    application_submit(actor=resident, application=application, declaration=True)

    refused = client.post(f"/applications/{application.pk}/withdraw/", {"reason": ""})
    assert refused.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    client.post(f"/applications/{application.pk}/withdraw/", {"reason": "別の窓口で解決しました"})
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITHDRAWN
    assert (
        "別の窓口で解決しました" in client.get(f"/applications/{application.pk}/").content.decode()
    )


@pytest.mark.django_db(transaction=True)
def test_submitting_twice_at_once_files_exactly_one_application(procedure):
    from applications.services import application_save_step

    resident = UserFactory()
    application = application_start(actor=resident, procedure=procedure)
    application_save_step(
        actor=resident,
        application=application,
        step_key="applicant",
        answers={"full_name": "山田 花子", "my_number": MY_NUMBER},
    )
    application_save_step(
        actor=resident, application=application, step_key="request", answers={"purpose": "loan"}
    )
    references, errors = [], []
    barrier = threading.Barrier(3)

    def submit():
        try:
            barrier.wait()
            references.append(
                application_submit(
                    actor=resident, application=application, declaration=True
                ).reference
            )
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(set(references)) == 1
    assert CaseCount.objects.get(procedure=procedure).online_filings == 1
    assert AuditEvent.objects.filter(action="applications.submitted").count() == 1


def test_the_receipt_is_issued_after_submission_and_downloadable(
    client, procedure, resident, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    application, location = _start(client)
    client.post(location, {"f.full_name": "山田 花子", "f.my_number": MY_NUMBER})
    client.post(f"/applications/{application.pk}/steps/request/", {"f.purpose": "loan"})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/applications/{application.pk}/check/", {"declaration": "on"})

    document = application.documents.get(kind="receipt")
    page = client.get(f"/applications/{application.pk}/").content.decode()
    assert document.verification_code in page
    response = client.get(f"/applications/{application.pk}/documents/{document.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_the_resident_is_notified_in_the_app_and_by_email_in_their_language(
    client, procedure, resident, settings, tmp_path, django_capture_on_commit_callbacks
):
    from django.core import mail

    settings.MEDIA_ROOT = tmp_path
    resident.preferred_language = "en"
    resident.save()
    application, location = _start(client)
    client.post(location, {"f.full_name": "山田 花子", "f.my_number": MY_NUMBER})
    client.post(f"/applications/{application.pk}/steps/request/", {"f.purpose": "loan"})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/applications/{application.pk}/check/", {"declaration": "on"})
    application.refresh_from_db()

    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == f"Application {application.reference} received"
    assert "Tax certificate" in mail.outbox[0].body
    assert f"/applications/{application.pk}/" in mail.outbox[0].body
    page = client.get("/accounts/notifications/").content.decode()
    assert f"Application {application.reference} received" in page
    client.post("/accounts/notifications/", {})
    assert resident.notifications.filter(read_at__isnull=True).count() == 0
