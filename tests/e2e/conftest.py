"""How every browser test waits (tests/e2e and tests/payments/test_browser.py).

The browser fixtures (browser, screenshot) live in tests/conftest.py, shared with
other browser journeys (one Playwright instance per test session). What is here is
the one way to wait: never a fixed sleep or a short timeout, always a condition
(a page loaded at the address expected, an element shown, a row in the database),
with one generous deadline for all of them. A slow or busy machine then waits
longer instead of failing, and a real failure still fails, only later.

pytest-django's live_server is a threaded WSGI server: a request runs on a thread
of its own and commits before its response leaves, so once the browser has loaded
the page a form led to, the database holds what the form did. The tests read it
after waiting for that page, and poll it (`wait_for`) where they check an effect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from playwright.sync_api import expect

from applications.models import Application
from tests.fault_processes import wait_until

T = TypeVar("T")

#: The one deadline for every browser wait, in seconds: navigations, actions,
#: expect() assertions and database polls (CI once needed more than 20 s for a
#: navigation while the machine was busy).
TIMEOUT = 60
TIMEOUT_MS = TIMEOUT * 1000

expect.set_options(timeout=TIMEOUT_MS)


def new_page(browser, **options):
    """A page in a context of its own (its own cookies), with the one deadline for
    every action and navigation."""
    context = browser.new_context(**{"viewport": {"width": 1200, "height": 900}, **options})
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    return context.new_page()


def navigate(page, action: Callable[[], object], *, url=None) -> None:
    """Do `action` (a click or key press that submits a form or follows a link) and
    return once the page it leads to has loaded, at an address matching `url` if
    given (a glob, a regular expression or a predicate, as Playwright takes them)."""
    with page.expect_navigation(url=url, wait_until="load"):
        action()


def wait_for(condition: Callable[[], T], *, what: str, timeout: float = TIMEOUT) -> T:
    """Poll `condition` (a database read, say) until it returns something truthy,
    failing after the one deadline."""
    return wait_until(condition, timeout=timeout, what=what)


def wait_for_status(application, status, revision=None):
    """Wait until the application has reached `status` (and `revision`)."""
    rows = Application.objects.filter(pk=application.pk, status=status)
    if revision is not None:
        rows = rows.filter(revision=revision)
    wait_for(rows.exists, what=f"the application to be {status}")
    application.refresh_from_db()
