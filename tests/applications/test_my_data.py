"""「自分のデータ」 (issue 21): a signed-in person downloads everything the platform
holds about them as one ZIP archive: my-data.json (docs/my-data.md), their
attachments and the documents issued to them. Only their own data, the
Individual Number never in clear, each download audited with counts only, at
most ten an hour, the same archive from the page and the API, and a fixed number
of queries however many applications there are."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import subprocess
import tracemalloc
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.identity.services import identity_verification_record, subject_digest
from accounts.models import Role
from accounts.services import notify
from applications import my_data
from applications.casework.services import workflow_act
from applications.documents import receipt_issue
from applications.models import Application, Attachment
from applications.services import application_save_step, application_start, application_submit
from audit.models import AuditEvent
from payments.models import Payment, PaymentStatus
from tests.applications.casework_setup import (
    PDF,
    City,
    file_application,
    png_bytes,
    resident,
    verified_login,
)
from tests.factories import MY_NUMBER, PASSWORD, applicant_step, publish_procedure
from tests.payments.conftest import definition as fee_definition

pytestmark = pytest.mark.django_db

SUBJECT = "oidc-subject-4711-never-exported"
PURPOSE = "飲食店の開業のため"
OTHER_PURPOSE = "他人だけが知る目的"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "my-data.md"


@pytest.fixture
def city(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return City()


def _identity(user):
    return identity_verification_record(
        user=user,
        issuer="https://idp.example.jp",
        subject=SUBJECT,
        full_name="申請 太郎",
        name_kana="シンセイ タロウ",
        birth_date=date(1990, 4, 1),
        sex="male",
        address="東京都千代田区1-1",
    )


def _pay(application, django_capture_on_commit_callbacks) -> Payment:
    """The fee paid by card on the sandbox gateway, as the resident does."""
    client = Client()
    client.force_login(application.applicant)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/payments/applications/{application.pk}/",
            {"method": "card", "idempotency_key": "my-data-fee"},
        )
        client.post(response["Location"], {"choice": "succeed"})
    payment = Payment.objects.get(subject_id=application.pk)
    assert payment.status == PaymentStatus.SUCCEEDED
    return payment


@pytest.fixture
def world(city, django_capture_on_commit_callbacks):
    """A resident with a verified identity, a proxy filing with an attachment and
    its receipt, a paid fee, a notification; and another resident's filing."""
    owner = resident("申請 太郎")
    _identity(owner)
    application = file_application(
        city.permit,
        owner,
        purpose=PURPOSE,
        on_behalf_of_name="申請 花子",
        on_behalf_of_relationship="母",
        files=(("plan.pdf", PDF), ("site.png", png_bytes())),
    )
    receipt = receipt_issue(application_id=application.pk)
    fee_procedure = publish_procedure(
        code="shop-permit",
        definition=fee_definition(amount=1000, methods=["card"]),
        organization=city.health,
        title_ja="営業許可",
        title_en="Shop permit",
    )
    fee_filing = file_application(fee_procedure, owner)
    payment = _pay(fee_filing, django_capture_on_commit_callbacks)
    notify(
        user=owner,
        subject="お知らせの件名",
        body="お知らせの本文です。",
        link="/applications/",
        email_task=False,
    )
    other = resident("他人 花子")
    others = file_application(
        city.permit, other, purpose=OTHER_PURPOSE, files=(("secret-plan.pdf", PDF + b"x"),)
    )
    receipt_issue(application_id=others.pk)
    return {
        "city": city,
        "owner": owner,
        "application": application,
        "receipt": receipt,
        "fee_filing": fee_filing,
        "payment": payment,
        "other": other,
        "others": others,
    }


def _login(user) -> Client:
    client = Client()
    assert (
        client.post("/accounts/login/", {"email": user.email, "password": PASSWORD}).status_code
        == 302
    )
    return client


def _download(client: Client):
    response = client.post("/applications/my-data/")
    assert response.status_code == 200, response.content[:500]
    return response


