"""Every kind of page checked with axe-core (shipped inside axe-playwright-python)
in Debian's Chromium: no violation of the WCAG 2.0, 2.1 and 2.2 A and AA rules, in
Japanese and in English, as each kind of user sees them."""

from __future__ import annotations

import io
from datetime import date

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from accounts.identity.services import identity_verification_record
from accounts.models import User
from applications.models import Application
from procedures.models import Procedure
from tests.e2e.conftest import navigate, new_page
from tests.factories import current_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "Tokyo-demo-2026"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
AXE = Axe()


def _violations(page) -> list[str]:
    results = AXE.run(page, options={"runOnly": {"type": "tag", "values": WCAG}})
    return [
        f"{page.url}: {item['id']} ({item['impact']}): "
        + "; ".join(node["target"][0] for node in item["nodes"][:3])
        for item in results.response["violations"]
    ]


def _page(browser, language: str):
    return new_page(
        browser,
        locale="ja-JP" if language == "ja" else "en-US",
        extra_http_headers={"Accept-Language": language},
    )


def _log_in(page, url, email, *, staff=False):
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


@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_kind_of_page_has_no_wcag_violation(live_server, browser, settings, language):
    settings.SITE_URL = live_server.url
    call_command("seed_demo", stdout=io.StringIO())
    resident = User.objects.get(email="resident@example.jp")
    resident.preferred_language = language
    resident.save(update_fields=["preferred_language"])
    identity_verification_record(
        user=resident,
        issuer="a11y-test",
        subject="resident",
        full_name="山田 太郎",
        birth_date=date(1985, 4, 12),
    )
    url = live_server.url
    problems: list[str] = []
    page = _page(browser, language)
    context = page.context

    def check(path: str) -> None:
        # axe runs in a page of its own (same session): a page it was injected
        # into stops submitting its forms, and the journey needs them.
        audit = page.context.new_page()
        audit.goto(f"{url}{path}")
        problems.extend(_violations(audit))
        audit.close()

    # Anyone.
    for path in (
        "/",
        "/procedures/",
        "/procedures/?q=保育",
        "/procedures/nursery-school-admission/",
        "/accounts/login/",
        "/accounts/sign-up/",
        "/accounts/password-reset/",
        "/verify/",
        "/verify/?code=ABCD-EFGH-JKMN-PQRS",
        "/open-data/",
        "/no-such-page/",
    ):
        check(path)
    page.goto(f"{url}/accounts/login/")  # loaded again: axe ran in the last one
    page.fill("#id_email", "resident@example.jp")
    page.fill("#id_password", "wrong")
    navigate(page, lambda: page.click("main button[type=submit]"))
    problems.extend(_violations(page))  # the login error

    # A resident: a form step with errors, every step, the check page, the status page.
    _log_in(page, url, "resident@example.jp")
    check("/procedures/nursery-school-admission/")
    page.goto(f"{url}/procedures/nursery-school-admission/")
    navigate(page, lambda: page.click("form[action*='/applications/start/'] button[type=submit]"))
    page.fill("#f-email", "not-an-email")
    navigate(page, page.locator("main form button[type=submit]:not([name])").first.click)
    problems.extend(_violations(page))
    application = Application.objects.get(applicant=resident)
    for step in ("guardian", "child", "need", "consent"):
        check(f"/applications/{application.pk}/steps/{step}/")
    for path in (
        f"/applications/{application.pk}/check/",
        f"/applications/{application.pk}/",
        "/applications/",
        "/accounts/profile/",
        "/accounts/identity/",
        "/accounts/notifications/",
    ):
        check(path)
    context.close()

    # A demo family's filing, as the resident sees it after a correction request.
    filed = Application.objects.exclude(applicant=resident).filter(status="submitted").first()

    # The clerk: the queue (with a filter error) and the review page.
    page = _page(browser, language)
    context = page.context
    _log_in(page, url, "clerk@example.jp", staff=True)
    for path in (
        "/casework/",
        "/casework/?due_within=abc",
        f"/casework/{filed.pk}/",
    ):
        check(path)
    page.goto(f"{url}/casework/{filed.pk}/")
    navigate(page, lambda: page.click("#action-claim button[type=submit]"))
    # No fields and no message: the error summary (the browser's own check is off).
    page.locator("#comment-request_correction").evaluate("node => node.removeAttribute('required')")
    navigate(page, lambda: page.click("#action-request_correction button[type=submit]"))
    expect(page.locator(".error-summary")).to_have_count(1)
    problems.extend(_violations(page))
    context.close()

    # The department admin: the builder.
    page = _page(browser, language)
    context = page.context
    _log_in(page, url, "dept-admin@example.jp", staff=True)
    for path in (
        "/manage/procedures/",
        "/manage/procedures/food-business-permit/",
        "/manage/procedures/food-business-permit/fee/",
        "/manage/procedures/food-business-permit/workflow/",
    ):
        check(path)
    context.close()

    # The auditor: the dashboard and everything it leads to.
    page = _page(browser, language)
    context = page.context
    _log_in(page, url, "auditor@example.jp", staff=True)
    for path in (
        "/digitization/",
        "/digitization/gap/",
        "/digitization/inventory/",
        "/digitization/inventory/food-business-permit/",
        "/digitization/exemptions/",
        "/digitization/audit-log/",
        "/payments/reconciliation/",
    ):
        check(path)
    context.close()

    # A resident with a fee to pay: the payment page.
    payer = User.objects.get(email="resident@example.jp")
    fee_due = Application.objects.create(
        procedure=Procedure.objects.get(code="tax-certificate-request"),
        version=Procedure.objects.get(code="tax-certificate-request").versions.get(
            state="published"
        ),
        applicant=payer,
        status="payment_pending",
        reference="AAAA-BBBB-C",
        submitted_at=timezone.now(),
        fee_amount=800,
        revision=1,
    )
    page = _page(browser, language)
    context = page.context
    _log_in(page, url, "resident@example.jp")
    check(f"/payments/applications/{fee_due.pk}/")
    check(f"/applications/{fee_due.pk}/")
    context.close()

    assert problems == [], "\n".join(problems)
