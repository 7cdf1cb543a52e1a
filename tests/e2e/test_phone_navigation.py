"""On a 390x844 phone the navigation folds behind a menu button, so each page's
heading (and, where it is short enough, its main action) is on the first screen;
the button is a disclosure (aria-expanded, keyboard, Escape); without JavaScript
the links are simply shown; on a desktop nothing changes."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.e2e.conftest import navigate, new_page
from tests.factories import current_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "Tokyo-demo-2026"
PHONE = {"width": 390, "height": 844}

# (path, the page's main action or None where content comes first by design)
ANONYMOUS_PAGES = [
    ("/", "main .call-to-action a.button"),
    ("/procedures/", None),
    ("/procedures/nursery-school-admission/", None),
    ("/accounts/login/", "main form button[type=submit]"),
    ("/open-data/", None),
]
RESIDENT_PAGES = [
    ("/applications/", None),
    ("/accounts/notifications/", None),
    ("/accounts/profile/", None),
]
CLERK_PAGES = [("/casework/", None)]


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


def _within_first_screen(locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]


def _check_collapsed_page(page, url, path, action, problems):
    page.goto(f"{url}{path}")
    links = page.locator("#primary-nav-links")
    button = page.locator(".menu-button")
    expect(button).to_be_visible()
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(links).to_be_hidden()
    for what, selector in (("<h1>", "main h1"), ("main action", action)):
        if selector and not _within_first_screen(page.locator(selector).first):
            problems.append(f"{path}: the {what} is below the first screen")
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > PHONE["width"]:
        problems.append(f"{path}: {width}px wide")


@pytest.mark.parametrize("language", ["ja", "en"])
def test_on_a_phone_the_menu_folds_the_navigation_and_the_heading_shows_first(
    live_server, browser, screenshot, language
):
    call_command("seed_demo", stdout=io.StringIO())
    url = live_server.url
    problems: list[str] = []
    page = new_page(browser, viewport=PHONE, extra_http_headers={"Accept-Language": language})
    for path, action in ANONYMOUS_PAGES:
        _check_collapsed_page(page, url, path, action, problems)

    # The disclosure, by pointer and by keyboard, on the catalogue page.
    page.goto(f"{url}/procedures/")
    button = page.locator(".menu-button")
    links = page.locator("#primary-nav-links")
    expect(button).to_have_attribute("aria-controls", "primary-nav-links")
    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(links).to_be_visible()
    expect(
        links.get_by_role("link", name="手続き" if language == "ja" else "Procedures")
    ).to_be_visible()
    screenshot(page, f"phone-menu-open-{language}")
    button.click()
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(links).to_be_hidden()

    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Tab")  # the first link follows the button
    expect(links.locator("a").first).to_be_focused()
    page.keyboard.press("Escape")  # closes, and the focus goes back to the button
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(button).to_be_focused()
    # The focus ring shows (the site's :focus-visible outline, 3px).
    assert button.evaluate("node => getComputedStyle(node).outlineWidth") == "3px"
    page.keyboard.press("Space")
    expect(button).to_have_attribute("aria-expanded", "true")
    page.context.close()

    page = new_page(browser, viewport=PHONE, extra_http_headers={"Accept-Language": language})
    _log_in(page, url, "resident@example.jp")
    page.click(f".language-switch button[value={language}]")
    for path, action in RESIDENT_PAGES:
        _check_collapsed_page(page, url, path, action, problems)
    screenshot(page, f"phone-menu-closed-{language}")
    page.context.close()

    page = new_page(browser, viewport=PHONE, extra_http_headers={"Accept-Language": language})
    _log_in(page, url, "clerk@example.jp", staff=True)
    for path, action in CLERK_PAGES:
        _check_collapsed_page(page, url, path, action, problems)
    page.context.close()

    assert problems == [], "\n".join(problems)


def test_without_javascript_the_navigation_links_stay_on_the_phone_page(
    live_server, browser, screenshot
):
    call_command("seed_demo", stdout=io.StringIO())
    url = live_server.url
    page = new_page(browser, viewport=PHONE, java_script_enabled=False)
    _log_in(page, url, "resident@example.jp")
    page.goto(f"{url}/procedures/")
    expect(page.locator(".menu-button")).to_be_hidden()  # it would do nothing
    links = page.locator("#primary-nav-links a")
    expect(links).to_have_count(6)
    for index in range(6):
        expect(links.nth(index)).to_be_visible()
    assert _within_first_screen(page.locator("main h1"))
    screenshot(page, "phone-menu-without-javascript")
    navigate(page, links.filter(has_text="マイ申請").click, url=f"{url}/applications/")
    page.context.close()


def test_on_a_desktop_the_navigation_shows_without_a_menu_button(live_server, browser):
    page = new_page(browser)
    page.goto(f"{live_server.url}/procedures/")
    expect(page.locator(".menu-button")).to_be_hidden()
    expect(page.locator("#primary-nav-links")).to_be_visible()
    page.context.close()
