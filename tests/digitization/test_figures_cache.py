"""The overview's inventory figures kept between requests (digitization.figures_cache):
used again only while nothing they depend on changed, never stale."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from digitization import figures_cache, selectors, services
from tests.digitization.setup import (
    month_of_previous_year,
    platform_filings,
    previous_fiscal_year,
    report,
    signed_in,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def kept_figures(settings):
    settings.DIGITIZATION_OVERVIEW_CACHE_SECONDS = 600
    cache.clear()


def _overview(user):
    return selectors.overview(user, fiscal_year=previous_fiscal_year(), with_trend=False)


def _counted(function):
    with CaptureQueriesContext(connection) as captured:
        result = function()
    return result, len(captured.captured_queries)


def test_the_second_overview_of_a_scope_is_kept_and_the_same(inventory):
    services.catalogue_sync()
    first, computed = _counted(lambda: _overview(inventory.auditor))
    second, kept = _counted(lambda: _overview(inventory.auditor))
    assert (second.figures, second.gap, second.exemptions) == (
        first.figures,
        first.gap,
        first.exemptions,
    )
    assert second.figures.volume == 2400 and second.figures.online_cases == 125
    # Not read again: the linked entries, the running totals, the reported cases,
    # the gap walk.
    assert kept <= computed - 4


def test_a_case_report_shows_at_once(inventory):
    before = _overview(inventory.auditor).figures
    report(inventory.d, month_of_previous_year(2), 7, 3)
    after = _overview(inventory.auditor).figures
    assert (after.online_cases, after.offline_cases) == (
        before.online_cases + 7,
        before.offline_cases + 3,
    )


def test_a_filing_on_the_platform_shows_at_once(inventory):
    from applications.services import _count_case  # what each submission calls

    before = _overview(inventory.auditor).figures
    platform_filings(inventory.a, month_of_previous_year(3), 5)
    # A row written behind the service's back is not seen: kept figures are
    # outdated by the service that counts a filing, which follows.
    assert _overview(inventory.auditor).figures == before
    _count_case(inventory.a, month_of_previous_year(3))
    assert _overview(inventory.auditor).figures.online_cases == before.online_cases + 6


def test_each_scope_keeps_its_own_figures(inventory):
    city = _overview(inventory.auditor).figures
    health = _overview(inventory.health_auditor).figures
    assert (city.volume, health.volume) == (2400, 1400)


def test_what_was_computed_while_the_figures_changed_is_not_used_again():
    calls = []

    def compute():
        calls.append(len(calls) + 1)
        if len(calls) == 1:
            figures_cache.figures_changed()  # a change commits meanwhile
        return calls[-1]

    assert figures_cache.kept(("key",), compute) == 1
    assert figures_cache.kept(("key",), compute) == 2  # kept under the old generation
    assert figures_cache.kept(("key",), compute) == 2


def test_the_generation_is_replaced_again_when_the_change_commits(
    django_capture_on_commit_callbacks,
):
    # Right away, and once more after the commit: a request that read the rows
    # before the commit and the new token before it was replaced again stored
    # its result under a token no one accepts.
    with django_capture_on_commit_callbacks(execute=True):
        figures_cache.figures_changed()
        during = cache.get(figures_cache.generation_key(figures_cache.FIGURES))
    assert during is not None
    assert cache.get(figures_cache.generation_key(figures_cache.FIGURES)) not in (None, during)


def test_zero_seconds_computes_every_time(settings):
    settings.DIGITIZATION_OVERVIEW_CACHE_SECONDS = 0
    calls = []
    figures_cache.kept(("key",), lambda: calls.append(1))
    figures_cache.kept(("key",), lambda: calls.append(1))
    assert len(calls) == 2


def test_a_snapshot_taken_shows_in_the_trend_at_once(inventory):
    def trend():
        return selectors.overview(inventory.auditor, fiscal_year=previous_fiscal_year()).trend

    before = trend()
    assert trend() == before  # kept
    services.snapshot_take()
    after = trend()
    assert len(after) == len(before) + 1 and after[-1].figures.volume == 2400


def test_a_renamed_organization_shows_in_the_ranked_list_at_once(inventory):
    def ranked_names():
        overview = selectors.overview(inventory.auditor, fiscal_year=previous_fiscal_year())
        return {row.entry.organization.name_en for row in overview.ranked}

    assert "Certificates" in ranked_names()
    inventory.certificates.name_en = "Certificates and Registers"
    inventory.certificates.save()
    assert "Certificates and Registers" in ranked_names()


FILINGS_PARTS = {"digitization/_figures.html", "digitization/_departments.html"}
INVENTORY_PARTS = {
    "digitization/_dashboard_gap_trend.html",
    "digitization/_dashboard_matrix_ranked.html",
}


def _dashboard(client):
    """The page's HTML and which of its kept parts it rendered."""
    response = client.get("/digitization/", {"fiscal_year": previous_fiscal_year()})
    assert response.status_code == 200
    rendered = {template.name for template in response.templates}
    return response.content.decode(), rendered & (FILINGS_PARTS | INVENTORY_PARTS)


def _without_tokens(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def test_the_dashboards_figures_are_rendered_once_and_a_filing_shows_at_once(inventory):
    from applications.services import _count_case

    client = signed_in(inventory.auditor)
    first, rendered = _dashboard(client)
    assert rendered == FILINGS_PARTS | INVENTORY_PARTS
    assert "125 of 200 cases filed online" in first
    assert '<section aria-labelledby="ranked-title">' in first  # HTML, not escaped
    second, rendered = _dashboard(client)
    assert rendered == set() and _without_tokens(second) == _without_tokens(first)

    # A filing: only the parts that count filings are rendered again.
    _count_case(inventory.a, month_of_previous_year(3))
    third, rendered = _dashboard(client)
    assert rendered == FILINGS_PARTS
    assert "126 of 201 cases filed online" in third

    # A case report changes the inventory figures: everything is rendered again.
    report(inventory.d, month_of_previous_year(2), 7, 3)
    fourth, rendered = _dashboard(client)
    assert rendered == FILINGS_PARTS | INVENTORY_PARTS
    assert "133 of 211 cases filed online" in fourth


def test_the_dashboards_kept_figures_are_per_language_and_scope(inventory):
    client = signed_in(inventory.auditor)
    english, _rendered = _dashboard(client)
    inventory.auditor.preferred_language = "ja"
    inventory.auditor.save()
    japanese, rendered = _dashboard(client)
    assert rendered and "cases filed online" in english
    assert "200件のうち125件がオンライン" in japanese and "cases filed online" not in japanese

    # An auditor of the health bureau only: its own figures, not the city's kept ones.
    health, rendered = _dashboard(signed_in(inventory.health_auditor))
    assert rendered
    whole = re.search(r"of (\d+) cases filed online", health)
    assert whole and whole.group(1) != "200"
