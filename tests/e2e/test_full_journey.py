"""Everyone's part in one real-browser journey, in Japanese and in English: a
department admin builds and publishes a procedure in the builder; a resident
files it, pays the fee on the sandbox card page and downloads the receipt and the
領収書; a clerk requests a correction, the resident fixes it, the clerk recommends,
an approver approves, and the resident downloads the decision; the auditor sees the
count move. The resident's part is done with the keyboard only."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from accounts.models import Organization, User
from applications.models import Application
from tests.e2e.conftest import navigate, new_page, wait_for_status
from tests.factories import current_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "Tokyo-demo-2026"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
CODE = "dog-registration"


def _log_in(browser, url, email, language, *, staff=False):
    User.objects.filter(email=email).update(preferred_language=language)
    page = new_page(
        browser,
        locale="ja-JP" if language == "ja" else "en-US",
        extra_http_headers={"Accept-Language": language},
    )
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


def _submit(page):
    navigate(page, page.locator("main form button[type=submit]").last.click)


def _keyboard_submit(page, selector):
    """Reach the control with Tab and press Enter or Space, as without a mouse."""
    target = page.locator(selector)
    for _ in range(80):
        if target.evaluate("node => node === document.activeElement"):
            break
        page.keyboard.press("Tab")
    else:
        pytest.fail(f"{selector} cannot be reached with the Tab key")
    navigate(page, lambda: page.keyboard.press("Enter"))


def _build_and_publish(page, url):
    page.goto(f"{url}/manage/procedures/new/")
    page.fill("#id_code", CODE)
    page.fill("#id_title_ja", "犬の登録")
    page.fill("#id_title_en", "Dog registration")
    food_safety = Organization.objects.get(code="food-safety")
    page.select_option("#id_organization", value=str(food_safety.pk))
    page.select_option("#id_category", value="health")
    page.check("#id_filer_0")
    page.check("#id_identity_level_0")
    page.fill("#id_processing_days", "5")
    page.fill("#id_annual_volume", "1200")
    _submit(page)
    expect(page).to_have_url(re.compile(f"/manage/procedures/{CODE}/$"))

    for kind, key, label_ja, label_en in (
        ("text", "dog_name", "犬の名前", "Dog's name"),
        ("file", "rabies_certificate", "狂犬病予防注射済証", "Rabies vaccination certificate"),
    ):
        page.goto(f"{url}/manage/procedures/{CODE}/steps/application/add-field/")
        page.check(f"input[name=type][value={kind}]")
        _submit(page)
        page.fill("#id_label_ja", label_ja)
        page.fill("#id_label_en", label_en)
        page.fill("#id_key", key)
        page.check("#id_required")
        _submit(page)
        expect(page.locator(".error-summary")).to_have_count(0)

    page.goto(f"{url}/manage/procedures/{CODE}/fee/")
    page.check("#id_kind_1")
    page.fill("#id_amount", "3000")
    page.check("#id_due_0")
    page.check("input[name=methods][value=card]")
    _submit(page)
    expect(page.locator(".error-summary")).to_have_count(0)

    page.goto(f"{url}/manage/procedures/{CODE}/publish/")
    _submit(page)


def _filed_online(page, language: str) -> int:
    """The cases filed online this fiscal year, as the dashboard's usage rate states."""
    pattern = (
        r"([\d,]+) of [\d,]+ cases filed online"
        if language == "en"
        else r"[\d,]+件のうち([\d,]+)件がオンライン"
    )
    match = re.search(pattern, page.locator("main").inner_text())
    assert match, "no usage figure on the dashboard"
    return int(match.group(1).replace(",", ""))


