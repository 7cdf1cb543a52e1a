"""What the resident sees before signing and what is filed: a year reads 2025, not
2,025, on the check page, the application page, the clerk's case page and the
receipt PDF; the check page tells the fee and how it was reached (400円 × 2通 =
800円) before the resident signs, and the declaration says that payment comes next
(nothing about payment when there is no fee); the payment page and the receipts
show the same breakdown."""

import shutil
import subprocess
from html import unescape

import pytest
from django.test import Client

from accounts.models import Role
from applications.models import Application, ApplicationStatus, DocumentKind
from applications.selectors import application_fee
from tests.applications.casework_setup import City, staff, verified_login
from tests.factories import MY_NUMBER, PASSWORD, UserFactory, applicant_step, publish_procedure

pytestmark = pytest.mark.django_db


def definition(fee: dict) -> dict:
    return {
        "form": {
            "steps": [
                applicant_step(),
                {
                    "key": "certificate",
                    "title": {"ja": "証明書の内容", "en": "The certificate"},
                    "fields": [
                        {
                            "key": "fiscal_year",
                            "type": "integer",
                            "display": "year",
                            "label": {"ja": "年度（西暦）", "en": "Fiscal year"},
                            "required": True,
                            "min": 2000,
                            "max": 2100,
                        },
                        {
                            "key": "copies",
                            "type": "integer",
                            "label": {"ja": "必要な通数", "en": "Number of copies"},
                            "required": True,
                            "min": 1,
                            "max": 10,
                        },
                    ],
                },
            ]
        },
        "fee": fee,
        "workflow": {"approval": "single"},
        "delivery": {"methods": ["electronic"]},
        "contact": {"channels": ["email"]},
    }


PER_COPY = {
    "kind": "per_item",
    "item_field": "copies",
    "unit_amount": 400,
    "due": "before_review",
    "methods": ["card"],
}


def _publish(code: str, fee: dict, organization=None):
    return publish_procedure(
        code=code,
        definition=definition(fee),
        organization=organization,
        title_ja="都税証明書交付申請",
        title_en="Tax certificate request",
        category="tax",
    )


def _client(language: str = "ja") -> tuple[Client, object]:
    user = UserFactory(preferred_language=language)
    client = Client()
    client.post("/accounts/login/", {"email": user.email, "password": PASSWORD})
    return client, user


def _filled(client, code: str, copies: int = 2) -> Application:
    assert client.post(f"/applications/start/{code}/").status_code == 302
    application = Application.objects.latest("pk")
    base = f"/applications/{application.pk}/steps"
    client.post(f"{base}/applicant/", {"f.full_name": "山田 花子", "f.my_number": MY_NUMBER})
    client.post(f"{base}/certificate/", {"f.fiscal_year": "2025", "f.copies": str(copies)})
    return application


def _text(response) -> str:
    assert response.status_code == 200
    return unescape(response.content.decode())


DECLARATION_FORM = '<form method="post" class="form">'


def _fee_section(page: str) -> str:
    start = page.index('id="section-fee"')
    return page[start : page.index("</section>", start)]


def _check(client, application) -> str:
    return _text(client.get(f"/applications/{application.pk}/check/"))


def test_the_check_page_shows_a_year_without_a_thousands_separator():
    _publish("tax-cert", PER_COPY)
    client, _user = _client()
    page = _check(client, _filled(client, "tax-cert"))
    assert "<dt>年度（西暦）</dt>\n      <dd>2025</dd>" in page
    assert "2,025" not in page


@pytest.mark.parametrize(
    ("language", "amount", "line", "payment"),
    [
        (
            "ja",
            "<strong>800円</strong>",
            "400円 × 2通 = 800円",
            "申請を送信した後、手数料800円をオンラインで納付していただきます。",
        ),
        (
            "en",
            "<strong>800 yen</strong>",
            "400 yen × 2 copies = 800 yen",
            "After you submit, you go on to pay the fee of 800 yen online.",
        ),
    ],
)
def test_the_check_page_tells_the_fee_and_how_it_was_reached_before_signing(
    language, amount, line, payment
):
    _publish("tax-cert", PER_COPY)
    client, _user = _client(language)
    application = _filled(client, "tax-cert", copies=2)
    page = _check(client, application)
    fee_section = _fee_section(page)
    assert amount in fee_section
    assert f"<li>{line}</li>" in fee_section
    # The sentence is in the declaration, tied to its tick box, before the button.
    start = page.index(DECLARATION_FORM)
    declaration = page[start : page.index('type="submit"', start)]
    assert payment in declaration
    assert 'aria-describedby="declaration-payment"' in declaration
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DRAFT  # nothing signed yet


def test_a_fee_due_on_approval_says_it_is_paid_after_approval():
    _publish("tax-cert", {**PER_COPY, "due": "on_approval"})
    client, _user = _client("en")
    page = _check(client, _filled(client, "tax-cert", copies=3))
    declaration = page[page.index(DECLARATION_FORM) :]
    assert (
        "If the application is approved, you then pay the fee of 1,200 yen online." in declaration
    )


