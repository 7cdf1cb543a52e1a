"""Attachments and issued documents in an S3-compatible object store (issue 20,
part 3): moto's server, started as its own process (tests/edges/s3.py), with the
platform configured as an operator would (FILE_STORAGE=s3 and the S3_* variables,
read by config/settings/base.py's file_storage).

Upload, receipt, decision, download and verification all go through the store;
files are streamed through the views that check permission, never handed out as
the store's URLs."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from applications.casework.services import workflow_act
from applications.documents import documents_pending_issue
from applications.models import DocumentKind
from applications.services import application_save_step, application_start, attachment_add
from config.settings.base import file_storage
from core.storage import StorageUnavailable
from tests.applications.casework_setup import PDF, City, file_application
from tests.edges.s3 import ObjectStore

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def store():
    running = ObjectStore()
    running.start()
    yield running
    running.stop()


@pytest.fixture
def s3(store, settings, monkeypatch):
    for name, value in store.environment().items():
        monkeypatch.setenv(name, value)
    settings.STORAGES = {**settings.STORAGES, "default": file_storage("s3")}
    assert type(default_storage._setup() or default_storage._wrapped).__name__ == "S3Storage"
    return store


def _download(client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, response
    assert "Location" not in response  # streamed by the view, not a redirect to the store
    return b"".join(response.streaming_content)


def test_files_live_in_the_object_store_and_come_back_through_the_views(
    client, s3, django_capture_on_commit_callbacks
):
    city = City()
    with django_capture_on_commit_callbacks(execute=True):
        application = file_application(city.permit, files=(("plan.pdf", PDF),))
    attachment = application.attachments.get()
    receipt = application.documents.get(kind=DocumentKind.RECEIPT)
    keys = s3.object_keys()
    assert f"media/{attachment.file.name}" in keys
    assert f"media/{receipt.pdf.name}" in keys
    assert s3.read(f"media/{attachment.file.name}") == PDF
    assert hashlib.sha256(s3.read(f"media/{receipt.pdf.name}")).hexdigest() == receipt.pdf_digest

    client.force_login(application.applicant)
    got = _download(
        client, reverse("applications:attachment", args=[application.pk, attachment.public_id])
    )
    assert got == PDF
    pdf = _download(client, reverse("applications:document", args=[application.pk, receipt.pk]))
    assert hashlib.sha256(pdf).hexdigest() == receipt.pdf_digest

    # The decision notice too, issued by the task after the approval.
    workflow_act(actor=city.clerk, application=application, action="claim")
    workflow_act(actor=city.clerk, application=application, action="recommend_approval")
    with django_capture_on_commit_callbacks(execute=True):
        workflow_act(actor=city.approver, application=application, action="approve")
    decision = application.documents.get(kind=DocumentKind.DECISION)
    assert f"media/{decision.pdf.name}" in s3.object_keys()
    notice = _download(client, reverse("applications:document", args=[application.pk, decision.pk]))
    assert hashlib.sha256(notice).hexdigest() == decision.pdf_digest

    # The notice as downloaded from the store is the one the platform signed.
    checked = client.post(
        reverse("verify"),
        {"document": SimpleUploadedFile("notice.pdf", notice, "application/pdf")},
    )
    assert checked.status_code == 200
    assert "Authentic: this document was issued by us" in checked.content.decode()


def test_another_resident_cannot_reach_a_file_in_the_store(
    client, s3, django_capture_on_commit_callbacks
):
    city = City()
    with django_capture_on_commit_callbacks(execute=True):
        application = file_application(city.permit, files=(("plan.pdf", PDF),))
    attachment = application.attachments.get()
    other = file_application(city.permit).applicant
    client.force_login(other)
    url = reverse("applications:attachment", args=[application.pk, attachment.public_id])
    assert client.get(url).status_code == 404


def test_an_upload_while_the_store_is_down_is_refused_clearly_and_the_draft_kept(
    client, s3, django_capture_on_commit_callbacks
):
    city = City()
    applicant = file_application(city.permit).applicant
    draft = application_start(actor=applicant, procedure=city.permit)
    application_save_step(
        actor=applicant, application=draft, step_key="details", answers={"purpose": "開業のため"}
    )
    s3.stop()
    try:
        with pytest.raises(StorageUnavailable) as refused:
            attachment_add(
                actor=applicant,
                application=draft,
                field_key="plan",
                upload=SimpleUploadedFile("plan.pdf", PDF),
            )
        assert refused.value.http_status == 503
        assert list(refused.value.details) == ["plan"]
        draft.refresh_from_db()
        assert draft.answers["purpose"] == "開業のため"
        assert draft.attachments.count() == 0
        # The API answers the documented error body, not a 500.
        api = APIClient()
        api.force_authenticate(applicant)
        response = api.post(
            f"/api/v1/applications/{draft.pk}/attachments/",
            {"field": "plan", "file": SimpleUploadedFile("plan.pdf", PDF)},
            format="multipart",
            HTTP_ACCEPT_LANGUAGE="en",
        )
        assert response.status_code == 503, response.content
        assert response.json()["error"]["code"] == "storage_unavailable"
    finally:
        s3.start()


def test_a_download_while_the_store_is_down_says_so(client, s3, django_capture_on_commit_callbacks):
    city = City()
    with django_capture_on_commit_callbacks(execute=True):
        application = file_application(city.permit, files=(("plan.pdf", PDF),))
    attachment = application.attachments.get()
    client.force_login(application.applicant)
    s3.stop()
    try:
        response = client.get(
            reverse("applications:attachment", args=[application.pk, attachment.public_id])
        )
        assert response.status_code == 503
        assert "Nothing you entered is lost" in response.content.decode()
    finally:
        s3.start()


def test_a_receipt_whose_store_is_down_follows_once_it_is_back(
    s3, django_capture_on_commit_callbacks
):
    city = City()
    s3.stop()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            application = file_application(city.permit)  # the filing itself is saved
        assert application.status == "submitted"
        assert not application.documents.filter(kind=DocumentKind.RECEIPT).exists()
    finally:
        s3.start()
    # The periodic sweep (every five minutes) issues what the failed task left.
    assert documents_pending_issue(now=timezone.now() + timedelta(minutes=10))["receipts"] == 1
    receipt = application.documents.get(kind=DocumentKind.RECEIPT)
    assert f"media/{receipt.pdf.name}" in s3.object_keys()


def test_the_purge_removes_a_cases_files_from_the_store_and_it_still_verifies(
    client, s3, django_capture_on_commit_callbacks
):
    from applications.models import Application
    from applications.purge import retention_purge_run

    city = City()
    with django_capture_on_commit_callbacks(execute=True):
        application = file_application(city.permit, files=(("plan.pdf", PDF),))
    workflow_act(actor=city.clerk, application=application, action="claim")
    workflow_act(actor=city.clerk, application=application, action="recommend_approval")
    with django_capture_on_commit_callbacks(execute=True):
        workflow_act(actor=city.approver, application=application, action="approve")
    names = [application.attachments.get().file.name] + [
        document.pdf.name for document in application.documents.all()
    ]
    decision = application.documents.get(kind=DocumentKind.DECISION)
    notice = s3.read(f"media/{decision.pdf.name}")
    assert all(f"media/{name}" in s3.object_keys() for name in names)
    Application.objects.filter(pk=application.pk).update(
        kept_until=timezone.localdate() - timedelta(days=1)
    )

    assert retention_purge_run().purged == 1

    assert not any(f"media/{name}" in s3.object_keys() for name in names)
    checked = client.post(
        reverse("verify"),
        {"document": SimpleUploadedFile("notice.pdf", notice, "application/pdf")},
    )
    page = checked.content.decode()
    assert "真正な書類です" in page
    assert "保存期間の満了により" in page
