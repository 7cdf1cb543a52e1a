"""Fixtures for every test; the browser ones serve tests/e2e and the payments journey."""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import translation

from tests.factories import OrganizationFactory


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language (Japanese), whatever the one
    before it activated; a test that wants English says so."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _isolate_caches():
    # Throttle counters live in the cache; each test starts with none.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def government(db):
    return OrganizationFactory(code="city", name_ja="市", name_en="City")


@pytest.fixture
def org_tree(government):
    """city > (health > food-safety), (taxation > certificates)."""
    health = OrganizationFactory(code="health", parent=government, kind="bureau")
    food = OrganizationFactory(code="food-safety", parent=health)
    taxation = OrganizationFactory(code="taxation", parent=government, kind="bureau")
    certificates = OrganizationFactory(code="certificates", parent=taxation)
    return {
        "city": government,
        "health": health,
        "food": food,
        "taxation": taxation,
        "certificates": certificates,
    }


ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser)."""
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(executable):
        pytest.fail("Chromium is missing: bin/test installs the Debian package 'chromium'.")
    # Playwright's sync API runs its own event loop; Django must allow ORM calls
    # from the test thread while it is running.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable,
                args=[
                    "--no-sandbox",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-gpu",
                ],
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def screenshot():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    return take