@pytest.mark.parametrize("language", ["ja", "en"])
def test_everyone_plays_their_part_in_one_journey(
    live_server, browser, screenshot, settings, tmp_path, language
):
    settings.SITE_URL = live_server.url
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("seed_demo", stdout=io.StringIO())
    url = live_server.url
    certificate = tmp_path / "certificate.pdf"
    certificate.write_bytes(PDF)

    # The department admin builds and publishes the procedure.
    admin = _log_in(browser, url, "dept-admin@example.jp", language, staff=True)
    _build_and_publish(admin, url)
    screenshot(admin, f"journey-{language}-01-published")

    # The auditor sees the new procedure in the inventory, with no case yet.
    auditor = _log_in(browser, url, "auditor@example.jp", language, staff=True)
    auditor.goto(f"{url}/digitization/inventory/{CODE}/")
    expect(auditor.locator("table[aria-labelledby=months-title] tbody td.num")).to_have_count(0)
    auditor.goto(f"{url}/digitization/")  # the dashboard's figures are kept from here on
    online_before = _filed_online(auditor, language)

    # The resident, with the keyboard only: finds it, starts, fills, uploads, submits.
    resident = _log_in(browser, url, "resident@example.jp", language)
    resident.goto(f"{url}/procedures/{CODE}/")
    _keyboard_submit(resident, "form[action*='/applications/start/'] button[type=submit]")
    resident.keyboard.press("Tab")
    resident.locator("#f-dog_name").focus()
    resident.keyboard.type("ポチ")
    resident.set_input_files("#f-rabies_certificate", str(certificate))
    _keyboard_submit(resident, "main form button[type=submit]:not([name])")
    application = Application.objects.get(
        applicant__email="resident@example.jp", procedure__code=CODE
    )
    expect(resident).to_have_url(re.compile(f"/applications/{application.pk}/check/$"))
    resident.locator("#declaration").focus()
    resident.keyboard.press("Space")
    _keyboard_submit(resident, "main form button[type=submit]")
    wait_for_status(application, "payment_pending")
    screenshot(resident, f"journey-{language}-02-submitted")

    # Pays the fee on the sandbox card page.
    resident.goto(f"{url}/payments/applications/{application.pk}/")
    resident.locator("#method-card").focus()
    resident.keyboard.press("Space")
    _keyboard_submit(resident, "main form.form button[type=submit]")
    expect(resident).to_have_url(re.compile("/sandbox-pay/"))
    _keyboard_submit(resident, "button[value=succeed]")
    wait_for_status(application, "submitted")
    kinds = set(application.documents.values_list("kind", flat=True))
    assert kinds == {"receipt", "payment_receipt"}
    resident.goto(f"{url}/applications/{application.pk}/")
    screenshot(resident, f"journey-{language}-03-paid")

    # The auditor sees the count move, on the dashboard at once and in the inventory:
    # one case filed online this month.
    auditor.goto(f"{url}/digitization/")
    assert _filed_online(auditor, language) == online_before + 1
    auditor.goto(f"{url}/digitization/inventory/{CODE}/")
    month = auditor.locator("table[aria-labelledby=months-title] tbody tr").first
    expect(month.locator("td.num").first).to_have_text("1")
    screenshot(auditor, f"journey-{language}-03b-auditor-counts")

    # The clerk asks for a correction; the resident fixes it.
    clerk = _log_in(browser, url, "clerk@example.jp", language, staff=True)
    clerk.goto(f"{url}/casework/?q={application.reference}")
    navigate(clerk, lambda: clerk.click(f"a[href='/casework/{application.pk}/']"))
    _submit_form(clerk, "#action-claim")
    clerk.check("#fields-request_correction-dog_name")
    clerk.fill("#comment-request_correction", "登録する犬の名前を鑑札の表記どおりにしてください。")
    _submit_form(clerk, "#action-request_correction")
    screenshot(clerk, f"journey-{language}-04-correction-requested")

    resident.goto(f"{url}/applications/{application.pk}/")
    _keyboard_submit(resident, f"main a[href='/applications/{application.pk}/steps/application/']")
    resident.locator("#f-dog_name").fill("ぽち")
    _keyboard_submit(resident, "main form button[type=submit]:not([name])")
    resident.locator("#declaration").focus()
    resident.keyboard.press("Space")
    _keyboard_submit(resident, "main form button[type=submit]")
    wait_for_status(application, "resubmitted", revision=2)

    # The clerk recommends; the approver approves; the decision reaches the resident.
    clerk.goto(f"{url}/casework/{application.pk}/")
    _submit_form(clerk, "#action-claim")
    _submit_form(clerk, "#action-recommend_approval")
    approver = _log_in(browser, url, "approver@example.jp", language, staff=True)
    approver.goto(f"{url}/casework/{application.pk}/")
    _submit_form(approver, "#action-approve")
    wait_for_status(application, "result_issued")
    screenshot(approver, f"journey-{language}-05-approved")

    resident.goto(f"{url}/applications/{application.pk}/")
    decision = application.documents.get(kind="decision")
    with resident.expect_download() as download:
        resident.click(f"a[href='/applications/{application.pk}/documents/{decision.pk}/']")
    assert download.value.suggested_filename.endswith("-decision.pdf")
    screenshot(resident, f"journey-{language}-06-decision")


def _submit_form(page, form_selector):
    navigate(page, lambda: page.click(f"{form_selector} button[type=submit]"))
