"""The whole journey in a real browser against a live server, with the demo data:
a resident verifies their identity with the sandbox digital ID, finds a
procedure, fills it over several steps (with a mistake), leaves and resumes,
uploads a file, submits, downloads and verifies the receipt and sees a tampered
copy rejected. A clerk claims it and asks for a correction; the resident corrects
it; the clerk recommends approval and is refused as approver (four eyes); the
approver approves, and the resident downloads the signed decision."""

import io
import re
import shutil
import subprocess

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from accounts.models import Organization, Role, User
from accounts.services import membership_grant
from applications.models import Application
from tests.e2e.conftest import navigate, new_page, wait_for_status
from tests.factories import current_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PASSWORD = "Tokyo-demo-2026"
PROCEDURE = "nursery-school-admission"


def _submit_step(page):
    navigate(page, page.locator("main form button[type=submit]:not([name])").first.click)


def _pdf_text(path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: bin/test installs the Debian package poppler-utils.")
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout


def _log_in(browser, url, email, *, staff=False):
    page = new_page(browser, locale="ja-JP")
    page.goto(f"{url}/accounts/login/")
    page.fill("#id_email", email)
    page.fill("#id_password", PASSWORD)
    navigate(page, lambda: page.click("main button[type=submit]"))
    if staff:
        device = TOTPDevice.objects.get(user__email=email, confirmed=True)
        token = page.locator("main form input[name=token]")
        token.fill(current_code(device))
        navigate(page, lambda: token.press("Enter"))
        expect(token).to_have_count(0)
    return page


@pytest.fixture
def provider(settings, live_server):
    """The sandbox digital ID and every link point at the live server."""
    settings.SITE_URL = live_server.url
    base = f"{live_server.url}/sandbox-idp"
    settings.OIDC_OP_ISSUER = base
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{base}/authorize/"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{base}/token/"
    settings.OIDC_OP_USER_ENDPOINT = f"{base}/userinfo/"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{base}/jwks/"
    return live_server.url


def test_a_resident_files_and_receives_a_decision_end_to_end(
    provider, browser, screenshot, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("seed_demo", stdout=io.StringIO())
    # The clerk may decide too in this department, so the refusal they meet as
    # approver is the four-eyes rule itself, not a missing role.
    membership_grant(
        user=User.objects.get(email="clerk@example.jp"),
        organization=Organization.objects.get(code="childcare"),
        role=Role.APPROVER,
    )
    certificate = tmp_path / "employment.pdf"
    certificate.write_bytes(PDF)
    url = provider
    resident = _log_in(browser, url, "resident@example.jp")

    # Identity: the procedure needs a verified identity; the sandbox digital ID vouches.
    resident.goto(f"{url}/procedures/?q=保育　入所")
    screenshot(resident, "01-search")
    navigate(resident, lambda: resident.click(f"a[href='/procedures/{PROCEDURE}/']"))
    navigate(
        resident,
        lambda: resident.click("form[action*='/accounts/identity/start/'] button[type=submit]"),
        url=re.compile("/sandbox-idp/authorize/"),
    )
    screenshot(resident, "02-sandbox-digital-id")
    navigate(
        resident,
        lambda: resident.click("button[name=decision][value=approve]"),
        url=re.compile(f"/procedures/{PROCEDURE}/$"),
    )
    navigate(
        resident,
        lambda: resident.click("form[action*='/applications/start/'] button[type=submit]"),
    )

    # Step 1: the verified name is filled in; a mistake is summarized, nothing typed is lost.
    assert resident.input_value("#f-guardian_name-family") == "山田"
    assert resident.input_value("#f-guardian_name-given") == "太郎"
    resident.fill("#f-guardian_name-family_kana", "やまだ")
    resident.fill("#f-guardian_name-given_kana", "たろう")
    resident.fill("#f-guardian_my_number", "123456789018")
    resident.fill("#f-guardian_address-postal_code", "1000005")
    resident.fill("#f-guardian_address-street", "1-1")
    resident.fill("#f-phone", "090-1234-5678")
    resident.fill("#f-email", "not-an-email")
    _submit_step(resident)
    expect(resident.locator(".error-summary")).to_have_count(1)
    expect(resident.locator("#f-guardian_address-street")).to_have_value("1-1")
    screenshot(resident, "03-step-error")

    # Leave, and resume from the application's page.
    resident.fill("#f-email", "taro@example.jp")
    navigate(resident, lambda: resident.click("button[name=save_draft]"))
    application = Application.objects.get(applicant__email="resident@example.jp")
    resident.goto(f"{url}/applications/{application.pk}/")
    navigate(
        resident,
        lambda: resident.click(f"a[href='/applications/{application.pk}/steps/guardian/']"),
    )
    _submit_step(resident)

    resident.fill("#f-child_name-family", "山田")
    resident.fill("#f-child_name-given", "陽向")
    resident.fill("#f-child_name-family_kana", "ヤマダ")
    resident.fill("#f-child_name-given_kana", "ヒナタ")
    resident.fill("#f-child_birth_date", "2024-05-10")
    resident.fill("#f-desired_start_month", "2027-04-01")
    resident.check("#f-preferred_facilities-sakura_nursery")
    _submit_step(resident)

    resident.check("#f-employment_status-employed")
    resident.fill("#f-monthly_working_hours", "40")
    resident.set_input_files("#f-employment_certificate", str(certificate))
    resident.check("#f-siblings_at_nursery-no")
    _submit_step(resident)
    resident.check("#f-information_consent")
    _submit_step(resident)
    expect(resident).to_have_url(re.compile(f"/applications/{application.pk}/check/$"))
    screenshot(resident, "04-check-answers")
    resident.check("#declaration")
    # Wait for the submission's redirect: reading the row or reloading before it
    # lands raced the request (and a reload in mid-navigation lost the page).
    navigate(resident, resident.locator("main form button[type=submit]").last.click)

    wait_for_status(application, "submitted")
    assert application.current_attachments.count() == 1
    assert application.due_date is not None
    resident.reload()
    expect(resident.locator("body")).to_contain_text(application.reference)
    screenshot(resident, "05-submitted")

    # The receipt: Japanese text, the verification code; verified, and a tampered copy refused.
    receipt_doc = application.documents.get(kind="receipt")
    with resident.expect_download() as download:
        resident.click(f"a[href='/applications/{application.pk}/documents/{receipt_doc.pk}/']")
    receipt = tmp_path / "receipt.pdf"
    download.value.save_as(receipt)
    text = _pdf_text(receipt)
    assert "受付票" in text and receipt_doc.verification_code in text
    resident.goto(f"{url}/verify/?code={receipt_doc.verification_code}")
    expect(resident.locator("main .notice--success")).to_have_count(1)
    data = receipt.read_bytes()
    tampered = tmp_path / "tampered.pdf"
    middle = len(data) // 2
    tampered.write_bytes(data[:middle] + bytes([data[middle] ^ 1]) + data[middle + 1 :])
    resident.goto(f"{url}/verify/")
    resident.set_input_files("input[type=file]", str(tampered))
    navigate(resident, resident.locator("main form").last.locator("button[type=submit]").click)
    expect(resident.locator("main .notice--error")).to_have_count(1)
    screenshot(resident, "06-tampered-rejected")

    # The clerk finds it in the queue, takes it up and asks for a correction.
    clerk = _log_in(browser, url, "clerk@example.jp", staff=True)
    clerk.goto(f"{url}/casework/?q={application.reference}")
    screenshot(clerk, "07-queue")
    navigate(clerk, lambda: clerk.click(f"a[href='/casework/{application.pk}/']"))
    navigate(clerk, lambda: clerk.click("#action-claim button[type=submit]"))
    clerk.check("#fields-request_correction-monthly_working_hours")
    clerk.fill(
        "#comment-request_correction",
        "月の就労時間が要件（64時間以上）を下回っています。就労証明書のとおり記入してください。",
    )
    navigate(clerk, lambda: clerk.click("#action-request_correction button[type=submit]"))
    wait_for_status(application, "correction_requested")
    screenshot(clerk, "08-correction-requested")

    # The resident reads the message, corrects only what was asked, and sends it.
    resident.goto(f"{url}/applications/{application.pk}/")
    expect(resident.locator("body")).to_contain_text("就労時間が要件")
    screenshot(resident, "09-correction-to-answer")
    navigate(
        resident,
        lambda: resident.click(f"main a[href='/applications/{application.pk}/steps/need/']"),
    )
    expect(resident.locator("#f-guardian_my_number")).to_have_count(0)
    resident.fill("#f-monthly_working_hours", "120")
    _submit_step(resident)
    resident.check("#declaration")
    resident.fill("#note", "就労証明書のとおり120時間に訂正しました。")
    navigate(resident, resident.locator("main form button[type=submit]").last.click)
    wait_for_status(application, "resubmitted", revision=2)

    # The clerk recommends approval, and may not approve it themselves.
    clerk.goto(f"{url}/casework/{application.pk}/")
    expect(clerk.locator("body")).to_contain_text("120")
    navigate(clerk, lambda: clerk.click("#action-claim button[type=submit]"))
    navigate(clerk, lambda: clerk.click("#action-recommend_approval button[type=submit]"))
    expect(clerk.locator("#action-approve")).to_have_count(0)
    expect(clerk.locator(".case-blocked")).to_contain_text("二者確認")
    screenshot(clerk, "10-four-eyes")

    # The approver approves; the decision document is issued.
    approver = _log_in(browser, url, "approver@example.jp", staff=True)
    approver.goto(f"{url}/casework/{application.pk}/")
    navigate(approver, lambda: approver.click("#action-approve button[type=submit]"))
    wait_for_status(application, "result_issued")
    screenshot(approver, "11-approved")

    # The resident downloads the signed decision and checks it.
    decision_doc = application.documents.get(kind="decision")
    resident.goto(f"{url}/applications/{application.pk}/")
    screenshot(resident, "12-result")
    with resident.expect_download() as download:
        resident.click(f"a[href='/applications/{application.pk}/documents/{decision_doc.pk}/']")
    decision = tmp_path / "decision.pdf"
    download.value.save_as(decision)
    text = _pdf_text(decision)
    assert "保育所等利用調整結果通知書" in text
    assert decision_doc.verification_code in text
    resident.goto(f"{url}/verify/?code={decision_doc.verification_code}")
    expect(resident.locator("main .notice--success")).to_have_count(1)
    assert reverse("verify") in resident.url