def _archive(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def _document(archive: zipfile.ZipFile) -> dict:
    return json.loads(archive.read("my-data.json"))


def _everything(archive: zipfile.ZipFile, raw: bytes, tmp_path) -> list[bytes]:
    """The archive's bytes, each member decompressed, and the text of its PDFs."""
    blobs = [raw]
    for name in archive.namelist():
        data = archive.read(name)
        blobs.append(data)
        blobs.append(name.encode())
        if name.endswith(".pdf") and data.startswith(b"%PDF") and len(data) > 200:
            if shutil.which("pdftotext") is None:
                pytest.fail("pdftotext is missing: install the Debian package poppler-utils.")
            path = tmp_path / "member.pdf"
            path.write_bytes(data)
            text = subprocess.run(
                ["pdftotext", str(path), "-"], capture_output=True, check=True
            ).stdout
            assert text.strip(), name  # the PDF's text was read
            blobs.append(text)
    return blobs


# --- What the archive holds ------------------------------------------------------------


def test_the_archive_holds_the_account_identity_filing_payment_and_notifications(world):
    owner, application, receipt = world["owner"], world["application"], world["receipt"]
    response = _download(_login(owner))
    assert response["Content-Type"] == "application/zip"
    today = timezone.localdate().strftime("%Y%m%d")
    assert response["Content-Disposition"] == (
        f'attachment; filename="cityproc-my-data-{today}.zip"'
    )
    assert response["Cache-Control"] == "private, no-store"
    data = _document(_archive(response))

    assert data["format"] == "cityproc.my-data"
    assert data["format_version"] == 1
    account = data["account"]
    assert account["email"] == owner.email
    assert account["display_name"] == "申請 太郎"
    assert account["language"] == "en"
    assert account["created_at"] and "email_verified_at" in account
    assert account["memberships"] == []

    (identity,) = data["identity_verifications"]
    assert identity == {
        "issuer": "https://idp.example.jp",
        "subject_digest": subject_digest(issuer="https://idp.example.jp", subject=SUBJECT),
        "full_name": "申請 太郎",
        "name_kana": "シンセイ タロウ",
        "birth_date": "1990-04-01",
        "sex": "male",
        "address": "東京都千代田区1-1",
        "verified_at": identity["verified_at"],
    }

    filed, fee_filed = data["applications"]
    assert filed["reference"] == application.reference
    assert filed["procedure"] == {
        "code": "health-permit",
        "title_ja": "保健許可",
        "title_en": "Health permit",
    }
    assert filed["version"] == 1
    assert filed["status"] == "submitted"
    assert filed["submitted_at"] and filed["created_at"]
    assert filed["on_behalf_of"] == {"name": "申請 花子", "relationship": "母"}
    masked = "********" + MY_NUMBER[-4:]
    assert filed["answers_as_entered"]["my_number"] == masked
    assert filed["answers_as_submitted"]["my_number"] == masked
    assert filed["answers_as_submitted"]["purpose"] == PURPOSE
    assert {"key": "purpose", "type": "text", "label": {"ja": "使用目的", "en": "Purpose"}} in (
        filed["fields"]
    )
    (revision,) = filed["revisions"]
    assert revision["number"] == 1
    assert revision["digest"] == application.submission_digest
    assert revision["signature"] == application.signature
    assert revision["answers"]["my_number"] == masked
    assert sorted(item["name"] for item in revision["attachments"]) == ["plan.pdf", "site.png"]
    kinds = [event["kind"] for event in filed["timeline"]]
    assert "submitted" in kinds and "receipt_issued" in kinds
    assert filed["correction_requests"] == []
    plan = next(item for item in filed["attachments"] if item["name"] == "plan.pdf")
    assert plan["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert plan["size"] == len(PDF)
    assert plan["file"] == f"attachments/{application.reference}/plan.pdf"
    (document,) = filed["documents"]
    assert document["kind"] == "receipt"
    assert document["verification_code"] == receipt.verification_code
    assert document["pdf_sha256"] == receipt.pdf_digest
    assert document["file"] == (
        f"documents/{application.reference}/receipt-{receipt.verification_code}.pdf"
    )

    assert fee_filed["reference"] == world["fee_filing"].reference
    (payment,) = data["payments"]
    assert payment["id"] == world["payment"].public_id
    assert payment["application"] == world["fee_filing"].reference
    assert (payment["amount"], payment["method"], payment["status"]) == (1000, "card", "succeeded")
    assert payment["paid_at"] and payment["refunds"] == []
    assert not {"redirect_url", "idempotency_key", "request_digest"} & set(payment)

    subjects = [item["subject"] for item in data["notifications"]]
    assert "お知らせの件名" in subjects
    notice = next(item for item in data["notifications"] if item["subject"] == "お知らせの件名")
    assert notice["body"] == "お知らせの本文です。" and notice["sent_at"]


def test_the_individual_number_and_the_provider_subject_are_never_in_clear(world, tmp_path):
    owner = world["owner"]
    # A draft whose Individual Number sits in a repeating group, as typed.
    grouped = {
        "form": {
            "steps": [
                applicant_step(),
                {
                    "key": "household",
                    "title": {"ja": "世帯", "en": "Household"},
                    "fields": [
                        {
                            "key": "members",
                            "type": "group",
                            "label": {"ja": "世帯員", "en": "Members"},
                            "fields": [
                                {
                                    "key": "member_name",
                                    "type": "text",
                                    "label": {"ja": "氏名", "en": "Name"},
                                },
                                {
                                    "key": "member_number",
                                    "type": "my_number",
                                    "label": {"ja": "個人番号", "en": "My Number"},
                                },
                            ],
                        }
                    ],
                },
            ]
        },
        "fee": {"kind": "none"},
        "workflow": {"approval": "single"},
        "delivery": {"methods": ["electronic"]},
        "contact": {"channels": ["email"]},
    }
    procedure = publish_procedure(
        code="household", definition=grouped, organization=world["city"].health
    )
    draft = application_start(actor=owner, procedure=procedure)
    application_save_step(
        actor=owner,
        application=draft,
        step_key="applicant",
        answers={"full_name": "申請 太郎", "my_number": MY_NUMBER},
    )
    application_save_step(
        actor=owner,
        application=draft,
        step_key="household",
        answers={"members": [{"member_name": "申請 一郎", "member_number": MY_NUMBER}]},
    )
    response = _download(_login(owner))
    raw = b"".join(response.streaming_content)
    archive = zipfile.ZipFile(io.BytesIO(raw))
    data = _document(archive)
    entered = next(item for item in data["applications"] if item["id"] == draft.pk)
    masked = "********" + MY_NUMBER[-4:]
    assert entered["answers_as_entered"]["members"] == [
        {"member_name": "申請 一郎", "member_number": masked}
    ]

    blobs = _everything(archive, raw, tmp_path)
    for secret in (MY_NUMBER, SUBJECT):
        assert not [blob[:60] for blob in blobs if secret.encode() in blob], secret
    # Nor written with spaces or hyphens between its groups of four digits.
    spaced = re.compile(rb"1234[\s-]?5678[\s-]?9018")
    assert not [blob[:60] for blob in blobs if spaced.search(blob)]


def test_another_residents_application_is_never_in_the_archive(world, tmp_path):
    response = _download(_login(world["owner"]))
    raw = b"".join(response.streaming_content)
    archive = zipfile.ZipFile(io.BytesIO(raw))
    data = _document(archive)
    others = world["others"]
    assert others.reference not in {item["reference"] for item in data["applications"]}
    assert not [name for name in archive.namelist() if others.reference in name]
    blobs = _everything(archive, raw, tmp_path)
    for trace in (
        others.reference,
        OTHER_PURPOSE,
        "secret-plan.pdf",
        "他人 花子",
        world["other"].email,
    ):
        assert not [blob[:60] for blob in blobs if trace.encode() in blob], trace


def test_the_attachments_and_issued_pdfs_are_in_the_archive_with_their_bytes(world):
    application, receipt = world["application"], world["receipt"]
    archive = _archive(_download(_login(world["owner"])))
    reference = application.reference

    def sha256(member: str) -> str:
        return hashlib.sha256(archive.read(member)).hexdigest()

    assert sha256(f"attachments/{reference}/plan.pdf") == hashlib.sha256(PDF).hexdigest()
    assert sha256(f"attachments/{reference}/site.png") == hashlib.sha256(png_bytes()).hexdigest()
    member = f"documents/{reference}/receipt-{receipt.verification_code}.pdf"
    with receipt.pdf.open("rb") as stored:
        assert sha256(member) == hashlib.sha256(stored.read()).hexdigest() == receipt.pdf_digest
    # Every file the JSON names is in the archive, and nothing else is.
    data = _document(archive)
    named = {
        item["file"]
        for filed in data["applications"]
        for item in filed["attachments"] + filed["documents"]
    }
    assert set(archive.namelist()) == named | {"my-data.json"}
    assert archive.testzip() is None


def test_a_file_the_store_cannot_give_back_fails_the_download_and_nothing_is_recorded(world):
    attachment = world["application"].attachments.first()
    default_storage.delete(attachment.file.name)
    client = _login(world["owner"])
    response = client.post("/applications/my-data/", headers={"Accept-Language": "en"})
    assert response.status_code == 503
    assert "Files cannot be stored or read at the moment" in response.content.decode()
    assert not AuditEvent.objects.filter(action="applications.my_data_downloaded").exists()


def test_memory_does_not_grow_with_the_files(city):
    """A 24 MiB file: the archive moves to a temporary file past 8 MiB and the file
    is copied in chunks, so the peak of memory stays far below the file's size."""
    owner = resident()
    application = file_application(city.permit, owner)
    size = 24 * 1024 * 1024
    big = bytes(range(256)) * (size // 256)
    digest = hashlib.sha256(big).hexdigest()
    Attachment.objects.create(
        application=application,
        field_key="plan",
        original_name="big.pdf",
        file=ContentFile(big, name="big.pdf"),
        content_type="application/pdf",
        size=size,
        sha256=digest,
        scan_result="skipped",
        uploaded_by=owner,
    )
    del big
    tracemalloc.start()
    try:
        archive = my_data.my_data_archive(actor=owner)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 14 * 1024 * 1024, peak
    assert archive.file._rolled  # on disk, not in memory
    hashed = hashlib.sha256()
    written = zipfile.ZipFile(archive.file)
    with written.open(f"attachments/{application.reference}/big.pdf") as member:
        for chunk in iter(lambda: member.read(1024 * 1024), b""):
            hashed.update(chunk)
    assert hashed.hexdigest() == digest
    archive.file.close()


# --- Who may download what -------------------------------------------------------------


def test_anonymous_people_are_sent_to_log_in_and_the_api_answers_401(world):
    for method in ("get", "post"):
        response = getattr(Client(), method)("/applications/my-data/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    response = APIClient().get("/api/v1/me/data/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert not AuditEvent.objects.filter(action="applications.my_data_downloaded").exists()


def test_staff_get_their_account_and_memberships_but_never_the_cases_they_work_on(world, tmp_path):
    city, application = world["city"], world["application"]
    workflow_act(actor=city.clerk, application=application, action="claim")
    client = Client()
    verified_login(client, city.clerk)
    response = _download(client)
    raw = b"".join(response.streaming_content)
    archive = zipfile.ZipFile(io.BytesIO(raw))
    data = _document(archive)
    (membership,) = data["account"]["memberships"]
    assert membership["organization"]["code"] == "health"
    assert membership["role"] == Role.CLERK
    assert data["applications"] == [] and data["payments"] == []
    assert archive.namelist() == ["my-data.json"]
    blobs = _everything(archive, raw, tmp_path)
    for trace in (application.reference, PURPOSE, "plan.pdf", "申請 太郎", world["owner"].email):
        assert not [blob[:60] for blob in blobs if trace.encode() in blob], trace


# --- Audit, limit, queries, API ---------------------------------------------------------


def test_each_download_is_audited_with_counts_only(world):
    owner = world["owner"]
    client = _login(owner)
    _download(client)
    _download(client)
    events = list(AuditEvent.objects.filter(action="applications.my_data_downloaded"))
    assert len(events) == 2
    event = events[0]
    assert event.actor_id == owner.pk
    assert (event.target_type, event.target_id) == ("accounts.user", str(owner.pk))
    assert event.data == {
        "counts": {
            "memberships": 0,
            "identity_verifications": 1,
            "applications": 2,
            "attachments": 2,
            "documents": event.data["counts"]["documents"],
            "payments": 1,
            "notifications": event.data["counts"]["notifications"],
            "files": event.data["counts"]["files"],
        }
    }
    counts = event.data["counts"]
    assert counts["documents"] >= 1 and counts["notifications"] >= 1
    assert counts["files"] == counts["attachments"] + counts["documents"]
    logged = json.dumps(event.data, ensure_ascii=False)
    for personal in (owner.email, "申請", world["application"].reference, MY_NUMBER[-4:]):
        assert personal not in logged


def test_downloads_over_the_hourly_limit_are_refused_with_a_translated_429(world):
    owner = world["owner"]
    for _ in range(my_data.DOWNLOADS_PER_HOUR):
        my_data.my_data_archive(actor=owner).file.close()
    client = _login(owner)

    english = client.post("/applications/my-data/", headers={"Accept-Language": "en"})
    assert english.status_code == 429
    assert int(english["Retry-After"]) > 3000
    text = english.content.decode()
    assert "You have downloaded your data 10 times in the last hour" in text
    assert 'role="alert"' in text

    owner.preferred_language = "ja"
    owner.save(update_fields=["preferred_language"])
    japanese = _login(owner).post("/applications/my-data/", headers={"Accept-Language": "ja"})
    assert japanese.status_code == 429
    assert "1時間に10回" in japanese.content.decode()

    _instance, token = AuthToken.objects.create(user=owner)
    api = APIClient(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    refused = api.get("/api/v1/me/data/")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert refused["Retry-After"].isdigit()
    recorded = AuditEvent.objects.filter(action="applications.my_data_downloaded").count()
    assert recorded == my_data.DOWNLOADS_PER_HOUR

    # An hour after the downloads, the next one is allowed again (the log refuses
    # updates, so the check's clock moves instead).
    my_data._check_limit(owner, timezone.now() + timedelta(hours=1, seconds=1))


def _filings(city, applicant, count: int) -> None:
    for number in range(count):
        application = file_application(
            city.permit, applicant, purpose=f"目的 {number}", files=((f"plan-{number}.pdf", PDF),)
        )
        receipt_issue(application_id=application.pk)


def _queries_of_one_archive(user) -> int:
    with CaptureQueriesContext(connection) as queries:
        my_data.my_data_archive(actor=user).file.close()
    return len(queries)


def test_building_the_archive_takes_as_many_queries_for_ten_applications_as_for_three(city):
    few, many = resident("三件 太郎"), resident("十件 花子")
    _identity(few)
    _filings(city, few, 3)
    _filings(city, many, 10)
    for user in (few, many):
        notify(user=user, subject="件名", body="本文", email_task=False)
    queries = _queries_of_one_archive(few)
    assert queries == _queries_of_one_archive(many)
    assert queries <= 17  # 15, and the co-signatures asked for and given


def test_the_api_answers_the_same_archive_as_the_page(world):
    owner = world["owner"]
    page = _archive(_download(_login(owner)))
    _instance, token = AuthToken.objects.create(user=owner)
    api = APIClient(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    response = api.get("/api/v1/me/data/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="cityproc-my-data-')
    answered = _archive(response)
    assert answered.namelist() == page.namelist()
    for name in page.namelist():
        if name != "my-data.json":
            assert answered.read(name) == page.read(name), name
    from_page, from_api = _document(page), _document(answered)
    from_page.pop("generated_at"), from_api.pop("generated_at")
    assert from_api == from_page
    assert AuditEvent.objects.filter(action="applications.my_data_downloaded").count() == 2


def test_the_api_serves_a_client_that_accepts_only_zip(world):
    _instance, token = AuthToken.objects.create(user=world["owner"])
    api = APIClient(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT="application/zip")
    response = api.get("/api/v1/me/data/")
    assert response.status_code == 200
    assert _document(_archive(response))["format"] == "cityproc.my-data"
    # Errors are JSON all the same, and an unsupported method is 405 before anything.
    assert APIClient(HTTP_ACCEPT="application/zip").get("/api/v1/me/data/").status_code == 401
    refused = APIClient(HTTP_ACCEPT="application/zip").post("/api/v1/me/data/")
    assert refused.status_code == 405
    assert refused.json()["error"]["code"] == "method_not_allowed"


def test_payments_are_matched_to_applications_by_the_kind_payment_handlers_register():
    from applications.payment_handlers import KIND

    assert my_data.PAYMENT_SUBJECT_KIND == KIND


def test_the_schema_declares_the_endpoint_as_a_zip_download():
    schema = APIClient().get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/me/data/"]["get"]
    assert list(operation["responses"]["200"]["content"]) == ["application/zip"]
    assert {"401", "429", "503"} <= set(operation["responses"])


# --- The page and the format's documentation ---------------------------------------------


def test_the_page_explains_the_archive_and_the_profile_links_to_it(world):
    client = _login(world["owner"])
    page = client.get("/applications/my-data/", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "Download my data" in text
    assert 'method="post" action="/applications/my-data/"' in text
    assert "csrfmiddlewaretoken" in text
    assert "Individual Number is masked" in text
    profile = client.get("/accounts/profile/").content.decode()
    assert 'href="/applications/my-data/"' in profile
    # Looking at the page downloads nothing and records nothing.
    assert not AuditEvent.objects.filter(action="applications.my_data_downloaded").exists()


def test_the_download_refuses_a_post_without_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["owner"])
    assert client.post("/applications/my-data/").status_code == 403
    page = client.get("/applications/my-data/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    response = client.post("/applications/my-data/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"


def _keys(value, found: set[str]) -> set[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            found.add(key)
            _keys(item, found)
    elif isinstance(value, list):
        for item in value:
            _keys(item, found)
    return found


def test_every_member_of_the_json_is_documented(world):
    data = _document(_archive(_download(_login(world["owner"]))))
    # Answers and labels are keyed by the procedure's own field keys and languages.
    for filed in data["applications"]:
        for member in ("answers_as_entered", "answers_as_submitted", "fields"):
            filed[member] = None
        for revision in filed["revisions"]:
            revision["answers"] = None
    documented = DOCS.read_text(encoding="utf-8")
    missing = sorted(key for key in _keys(data, set()) if f"`{key}`" not in documented)
    assert missing == []


def test_a_submitted_draft_shows_both_what_was_typed_and_what_was_filed(city):
    owner = resident()
    draft = application_start(actor=owner, procedure=city.permit)
    application_save_step(
        actor=owner,
        application=draft,
        step_key="applicant",
        answers={"full_name": "山田 太郎", "my_number": MY_NUMBER},
    )
    application_save_step(
        actor=owner, application=draft, step_key="details", answers={"purpose": "就職"}
    )
    document, files = my_data.my_data_document(owner)
    (entry,) = document["applications"]
    assert entry["reference"] == "" and entry["answers_as_submitted"] == {}
    assert entry["answers_as_entered"]["purpose"] == "就職"
    submitted = application_submit(actor=owner, application=draft, declaration=True)
    document, files = my_data.my_data_document(owner)
    (entry,) = document["applications"]
    assert entry["reference"] == submitted.reference
    assert entry["answers_as_submitted"]["purpose"] == "就職"
    assert files == []
    assert Application.objects.filter(applicant=owner).count() == 1