def test_a_procedure_without_a_fee_says_nothing_about_payment():
    _publish("free-cert", {"kind": "none"})
    client, _user = _client()
    page = _check(client, _filled(client, "free-cert"))
    assert 'id="section-fee"' not in page
    assert "declaration-payment" not in page
    assert "納付" not in page
    assert "手数料" not in page


def test_a_waived_fee_shows_no_payment_sentence_and_says_why():
    waived = {
        **PER_COPY,
        "waivers": [
            {
                "condition": {"field": "copies", "op": "equals", "value": 1},
                "label": {"ja": "初回の1通", "en": "First copy"},
            }
        ],
    }
    _publish("tax-cert", waived)
    client, _user = _client()
    page = _check(client, _filled(client, "tax-cert", copies=1))
    fee_section = _fee_section(page)
    assert "<strong>手数料なし</strong>" in fee_section
    assert "<li>減免（初回の1通）：−400円</li>" in fee_section
    assert "declaration-payment" not in page
    assert "納付" not in page


def _submitted(client, application, django_capture_on_commit_callbacks) -> Application:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/applications/{application.pk}/check/", {"declaration": "on"})
    assert response.status_code == 302
    application.refresh_from_db()
    return application


def _pdf_text(document, tmp_path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: install the Debian package poppler-utils.")
    path = tmp_path / "document.pdf"
    with document.pdf.open("rb") as stored:
        path.write_bytes(stored.read())
    return subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_the_receipt_pdf_shows_the_year_and_the_fee_as_the_check_page_did(
    settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    _publish("tax-cert", PER_COPY)
    client, _user = _client()
    application = _submitted(
        client, _filled(client, "tax-cert", copies=2), django_capture_on_commit_callbacks
    )
    assert application.fee_amount == 800
    receipt = application.documents.get(kind=DocumentKind.RECEIPT)
    text = _pdf_text(receipt, tmp_path)
    assert "2025" in text
    assert "2,025" not in text
    assert "400円 × 2通 = 800円" in text
    assert "400 yen × 2 copies = 800 yen" in text
    assert receipt.content["fee"]["ja"] == {"total": "800円", "lines": ["400円 × 2通 = 800円"]}


def test_the_application_page_and_the_payment_page_use_the_same_readings(
    settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    _publish("tax-cert", PER_COPY)
    client, _user = _client("en")
    application = _submitted(
        client, _filled(client, "tax-cert", copies=2), django_capture_on_commit_callbacks
    )
    detail = _text(client.get(f"/applications/{application.pk}/"))
    assert "<dt>Fiscal year</dt><dd>2025</dd>" in detail
    assert "<li>400 yen × 2 copies = 800 yen</li>" in detail
    payment = _text(client.get(f"/payments/applications/{application.pk}/"))
    assert "<li>400 yen × 2 copies = 800 yen</li>" in payment


def test_a_filings_breakdown_is_explained_only_while_it_gives_the_recorded_fee(
    settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    _publish("tax-cert", PER_COPY)
    client, _user = _client()
    application = _submitted(
        client, _filled(client, "tax-cert", copies=2), django_capture_on_commit_callbacks
    )
    assert application_fee(application).total == 800
    application.fee_amount = 1000  # recorded otherwise: the lines would not add up to it
    assert application_fee(application) is None


def test_the_clerks_case_page_shows_the_year_without_a_separator(
    settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    city = City()
    _publish("tax-cert", {"kind": "none"}, organization=city.health)
    client, _user = _client()
    application = _submitted(
        client, _filled(client, "tax-cert"), django_capture_on_commit_callbacks
    )
    clerk = staff(city.health, Role.CLERK, "係員 五郎")
    staff_client = Client()
    verified_login(staff_client, clerk)
    page = _text(staff_client.get(f"/casework/{application.pk}/"))
    assert "<dt>Fiscal year</dt><dd>2025</dd>" in page
    assert "2,025" not in page


def test_the_payment_receipt_shows_the_breakdown_it_was_paid_for(
    settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    _publish("tax-cert", PER_COPY)
    client, _user = _client()
    application = _submitted(
        client, _filled(client, "tax-cert", copies=2), django_capture_on_commit_callbacks
    )
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(
            f"/payments/applications/{application.pk}/",
            {"method": "card", "idempotency_key": "key-1"},
        )
        client.post(started["Location"], {"choice": "succeed"})
    receipt = application.documents.get(kind=DocumentKind.PAYMENT_RECEIPT)
    text = _pdf_text(receipt, tmp_path)
    assert "¥800-" in text
    assert "400円 × 2通 = 800円" in text
    assert "400 yen × 2 copies = 800 yen" in text
