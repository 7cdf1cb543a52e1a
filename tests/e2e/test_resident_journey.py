"""A resident's whole journey in a real browser, against a live server: find a
procedure, fill it over several steps, leave and resume, upload a file, submit,
download the receipt, verify it, and see a tampered copy rejected."""

import io

import pytest
from django.core.management import call_command

from applications.models import Application

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _submit_step(page):
    page.locator("main form button[type=submit]:not([name])").first.click()


def test_a_resident_files_online_end_to_end(live_server, browser, screenshot, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("seed_demo", stdout=io.StringIO())
    plan = tmp_path / "plan.pdf"
    plan.write_bytes(PDF)
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.set_default_timeout(20000)
    url = live_server.url

    page.goto(f"{url}/accounts/login/")
    page.fill("#id_email", "resident@example.jp")
    page.fill("#id_password", "Tokyo-demo-2026")
    page.click("main button[type=submit]")

    # Find: full-width search words still find the procedure.
    page.goto(f"{url}/procedures/?q=飲食店　営業")
    screenshot(page, "01-search")
    page.click("a[href='/procedures/food-business-permit/']")
    page.click("form[action*='/applications/start/'] button[type=submit]")

    # Step 1 with a mistake: the error is summarized and the typed answers stay.
    page.check("#f-applicant_kind-individual")
    page.fill("#f-business_name", "定食 花子")
    page.fill("#f-representative_name-family", "山田")
    page.fill("#f-representative_name-given", "花子")
    page.fill("#f-representative_name-family_kana", "やまだ")
    page.fill("#f-representative_name-given_kana", "はなこ")
    page.fill("#f-operator_address-postal_code", "1000001")
    page.fill("#f-operator_address-street", "1-1")
    page.fill("#f-phone", "03-1234-5678")
    page.fill("#f-email", "not-an-email")
    _submit_step(page)
    assert page.locator(".error-summary").count() == 1
    assert page.input_value("#f-business_name") == "定食 花子"
    screenshot(page, "02-step-error")

    # Leave, and resume from My applications.
    page.fill("#f-email", "hanako@example.jp")
    page.click("button[name=save_draft]")
    application = Application.objects.get(applicant__email="resident@example.jp")
    page.goto(f"{url}/applications/{application.pk}/")
    page.click(f"a[href='/applications/{application.pk}/steps/applicant/']")
    _submit_step(page)

    # Step 2 with an upload.
    page.fill("#f-facility_name", "定食 花子 新宿店")
    page.fill("#f-facility_address-postal_code", "1600022")
    page.fill("#f-facility_address-street", "3-1-1")
    page.check("#f-business_style-restaurant")
    page.fill("#f-seating_capacity", "24")
    page.check("#f-water_source-public_water")
    page.set_input_files("#f-floor_plan", str(plan))
    page.fill("#f-opening_date", "2027-04-01")
    _submit_step(page)

    # Step 3, then check the answers and submit with the declaration.
    page.fill("#f-supervisor_name-family", "山田")
    page.fill("#f-supervisor_name-given", "花子")
    page.fill("#f-supervisor_name-family_kana", "ヤマダ")
    page.fill("#f-supervisor_name-given_kana", "ハナコ")
    page.check("#f-supervisor_qualification-training_course")
    page.fill("#f-supervisor_certificate_number", "TKY-12345")
    page.check("#f-haccp_pledge")
    page.check("#f-disqualification_declaration")
    _submit_step(page)
    assert page.url.endswith(f"/applications/{application.pk}/check/")
    screenshot(page, "03-check-answers")
    page.check("#declaration")
    page.locator("main form button[type=submit]").last.click()

    application.refresh_from_db()
    assert application.status == "submitted"
    assert application.attachments.count() == 1
    page.reload()
    assert application.reference in page.content()
    screenshot(page, "04-submitted")

    # Download the receipt and verify it; a tampered copy is not authentic.
    document = application.documents.get(kind="receipt")
    with page.expect_download() as download:
        page.click(f"a[href='/applications/{application.pk}/documents/{document.pk}/']")
    receipt = tmp_path / "receipt.pdf"
    download.value.save_as(receipt)
    data = receipt.read_bytes()
    assert data.startswith(b"%PDF")

    page.goto(f"{url}/verify/?code={document.verification_code}")
    assert page.locator("main .notice--success").count() == 1
    screenshot(page, "05-verified")

    tampered = tmp_path / "tampered.pdf"
    middle = len(data) // 2
    tampered.write_bytes(data[:middle] + bytes([data[middle] ^ 1]) + data[middle + 1 :])
    page.goto(f"{url}/verify/")
    page.set_input_files("input[type=file]", str(tampered))
    page.locator("main form").last.locator("button[type=submit]").click()
    assert page.locator("main .notice--error").count() == 1
    screenshot(page, "06-tampered-rejected")
