"""Paying fees in Debian's Chromium against a live server, as issue 7's "done when"
asks: a resident pays by card on the sandbox page and downloads the 領収書; another
chooses bank transfer, gets payment numbers, and the application moves on when the
bank's webhook arrives; a third lets the deadline pass and sees the payment expire;
an approver refunds part of a fee."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from applications.models import Application, ApplicationStatus, DocumentKind
from payments.models import Payment, PaymentStatus
from payments.services.expiry import payments_expire_overdue
from tests.e2e.conftest import navigate, new_page, wait_for
from tests.factories import PASSWORD, confirmed_totp, current_code
from tests.payments.conftest import file_application, resident

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _page(browser, url, user, *, staff=False):
    page = new_page(browser, locale="ja-JP")
    page.goto(f"{url}/accounts/login/")
    page.fill("#id_email", user.email)
    page.fill("#id_password", PASSWORD)
    navigate(page, lambda: page.click("main button[type=submit]"))
    if staff:
        token = page.locator("main form input[name=token]")
        token.fill(current_code(confirmed_totp(user)))
        navigate(page, lambda: token.press("Enter"))
        expect(token).to_have_count(0)
    return page


def _pdf_text(path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: bin/test installs the Debian package poppler-utils.")
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout


def _choose(page, url, application, method):
    page.goto(f"{url}/payments/applications/{application.pk}/")
    page.check(f"#method-{method}")
    navigate(page, lambda: page.click("main form.form button[type=submit]"))


def test_fees_are_paid_refunded_and_expire_in_a_real_browser(
    office,
    live_server,
    settings,
    browser,
    screenshot,
    tmp_path,
):
    settings.SITE_URL = live_server.url
    url = live_server.url

    # 1. Card, on the sandbox's hosted page; the 領収書 among the documents.
    card = file_application(office.permit, resident("カード 太郎", "ja"))
    page = _page(browser, url, card.applicant)
    _choose(page, url, card, "card")
    expect(page).to_have_url(re.compile("/sandbox-pay/checkout/"))
    screenshot(page, "payments-01-sandbox-card")
    navigate(page, lambda: page.click("button[value=succeed]"), url=re.compile("/payments/"))
    expect(page.locator("body")).to_contain_text(re.compile("支払済み|Paid"))
    screenshot(page, "payments-02-paid")
    wait_for(
        lambda: Application.objects.filter(pk=card.pk, status=ApplicationStatus.SUBMITTED).exists(),
        what="the card payment to submit the application",
    )
    receipt = card.documents.get(kind=DocumentKind.PAYMENT_RECEIPT)
    page.goto(f"{url}/applications/{card.pk}/")
    with page.expect_download() as download:
        page.click(f"a[href='/applications/{card.pk}/documents/{receipt.pk}/']")
    path = tmp_path / "receipt.pdf"
    download.value.save_as(path)
    text = _pdf_text(path)
    assert "領収書" in text and "¥1,000-" in text and receipt.verification_code in text

    # 2. Bank transfer: payment numbers now, the money (and its webhook) later.
    bank = file_application(office.permit, resident("振込 花子", "ja"))
    page = _page(browser, url, bank.applicant)
    _choose(page, url, bank, "bank_transfer")
    payment = Payment.objects.get(subject_id=bank.pk)
    number = next(
        item["value"] for item in payment.instructions["numbers"] if item["key"] == "payment_number"
    )
    assert " ".join(number[i : i + 4] for i in range(0, 16, 4)) in page.content()
    screenshot(page, "payments-03-payment-numbers")
    navigate(page, lambda: page.click(".sandbox-note a"))
    navigate(page, lambda: page.click("button[value=pay]"))
    wait_for(
        lambda: Application.objects.filter(pk=bank.pk, status=ApplicationStatus.SUBMITTED).exists(),
        what="the bank's webhook to submit the application",
    )
    screenshot(page, "payments-04-bank-paid")

    # 3. Convenience store, unpaid past the deadline: beat expires it.
    store = file_application(office.permit, resident("期限 次郎", "ja"))
    page = _page(browser, url, store.applicant)
    _choose(page, url, store, "convenience_store")
    payment = Payment.objects.get(subject_id=store.pk)
    assert payments_expire_overdue(now=payment.expires_at + timedelta(minutes=1))["expired"] == 1
    page.reload()
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.EXPIRED
    expect(page.locator(".payment-status--expired")).to_have_count(1)
    screenshot(page, "payments-05-expired")

    # 4. The approver refunds part of the card payment, with a reason.
    paid = Payment.objects.get(subject_id=card.pk)
    page = _page(browser, url, office.approver, staff=True)
    page.goto(f"{url}/payments/{paid.public_id}/refund/")
    page.fill("#refund-amount", "300")
    page.fill("#refund-reason", "手数料の区分誤りによる差額の返金")
    navigate(
        page,
        lambda: page.click("main form.form button[type=submit]"),
        url=re.compile(f"/casework/{card.pk}/$"),
    )
    wait_for(
        lambda: Payment.objects.filter(
            pk=paid.pk, status=PaymentStatus.PARTIALLY_REFUNDED, refunded_amount=300
        ).exists(),
        what="the partial refund",
    )
    screenshot(page, "payments-06-refunded")
