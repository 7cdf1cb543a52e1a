"""The resident's side of casework, on pages and through the API: answering a
correction request (only the named steps open, history kept), downloading the
decision, uploading and downloading files, and nobody else's application."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from applications.casework.services import workflow_act
from applications.models import Application, ApplicationStatus, DocumentKind
from applications.services import application_save_step, application_start, application_submit
from tests.factories import (
    MY_NUMBER,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
    applicant_step,
    publish_procedure,
)

pytestmark = pytest.mark.django_db

S = ApplicationStatus
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
DEFINITION = {
    "form": {
        "steps": [
            applicant_step(),
            {
                "key": "business",
                "title": {"ja": "営業の内容", "en": "Business"},
                "fields": [
                    {
                        "key": "shop_name",
                        "type": "text",
                        "label": {"ja": "店名", "en": "Shop name"},
                        "required": True,
                    },
                    {
                        "key": "floor_plan",
                        "type": "file",
                        "label": {"ja": "平面図", "en": "Floor plan"},
                        "accept": ["pdf"],
                    },
                ],
            },
        ]
    },
    "fee": {"kind": "none"},
    "workflow": {"approval": "single"},
    "delivery": {"methods": ["electronic"]},
    "contact": {"channels": ["email"]},
    "result_document": {
        "kind": "permit",
        "title": {"ja": "営業許可書", "en": "Business Permit"},
        "body": {"ja": "許可します。", "en": "Permitted."},
    },
}


@pytest.fixture
def setting():
    department = OrganizationFactory(code="health", name_ja="保健所")
    clerk = UserFactory(display_name="審査 一郎")
    MembershipFactory(user=clerk, organization=department, role="clerk")
    procedure = publish_procedure(
        code="shop", definition=DEFINITION, organization=department, processing_days=10
    )
    resident = UserFactory(preferred_language="en")
    application = application_start(actor=resident, procedure=procedure)
    application_save_step(
        actor=resident,
        application=application,
        step_key="applicant",
        answers={"full_name": "山田 太郎", "my_number": MY_NUMBER},
    )
    application_save_step(
        actor=resident,
        application=application,
        step_key="business",
        answers={"shop_name": "山田屋"},
    )
    application = application_submit(actor=resident, application=application, declaration=True)
    return {"clerk": clerk, "resident": resident, "application": application}


def _request_correction(setting):
    workflow_act(actor=setting["clerk"], application=setting["application"], action="claim")
    workflow_act(
        actor=setting["clerk"],
        application=setting["application"],
        action="request_correction",
        comment="店名を登記どおりに記入し、平面図を添付してください。",
        fields=["shop_name", "floor_plan"],
    )


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    client.credentials(HTTP_ACCEPT_LANGUAGE="en")
    return client


def _pdf(name="plan.pdf"):
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


# --- Pages ------------------------------------------------------------------------------


def test_the_resident_answers_a_correction_request_on_the_pages(client, setting):
    _request_correction(setting)
    application = setting["application"]
    client.force_login(setting["resident"])
    detail_url = reverse("applications:detail", args=[application.pk])

    page = client.get(detail_url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Correction requested" in page
    assert "店名を登記どおりに記入し、平面図を添付してください。" in page
    assert "Shop name" in page and "Floor plan" in page
    step_url = reverse("applications:step", args=[application.pk, "business"])
    assert step_url in page

    # The applicant step was not named: it stays as submitted.
    closed = client.get(reverse("applications:step", args=[application.pk, "applicant"]))
    assert closed.status_code == 404

    step = client.get(step_url)
    assert "店名を登記どおりに記入し" in step.content.decode()
    saved = client.post(
        step_url,
        {"f.shop_name": "株式会社山田屋", "f.floor_plan": _pdf()},
    )
    check_url = reverse("applications:check", args=[application.pk])
    assert saved.status_code == 302 and saved["Location"] == check_url

    check = client.get(check_url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Send the corrections" in check
    assert reverse("applications:step", args=[application.pk, "applicant"]) not in check

    sent = client.post(check_url, {"declaration": "on", "note": "登記簿のとおりに直しました"})
    assert sent.status_code == 302

    application.refresh_from_db()
    assert application.status == S.RESUBMITTED
    assert application.revision == 2
    page = client.get(detail_url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Correction requests" in page
    assert "登記簿のとおりに直しました" in page
    assert "Signed versions of your filing" in page
    assert page.count('<code class="digest">') >= 2


def test_sending_corrections_needs_the_declaration(client, setting):
    _request_correction(setting)
    client.force_login(setting["resident"])
    check_url = reverse("applications:check", args=[setting["application"].pk])

    response = client.post(check_url, {"note": "x"}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert "Confirm the declaration" in response.content.decode()
    assert Application.objects.get(pk=setting["application"].pk).status == S.CORRECTION_REQUESTED


def test_the_resident_downloads_the_decision_from_the_application_page(
    client, setting, django_capture_on_commit_callbacks
):
    application = setting["application"]
    workflow_act(actor=setting["clerk"], application=application, action="claim")
    with django_capture_on_commit_callbacks(execute=True):
        workflow_act(actor=setting["clerk"], application=application, action="approve")
    decision = application.documents.get(kind=DocumentKind.DECISION)
    client.force_login(setting["resident"])

    page = client.get(
        reverse("applications:detail", args=[application.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Approved." in page
    assert decision.verification_code in page
    assert "counter" not in page.replace("No visit to a counter is needed", "")

    download = client.get(reverse("applications:document", args=[application.pk, decision.pk]))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content).startswith(b"%PDF")


def test_a_refusal_shows_its_reason_on_the_page(
    client, setting, django_capture_on_commit_callbacks
):
    application = setting["application"]
    workflow_act(actor=setting["clerk"], application=application, action="claim")
    with django_capture_on_commit_callbacks(execute=True):
        workflow_act(
            actor=setting["clerk"],
            application=application,
            action="reject",
            comment="営業所が基準を満たしていません。",
        )
    client.force_login(setting["resident"])

    page = client.get(
        reverse("applications:detail", args=[application.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()

    assert "Not approved." in page
    assert "営業所が基準を満たしていません。" in page
    assert "how to appeal" in page


# --- API --------------------------------------------------------------------------------


def test_the_api_answers_a_correction_with_a_new_file_and_keeps_the_old_revision(setting):
    _request_correction(setting)
    application = setting["application"]
    api = _api(setting["resident"])
    base = f"/api/v1/applications/{application.pk}/"

    body = api.get(base).json()
    assert body["status"] == "correction_requested"
    assert body["next_step"]["code"] == "answer_correction"
    assert body["correction"]["fields"] == ["shop_name", "floor_plan"]
    assert body["due_date"] is not None

    refused = api.put(f"{base}steps/applicant/", {"answers": {"full_name": "x"}}, format="json")
    assert refused.status_code == 404
    saved = api.put(
        f"{base}steps/business/", {"answers": {"shop_name": "株式会社山田屋"}}, format="json"
    )
    assert saved.json() == {"valid": True, "errors": {}}

    wrong_field = api.post(f"{base}attachments/", {"field": "full_name", "file": _pdf()})
    assert wrong_field.status_code in (404, 409)
    uploaded = api.post(f"{base}attachments/", {"field": "floor_plan", "file": _pdf()})
    assert uploaded.status_code == 201, uploaded.json()
    attachment = uploaded.json()
    assert attachment["field"] == "floor_plan" and len(attachment["sha256"]) == 64

    download = api.get(f"{base}attachments/{attachment['id']}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF

    no_declaration = api.post(f"{base}resubmit/", {"declaration": False}, format="json")
    assert no_declaration.status_code == 400
    sent = api.post(f"{base}resubmit/", {"declaration": True, "note": "直しました"}, format="json")
    assert sent.status_code == 200, sent.json()
    body = sent.json()
    assert body["status"] == "resubmitted"
    assert [revision["number"] for revision in body["revisions"]] == [1, 2]
    assert body["corrections"][0]["response"] == "直しました"
    assert body["corrections"][0]["revision"] == 2
    assert body["data"]["shop_name"] == "株式会社山田屋"
    assert "resubmit" in [event["kind"] for event in body["events"]]
    # Internal steps (claiming) and staff names are not in the resident's view.
    assert all(
        set(event) == {"kind", "kind_label", "from_status", "to_status", "message", "occurred_at"}
        for event in body["events"]
    )

    again = api.post(f"{base}resubmit/", {"declaration": True}, format="json")
    assert again.status_code == 200 and again.json()["revision"] == 2


def test_the_api_downloads_receipt_and_decision(setting, django_capture_on_commit_callbacks):
    application = setting["application"]
    from applications.documents import receipt_issue

    receipt_issue(application_id=application.pk)
    workflow_act(actor=setting["clerk"], application=application, action="claim")
    with django_capture_on_commit_callbacks(execute=True):
        workflow_act(actor=setting["clerk"], application=application, action="approve")
    api = _api(setting["resident"])

    body = api.get(f"/api/v1/applications/{application.pk}/").json()
    assert body["status"] == "result_issued"
    assert body["decision"] == "approve"
    assert [document["kind"] for document in body["documents"]] == ["receipt", "decision"]
    for document in body["documents"]:
        response = api.get(document["download"])
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_another_residents_files_and_documents_are_not_found(setting):
    application = setting["application"]
    from applications.documents import receipt_issue

    receipt = receipt_issue(application_id=application.pk)
    stranger = _api(UserFactory())
    base = f"/api/v1/applications/{application.pk}/"

    assert stranger.get(f"{base}documents/{receipt.pk}/").status_code == 404
    assert (
        stranger.post(f"{base}resubmit/", {"declaration": True}, format="json").status_code == 404
    )
    assert (
        stranger.post(f"{base}attachments/", {"field": "floor_plan", "file": _pdf()}).status_code
        == 404
    )
    assert stranger.get(f"{base}attachments/whatever/").status_code == 404
