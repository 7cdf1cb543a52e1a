"""Text and numbers no store can hold are refused at the edge with a translated 400
(core/input_limits.py), never a 500, and nothing of them is stored (issue 18)."""

from __future__ import annotations

import json
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from applications import services as application_services
from applications.models import Application
from core import input_limits
from payments.models import Payment, PaymentStatus
from payments.services.start import payment_start
from tests.payments.conftest import (
    Office,
    deliver,
    file_application,
    resident,
    resident_client,
    signed_headers,
    staff_client,
    webhook_body,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def office(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return Office()


def _code(response) -> str:
    return response.json()["error"]["code"]


def test_a_payment_for_an_integer_beyond_the_canonical_range_is_a_400(office):
    """The idempotency digest's RFC 8785 form refuses integers past 2**53."""
    payer = resident()
    client = resident_client(payer)
    for huge in (2**53, 10**20, -(2**53)):
        response = client.post(
            "/api/v1/payments/",
            data={"application": huge, "method": "card"},
            content_type="application/json",
            headers={"Idempotency-Key": f"k-{huge}", "Accept-Language": "en"},
        )
        assert response.status_code == 400, response.content
        assert _code(response) == "invalid_input"
        assert "application" in response.json()["error"]["details"]
    assert not Payment.objects.exists()


def test_the_largest_exact_integer_still_reaches_the_service(office):
    payer = resident()
    response = resident_client(payer).post(
        "/api/v1/payments/",
        data={"application": 2**53 - 1, "method": "card"},
        content_type="application/json",
        headers={"Idempotency-Key": "k-largest"},
    )
    assert response.status_code == 404  # no such application: the rule, not the range


@pytest.mark.parametrize(
    "text", ["a\u0000b", "\ud800", "ok\udfffok"], ids=["nul", "lone-high", "lone-low"]
)
def test_a_step_with_nul_or_a_lone_surrogate_is_a_400_and_keeps_the_draft(office, text):
    applicant = resident(language="ja")
    draft = application_services.application_start(actor=applicant, procedure=office.permit)
    client = resident_client(applicant)
    url = f"/api/v1/applications/{draft.pk}/steps/details/"
    assert client.put(url, {"answers": {"purpose": "開業"}}, content_type="application/json")
    # json.dumps writes the lone surrogate as the escape \ud800, as a client would.
    body = json.dumps({"answers": {"purpose": text}})
    response = client.put(
        url, data=body, content_type="application/json", headers={"Accept-Language": "ja"}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert "保存していません" in error["message"]
    assert list(error["details"]) == ["answers.purpose"]
    assert Application.objects.get(pk=draft.pk).answers["purpose"] == "開業"


def test_a_key_with_nul_and_an_infinite_number_are_refused_too(office):
    applicant = resident()
    draft = application_services.application_start(actor=applicant, procedure=office.permit)
    client = resident_client(applicant)
    url = f"/api/v1/applications/{draft.pk}/steps/details/"
    for body in ('{"answers": {"pur\\u0000pose": "x"}}', '{"answers": {"purpose": 1e400}}'):
        response = client.put(url, data=body, content_type="application/json")
        assert response.status_code == 400, body
        assert _code(response) == "invalid_input"


def test_a_multipart_api_body_with_nul_in_a_field_is_refused(office):
    applicant = resident()
    draft = application_services.application_start(actor=applicant, procedure=office.permit)
    client = resident_client(applicant)
    url = f"/api/v1/applications/{draft.pk}/attachments/"
    upload = SimpleUploadedFile("plan.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")
    response = client.post(url, {"field": "pl\x00an", "file": upload})
    assert response.status_code == 400, response.content
    assert _code(response) == "invalid_input"
    assert list(response.json()["error"]["details"]) == ["field"]
    assert not draft.attachments.exists()


def test_the_catalogue_search_page_with_nul_is_shown_again_with_the_reason(office):
    response = Client().get("/procedures/?q=%00&category=")
    assert response.status_code == 400
    page = response.content.decode()
    assert "受け付けられない文字が含まれていたため（q）" in page
    assert 'name="q"' in page  # the search form, shown again


def test_the_queue_page_and_the_queue_api_with_nul_are_400(office):
    client = staff_client(office.clerk)
    page = client.get("/casework/?q=%00")
    assert page.status_code == 400
    assert "queue" in page.content.decode().lower()
    api = client.get("/api/v1/queue/?q=%00")
    assert api.status_code == 400
    assert _code(api) == "invalid_input"
    assert list(api.json()["error"]["details"]) == ["q"]


def test_a_page_form_post_with_nul_saves_nothing_and_shows_the_form_again(office):
    applicant = resident(language="ja")
    draft = application_services.application_start(actor=applicant, procedure=office.permit)
    client = resident_client(applicant)
    url = f"/applications/{draft.pk}/steps/details/"
    response = client.post(url, {"purpose": "開\x00業"}, headers={"Accept-Language": "ja"})
    assert response.status_code == 400
    assert "保存していません" in response.content.decode()
    assert "<title>申請内容 — 営業許可" in response.content.decode()  # the step, shown again
    assert "purpose" not in Application.objects.get(pk=draft.pk).answers


def test_a_nul_in_the_address_is_a_400_page(office):
    response = Client().get("/procedures/abc%00def/")
    assert response.status_code in (400, 404)
    assert response.status_code != 500


def test_a_signed_webhook_with_an_absurd_timestamp_is_a_400(office):
    applicant = file_application(office.card_only).applicant
    application = Application.objects.get(applicant=applicant)
    payment, _ = payment_start(
        actor=applicant, subject_kind="application", subject_id=application.pk, method="card"
    )
    for created in (10**30, -1, 2**63):
        body = webhook_body(payment, created=created)
        response = deliver(Client(), "sandbox", body, signed_headers("sandbox", body))
        assert response.status_code == 400, created
        assert _code(response) == "payload_invalid"
    body = webhook_body(payment, extra={"status": "succeeded\u0000"})
    response = deliver(Client(), "sandbox", body, signed_headers("sandbox", body))
    assert response.status_code == 400
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.PENDING
    good = webhook_body(payment, created=int(time.time()))
    assert deliver(Client(), "sandbox", good, signed_headers("sandbox", good)).status_code == 200


def test_timestamps_outside_1970_to_9999_are_refused():
    assert input_limits.timestamp_from_epoch(0).year == 1970
    assert input_limits.timestamp_from_epoch(input_limits.MAX_TIMESTAMP).year == 9999
    for value in (input_limits.MAX_TIMESTAMP + 1, -1, 10**30, float("inf"), "x", None, True):
        with pytest.raises(ValueError):
            input_limits.timestamp_from_epoch(value)
