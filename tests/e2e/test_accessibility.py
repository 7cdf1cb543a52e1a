"""Every kind of page checked with axe-core (shipped inside axe-playwright-python)
in Debian's Chromium: no violation of the WCAG 2.0, 2.1 and 2.2 A and AA rules, in
Japanese and in English, as each kind of user sees them."""

from __future__ import annotations

import io
import struct
from datetime import date, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect
from stdnum.jp import cn as corporate_number

from accounts.identity.services import identity_verification_record
from accounts.models import User
from applications.models import Application
from applications.services import application_check, application_save_step, attachment_add
from procedures.demo import demo_documents
from procedures.form_engine import engine
from procedures.models import Procedure
from tests.e2e.conftest import navigate, new_page
from tests.factories import MY_NUMBER, current_code

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


def _page(browser, language: str, **options):
    return new_page(
        browser,
        locale="ja-JP" if language == "ja" else "en-US",
        extra_http_headers={"Accept-Language": language},
        **options,
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
        "/procedures/?q=住民票",  # a referral to another office, no results
        "/procedures/?q=nursary",  # nothing found: similar names and categories
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


# --- Every form step of every demo procedure ----------------------------------------------

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
# The 8-byte signature and an IHDR chunk of 1 x 1 pixel: what the upload check reads.
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + struct.pack(">II", 1, 1) + b"\x08\x02\x00\x00\x00"
CORPORATE_NUMBER = corporate_number.calc_check_digit("700110005901") + "700110005901"


def _shown_by_conditions(form: dict) -> dict[str, set[str]]:
    """For each field, the values other fields' conditions wait for: choosing them
    shows those fields, so the pages are checked with as much on them as can be."""
    wanted: dict[str, set[str]] = {}

    def walk(condition):
        if not isinstance(condition, dict):
            return
        for part in condition.get("all", []) + condition.get("any", []):
            walk(part)
        if condition.get("op") in ("equals", "contains", "one_of"):
            values = (
                condition["value"] if isinstance(condition["value"], list) else [condition["value"]]
            )
            wanted.setdefault(condition["field"], set()).update(values[:1])

    for _step, spec in engine.iter_fields(form):
        walk(spec.get("condition"))
        walk(spec.get("required_if"))
    return wanted


def _valid_answer(spec: dict, wanted: dict[str, set[str]]):
    """An answer the field accepts (files are uploaded separately)."""
    kind = spec["type"]
    if kind in ("text", "textarea"):
        return "A123-4567" if spec.get("pattern") else "テスト"
    if kind in ("integer", "decimal"):
        number = 5
        if spec.get("min") is not None:
            number = max(number, int(float(spec["min"])))
        if spec.get("max") is not None:
            number = min(number, int(float(spec["max"])))
        return str(number)
    if kind == "date":
        if spec.get("min_date") == "today":
            return (timezone.localdate() + timedelta(days=40)).isoformat()
        return "1985-04-12"
    if kind == "email":
        return "resident@example.jp"
    if kind == "phone":
        return "03-1234-5678"
    if kind == "postal_code":
        return "100-0005"
    if kind == "address":
        return {"postal_code": "100-0005", "street": "1-1", "building": ""}
    if kind == "name":
        return {"family": "山田", "given": "太郎", "family_kana": "ヤマダ", "given_kana": "タロウ"}
    if kind == "consent":
        return True
    if kind == "my_number":
        return MY_NUMBER
    if kind == "corporate_number":
        return CORPORATE_NUMBER
    values = [choice["value"] for choice in spec.get("choices", [])]
    preferred = [value for value in values if value in wanted.get(spec["key"], set())]
    if kind == "choice":
        return (preferred or values)[0]
    if kind == "multi_choice":
        chosen = preferred or values[:1]
        return chosen[: spec.get("max_choices") or len(chosen)]
    if kind == "group":
        item = {sub["key"]: _valid_answer(sub, wanted) for sub in spec["fields"]}
        return [item, dict(item)]
    raise AssertionError(f"no test answer for a {kind} field")


def _fill_validly(resident, application) -> None:
    """The resident's answers to every step, saved and uploaded through the same
    services as the step pages, then checked complete by the form engine."""
    form = application.version.form
    wanted = _shown_by_conditions(form)
    for step in engine.steps(form):
        answers = {
            spec["key"]: _valid_answer(spec, wanted)
            for spec in step["fields"]
            if spec["type"] != "file"
        }
        application_save_step(
            actor=resident, application=application, step_key=step["key"], answers=answers
        )
        for spec in step["fields"]:
            if spec["type"] == "file":
                accepted = spec.get("accept") or ["pdf"]
                name, content = ("plan.pdf", PDF) if "pdf" in accepted else ("photo.png", PNG)
                attachment_add(
                    actor=resident,
                    application=application,
                    field_key=spec["key"],
                    upload=SimpleUploadedFile(name, content),
                )
    result = application_check(Application.objects.get(pk=application.pk))
    assert result.is_valid, f"{application.procedure.code}: {result.errors}"


@pytest.mark.parametrize(
    "language, viewport",
    [("ja", {"width": 1200, "height": 900}), ("en", {"width": 390, "height": 844})],
    ids=["ja-desktop", "en-phone"],
)
def test_every_step_of_every_demo_form_has_no_wcag_violation(
    live_server, browser, settings, language, viewport
):
    """As a resident filling each demo procedure: every step sent empty (its error
    summary and field errors), every step filled in, the check-answers page with the
    declaration to sign, and that page when the declaration was not ticked. One
    language on a desktop and the other on a phone: both layouts for the price of two
    runs (each passed in the other layout too when this was written). On the phone no
    page may be wider than the screen (a name's parts once made a step 592px wide)."""
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
    page = _page(browser, language, viewport=viewport)
    _log_in(page, url, "resident@example.jp")
    audit = page.context.new_page()  # axe runs here; `page` posts the forms

    def reflows(target) -> None:
        # WCAG 1.4.10, which axe does not check: nothing wider than the phone.
        width = target.evaluate("document.documentElement.scrollWidth")
        if width > viewport["width"]:
            problems.append(f"{target.url}: {width}px wide on a {viewport['width']}px screen")

    def check(path: str) -> None:
        audit.goto(f"{url}{path}")
        problems.extend(_violations(audit))
        reflows(audit)

    send = "main form button[type=submit]:not([name])"
    pages = 0
    for document in demo_documents():
        code = document["procedure"]["code"]
        page.goto(f"{url}/procedures/{code}/")
        navigate(
            page, lambda: page.click("form[action*='/applications/start/'] button[type=submit]")
        )
        application = Application.objects.filter(applicant=resident, procedure__code=code).get()
        steps = [step["key"] for step in engine.steps(application.version.form)]
        for step in steps:
            page.goto(f"{url}/applications/{application.pk}/steps/{step}/")
            # What the identity prefilled goes too: every answer of the step is missing.
            page.locator("main form[data-form-engine]").evaluate(
                "form => form.querySelectorAll('input[type=text], textarea')"
                ".forEach(input => { input.value = ''; })"
            )
            navigate(page, page.locator(send).first.click)
            expect(page.locator(".error-summary")).to_have_count(1)
            problems.extend(_violations(page))
            reflows(page)
            pages += 1
        _fill_validly(resident, application)
        for step in steps:
            check(f"/applications/{application.pk}/steps/{step}/")
        check(f"/applications/{application.pk}/check/")
        page.goto(f"{url}/applications/{application.pk}/check/")
        expect(page.locator("#declaration")).to_have_count(1)
        navigate(page, page.locator(send).first.click)  # the declaration left unticked
        expect(page.locator("#declaration-error")).to_have_count(1)
        problems.extend(_violations(page))
        reflows(page)
        pages += 2 * len(steps) + 2
    page.context.close()

    assert pages >= 60
    assert problems == [], "\n".join(problems)
