"""The retention page and API of department admins and auditors (what is to be
purged in the next 30 days, what was purged by month, the legal holds), and the
holds' forms on the case page: who sees what, Japan's days, placing and releasing
with their audit events, the refusals shown with nothing lost, and a number of
queries that does not grow with the rows."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html import unescape

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.models import Role
from applications.models import Application, ApplicationStatus, LegalHold
from applications.purge import legal_hold_place, legal_hold_release
from audit.models import AuditEvent
from core.retention import TOKYO
from tests.applications.casework_setup import City, file_application, resident, staff
from tests.applications.casework_setup import verified_login as _verified_login
from tests.factories import PASSWORD, confirmed_totp

pytestmark = pytest.mark.django_db

PAGE = "/casework/retention/"
API = "/api/v1/retention/"
# 00:30 on 1 June 2026 in Japan, still 31 May in UTC: the page's today is 1 June.
NOW = datetime(2026, 5, 31, 15, 30, tzinfo=UTC)
TODAY = date(2026, 6, 1)


@pytest.fixture
def city(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    city = City()
    city.auditor = staff(city.city, Role.AUDITOR, "監査 五郎")
    city.tax_admin = staff(city.taxation, Role.DEPARTMENT_ADMIN, "税務課長 六郎")
    return city


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def signed_in(user) -> Client:
    client = Client()
    _verified_login(client, user)
    return client


def api_client(user) -> APIClient:
    confirmed_totp(user)
    _instance, token = AuthToken.objects.create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    return client


def _text(response) -> str:
    return unescape(response.content.decode())


def ended(procedure, kept_until: date, *, purged_at: datetime | None = None) -> Application:
    """A case that ended (withdrawn) and is kept until `kept_until`."""
    case = file_application(procedure)
    Application.objects.filter(pk=case.pk).update(
        status=ApplicationStatus.WITHDRAWN,
        ended_at=datetime(2021, 3, 10, 3, tzinfo=UTC),
        retention_period="5y",
        kept_until=kept_until,
        purged_at=purged_at,
    )
    case.refresh_from_db()
    return case


def copies(case: Application, count: int) -> list[Application]:
    """More cases like `case` (the same filing, other references), made quickly."""
    made = []
    for number in range(count):
        copy = Application.objects.get(pk=case.pk)
        copy.pk = None
        copy.reference = f"{case.reference}-{number}"
        copy.save()
        made.append(copy)
    return made


def _section(html: str, anchor: str) -> str:
    """The text of one <section> of the page, by the id of its heading."""
    match = re.search(rf'<h2 id="{anchor}".*?</section>', html, re.S)
    assert match, anchor
    return match.group(0)


# --- Who sees what ----------------------------------------------------------------------


def test_a_department_admin_sees_the_cases_of_the_procedures_they_manage(city, clock):
    soon = ended(city.permit, TODAY + timedelta(days=10))
    below = ended(city.food_permit, TODAY + timedelta(days=3))  # a department below theirs
    elsewhere = ended(city.tax_certificate, TODAY + timedelta(days=5))

    response = signed_in(city.supervisor).get(PAGE)

    assert response.status_code == 200
    html = _text(response)
    upcoming = _section(html, "upcoming")
    assert soon.reference in upcoming and below.reference in upcoming
    assert elsewhere.reference not in html
    # The soonest first, each linked to its case page.
    assert upcoming.index(below.reference) < upcoming.index(soon.reference)
    assert f'href="/casework/{soon.pk}/"' in upcoming
    assert "Health permit" in upcoming and "Food permit" in upcoming


def test_an_auditor_sees_every_procedure_of_their_organizations_without_links(city, clock):
    ours = ended(city.permit, TODAY + timedelta(days=10))
    taxes = ended(city.tax_certificate, TODAY + timedelta(days=5))
    hold = legal_hold_place(actor=city.supervisor, application=ours, reason="訴訟係属中")

    response = signed_in(city.auditor).get(PAGE)

    assert response.status_code == 200
    html = _text(response)
    assert ours.reference in html and taxes.reference in html
    # Auditors cannot open case pages, and release nothing.
    assert f'href="/casework/{ours.pk}/' not in html
    holds = _section(html, "legal-holds")
    assert "訴訟係属中" in holds
    assert f"/casework/holds/{hold.pk}/release/" not in html
    assert "The department admins of the procedure place and release holds." in holds


def test_another_departments_admin_sees_nothing_of_ours(city, clock):
    ours = ended(city.permit, TODAY + timedelta(days=10))
    legal_hold_place(actor=city.supervisor, application=ours, reason="苦情の調査中")
    Application.objects.filter(pk=ended(city.permit, TODAY).pk).update(
        purged_at=NOW - timedelta(days=3)
    )

    client = signed_in(city.tax_admin)
    html = _text(client.get(PAGE))

    assert ours.reference not in html and "苦情の調査中" not in html
    assert "No case is due to be purged in the next 30 days." in html
    assert "No case has been purged yet." in html
    assert "No hold is open." in html
    # Nor on the API.
    body = api_client(city.tax_admin).get(API).json()
    assert body["upcoming"]["count"] == 0
    assert body["purged_by_month"] == [] and body["holds"]["open"] == []


def test_clerks_residents_and_strangers_are_refused(city):
    assert signed_in(city.clerk).get(PAGE).status_code == 403
    owner = resident()
    client = Client()
    client.post("/accounts/login/", {"email": owner.email, "password": PASSWORD})
    assert client.get(PAGE).status_code == 403
    anonymous = Client().get(PAGE)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert api_client(city.clerk).get(API).status_code == 403
    assert APIClient().get(API).status_code == 401


def test_department_admins_find_the_page_in_the_menu_and_auditors_on_their_dashboard(city):
    link = f'href="{PAGE}"'
    assert link in signed_in(city.supervisor).get("/").content.decode()
    assert link not in signed_in(city.clerk).get("/").content.decode()
    auditor = signed_in(city.auditor)
    # Not in the auditors' menu (it would wrap onto a second line): on their dashboard.
    assert link not in auditor.get("/").content.decode()
    assert link in auditor.get("/digitization/").content.decode()


# --- Upcoming: Japan's days, 30 days only -------------------------------------------------


def test_upcoming_is_from_today_to_30_days_ahead_in_japans_days(city, clock):
    yesterday = ended(city.permit, TODAY - timedelta(days=1))  # due tonight: the purge's
    today = ended(city.permit, TODAY)
    last = ended(city.permit, TODAY + timedelta(days=30))
    later = ended(city.permit, TODAY + timedelta(days=31))
    purged = ended(city.permit, TODAY + timedelta(days=2), purged_at=NOW - timedelta(days=1))
    ended_open = file_application(city.permit)  # still open: no last day yet
    held = ended(city.permit, TODAY + timedelta(days=7))
    legal_hold_place(actor=city.supervisor, application=held, reason="訴訟")

    upcoming = _section(_text(signed_in(city.supervisor).get(PAGE)), "upcoming")

    assert "2026-06-01" in upcoming and "2026-07-01" in upcoming  # today, until
    for shown in (today, last, held):
        assert shown.reference in upcoming
    for hidden in (yesterday, later, purged, ended_open):
        assert hidden.reference not in upcoming
    row = re.search(rf"{held.reference}.*?</tr>", upcoming, re.S).group(0)
    assert "On hold" in row
    assert "On hold" not in re.search(rf"{today.reference}.*?</tr>", upcoming, re.S).group(0)

    body = api_client(city.supervisor).get(API).json()
    assert body["today"] == "2026-06-01" and body["until"] == "2026-07-01"
    assert [item["reference"] for item in body["upcoming"]["results"]] == [
        today.reference,
        held.reference,
        last.reference,
    ]
    assert [item["on_hold"] for item in body["upcoming"]["results"]] == [False, True, False]
    assert body["upcoming_by_procedure"] == [{"procedure": "health-permit", "count": 3}]


def test_upcoming_counts_per_procedure_and_pages_by_50(city, clock):
    first = ended(city.permit, TODAY + timedelta(days=1))
    copies(first, 54)
    ended(city.food_permit, TODAY + timedelta(days=2))

    client = signed_in(city.supervisor)
    html = _text(client.get(PAGE))
    assert "56 cases, the soonest first" in html
    counts = re.search(r"Cases to be purged, by procedure.*?</table>", html, re.S).group(0)
    assert re.search(r"Food permit</td><td[^>]*>1<", counts)
    assert re.search(r"Health permit</td><td[^>]*>55<", counts)
    assert html.count('class="queue-table__reference"') == 50
    second = _text(client.get(PAGE, {"page": 2}))
    assert second.count('class="queue-table__reference"') == 6
    assert "Page 2 of 2" in second

    api = api_client(city.supervisor)
    page = api.get(API).json()["upcoming"]
    assert page["count"] == 56 and len(page["results"]) == 50 and page["previous"] is None
    following = api.get(page["next"]).json()["upcoming"]
    assert len(following["results"]) == 6 and following["next"] is None
    assert api.get(API, {"page": 3}).status_code == 404
    assert api.get(API, {"page_size": 0}).status_code == 400


# --- Purged by month ------------------------------------------------------------------------


def test_purged_cases_are_counted_by_procedure_and_month_in_japans_time(city, clock):
    gone = TODAY - timedelta(days=400)
    # 15:30 UTC on 30 April is 00:30 on 1 May in Japan: a May purge.
    for moment in (
        datetime(2026, 4, 30, 15, 30, tzinfo=UTC),
        datetime(2026, 5, 20, 2, tzinfo=UTC),
        datetime(2026, 4, 30, 14, 30, tzinfo=UTC),  # 23:30 in Japan: April
    ):
        ended(city.permit, gone, purged_at=moment)
    ended(city.food_permit, gone, purged_at=datetime(2026, 5, 2, 1, tzinfo=TOKYO))
    ended(city.tax_certificate, gone, purged_at=datetime(2026, 5, 2, 1, tzinfo=TOKYO))

    body = api_client(city.supervisor).get(API).json()
    assert body["purged_by_month"] == [
        {"month": "2026-05", "procedure": "food-permit", "count": 1},
        {"month": "2026-05", "procedure": "health-permit", "count": 2},
        {"month": "2026-04", "procedure": "health-permit", "count": 1},
    ]
    purged = _section(_text(signed_in(city.supervisor).get(PAGE)), "purged")
    row = (
        r"<tr>\s*<td[^>]*><time[^>]*>([\d-]+)</time></td>\s*<td[^>]*>([^<]+)</td>\s*<td[^>]*>(\d+)<"
    )
    rows = re.findall(row, purged)
    assert rows == [
        ("2026-05", "Food permit", "1"),
        ("2026-05", "Health permit", "2"),
        ("2026-04", "Health permit", "1"),
    ]


# --- Holds through the pages ----------------------------------------------------------------


def test_a_department_admin_places_and_releases_a_hold_from_the_case_page(city, clock):
    case = ended(city.permit, TODAY + timedelta(days=3))
    client = signed_in(city.supervisor)
    page = _text(client.get(f"/casework/{case.pk}/"))
    assert 'id="legal-hold"' in page and "No hold is open on this case." in page

    response = client.post(f"/casework/{case.pk}/hold/", {"reason": "審査請求が係属中"})

    assert response.status_code == 302
    assert response["Location"] == f"/casework/{case.pk}/#legal-hold"
    hold = LegalHold.objects.get(application=case)
    assert hold.reason == "審査請求が係属中" and hold.placed_by == city.supervisor
    page = _text(client.get(f"/casework/{case.pk}/"))
    assert "is on hold: it will not be purged while the hold is open." in page
    assert "審査請求が係属中" in _section(page, "legal-hold")
    assert AuditEvent.objects.filter(action="applications.legal_hold_placed").count() == 1

    response = client.post(
        f"/casework/holds/{hold.pk}/release/", {"reason": "裁決が確定", "back": "case"}
    )

    assert response.status_code == 302
    assert response["Location"] == f"/casework/{case.pk}/#legal-hold"
    hold.refresh_from_db()
    assert hold.released_at is not None and hold.released_by == city.supervisor
    assert hold.release_reason == "裁決が確定"
    assert AuditEvent.objects.filter(action="applications.legal_hold_released").count() == 1
    page = _text(client.get(f"/casework/{case.pk}/"))
    assert f"The hold on {case.reference} is released." in page
    assert "No hold is open on this case." in page


def test_a_hold_is_released_from_the_retention_page_and_listed_as_released(city, clock):
    case = ended(city.permit, TODAY + timedelta(days=3))
    hold = legal_hold_place(actor=city.supervisor, application=case, reason="訴訟係属中")
    client = signed_in(city.supervisor)
    holds = _section(_text(client.get(PAGE)), "legal-holds")
    assert f'action="/casework/holds/{hold.pk}/release/"' in holds
    assert "課長 三郎" in holds and "訴訟係属中" in holds

    response = client.post(f"/casework/holds/{hold.pk}/release/", {"reason": "判決確定"})

    assert response.status_code == 302 and response["Location"] == f"{PAGE}#legal-holds"
    holds = _section(_text(client.get(PAGE)), "legal-holds")
    assert "No hold is open." in holds
    released = holds.split("Recently released")[1]
    assert case.reference in released and "判決確定" in released and "訴訟係属中" in released


def test_an_empty_reason_is_a_400_with_the_translated_message_and_nothing_lost(city, clock):
    case = ended(city.permit, TODAY + timedelta(days=3))
    city.supervisor.preferred_language = "ja"
    city.supervisor.save(update_fields=["preferred_language"])
    client = signed_in(city.supervisor)

    response = client.post(f"/casework/{case.pk}/hold/", {"reason": "   "})

    assert response.status_code == 400
    html = _text(response)
    assert "保存延長の理由を入力してください。" in html
    assert 'href="#hold-reason"' in html and 'aria-invalid="true"' in html
    assert not LegalHold.objects.exists()

    hold = legal_hold_place(actor=city.supervisor, application=case, reason="訴訟")
    response = client.post(f"/casework/holds/{hold.pk}/release/", {"reason": "", "back": "case"})
    assert response.status_code == 400
    assert "解除の理由を入力してください。" in _text(response)
    response = client.post(f"/casework/holds/{hold.pk}/release/", {"reason": " "})
    assert response.status_code == 400
    assert f'href="#release-reason-{hold.pk}"' in _text(response)
    hold.refresh_from_db()
    assert hold.released_at is None


def test_a_purged_case_cannot_be_held_and_says_so(city, clock):
    case = ended(city.permit, TODAY - timedelta(days=400), purged_at=NOW - timedelta(days=2))
    client = signed_in(city.supervisor)
    page = _text(client.get(f"/casework/{case.pk}/"))
    assert "it can no longer be put on hold" in page and 'id="hold-reason"' not in page

    response = client.post(f"/casework/{case.pk}/hold/", {"reason": "訴訟"})

    assert response.status_code == 400
    assert "This case was already purged." in _text(response)
    assert 'href="#legal-hold"' in _text(response)
    assert not LegalHold.objects.exists()
    api = api_client(city.supervisor).post(
        f"/api/v1/queue/{case.pk}/holds/", {"reason": "訴訟"}, format="json"
    )
    assert api.status_code == 400
    assert api.json()["error"]["details"] == {"reason": ["This case was already purged."]}


def test_only_the_department_admins_of_the_procedure_hold_and_release(city, clock):
    case = ended(city.permit, TODAY + timedelta(days=3))
    hold = legal_hold_place(actor=city.supervisor, application=case, reason="訴訟")

    # A clerk of the department sees the case, without the section, and may not hold it.
    clerk = signed_in(city.clerk)
    assert 'id="legal-hold"' not in clerk.get(f"/casework/{case.pk}/").content.decode()
    assert clerk.post(f"/casework/{case.pk}/hold/", {"reason": "x"}).status_code == 403
    assert clerk.post(f"/casework/holds/{hold.pk}/release/", {"reason": "x"}).status_code == 403
    # Another department's admin: neither the case nor the hold exists.
    stranger = signed_in(city.tax_admin)
    assert stranger.get(f"/casework/{case.pk}/").status_code == 404
    assert stranger.post(f"/casework/{case.pk}/hold/", {"reason": "x"}).status_code == 404
    assert stranger.post(f"/casework/holds/{hold.pk}/release/", {"reason": "x"}).status_code == 404
    assert stranger.post("/casework/holds/999999999/release/", {"reason": "x"}).status_code == 404
    # The auditor sees it and releases nothing.
    auditor = signed_in(city.auditor)
    assert auditor.post(f"/casework/holds/{hold.pk}/release/", {"reason": "x"}).status_code == 403

    assert LegalHold.objects.count() == 1
    hold.refresh_from_db()
    assert hold.released_at is None


def test_the_hold_forms_need_the_csrf_token(city, clock):
    case = ended(city.permit, TODAY + timedelta(days=3))
    hold = legal_hold_place(actor=city.supervisor, application=case, reason="訴訟")
    login = signed_in(city.supervisor)
    client = Client(enforce_csrf_checks=True)
    client.cookies = login.cookies
    assert client.post(f"/casework/{case.pk}/hold/", {"reason": "x"}).status_code == 403
    assert client.post(f"/casework/holds/{hold.pk}/release/", {"reason": "x"}).status_code == 403
    assert LegalHold.objects.count() == 1


# --- The API ---------------------------------------------------------------------------------


def test_the_api_places_and_releases_holds_with_their_audit_events(city, clock):
    case = ended(city.permit, TODAY + timedelta(days=3))
    api = api_client(city.supervisor)

    placed = api.post(f"/api/v1/queue/{case.pk}/holds/", {"reason": "訴訟係属中"}, format="json")

    assert placed.status_code == 201, placed.content
    body = placed.json()
    assert body == {
        "id": body["id"],
        "application": case.pk,
        "reference": case.reference,
        "procedure": "health-permit",
        "reason": "訴訟係属中",
        "placed_by": "課長 三郎",
        "placed_at": body["placed_at"],
        "released_by": None,
        "released_at": None,
        "release_reason": "",
    }
    overview = api.get(API).json()
    assert [hold["id"] for hold in overview["holds"]["open"]] == [body["id"]]
    assert overview["upcoming"]["results"][0]["on_hold"] is True

    empty = api.post(
        f"/api/v1/retention/holds/{body['id']}/release/", {"reason": ""}, format="json"
    )
    assert empty.status_code == 400
    assert empty.json()["error"]["details"] == {"reason": ["Give the reason for the release."]}
    released = api.post(
        f"/api/v1/retention/holds/{body['id']}/release/", {"reason": "判決確定"}, format="json"
    )

    assert released.status_code == 200, released.content
    assert released.json()["released_by"] == "課長 三郎"
    assert released.json()["release_reason"] == "判決確定"
    assert released.json()["released_at"] is not None
    again = api.post(
        f"/api/v1/retention/holds/{body['id']}/release/", {"reason": "再度"}, format="json"
    )
    assert again.status_code == 200 and again.json()["release_reason"] == "判決確定"
    overview = api.get(API).json()
    assert overview["holds"]["open"] == []
    assert [hold["release_reason"] for hold in overview["holds"]["released"]] == ["判決確定"]
    actions = list(
        AuditEvent.objects.filter(action__startswith="applications.legal_hold")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["applications.legal_hold_placed", "applications.legal_hold_released"]


def test_the_api_refuses_as_the_pages_do(city, clock):
    case = ended(city.permit, TODAY + timedelta(days=3))
    hold = legal_hold_place(actor=city.supervisor, application=case, reason="訴訟")
    url = f"/api/v1/queue/{case.pk}/holds/"
    release = f"/api/v1/retention/holds/{hold.pk}/release/"

    empty = api_client(city.supervisor).post(url, {"reason": " "}, format="json")
    assert empty.status_code == 400
    assert empty.json()["error"]["details"] == {"reason": ["Give the reason for the hold."]}
    assert api_client(city.supervisor).post(url, {}, format="json").status_code == 400
    form = api_client(city.supervisor).post(url, {"reason": "x"}, format="multipart")
    assert form.status_code == 415
    assert api_client(city.clerk).post(url, {"reason": "x"}, format="json").status_code == 403
    assert api_client(city.tax_admin).post(url, {"reason": "x"}, format="json").status_code == 404
    assert api_client(city.auditor).post(url, {"reason": "x"}, format="json").status_code == 403
    refused = api_client(city.auditor).post(release, {"reason": "x"}, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_allowed"
    assert (
        api_client(city.tax_admin).post(release, {"reason": "x"}, format="json").status_code == 404
    )
    assert api_client(city.auditor).get(API).status_code == 200
    assert LegalHold.objects.count() == 1 and LegalHold.objects.get().released_at is None


# --- Queries ------------------------------------------------------------------------------------


def _world(city, count: int) -> None:
    first = ended(city.permit, TODAY + timedelta(days=5))
    cases = [first, *copies(first, count - 1)]
    purged = ended(city.food_permit, TODAY - timedelta(days=400), purged_at=NOW)
    copies(purged, count - 1)
    for number, case in enumerate(cases):
        hold = legal_hold_place(actor=city.supervisor, application=case, reason=f"訴訟 {number}")
        if number % 2:
            legal_hold_release(actor=city.supervisor, hold=hold, reason="確定")


def _queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


@pytest.mark.parametrize("who", ["supervisor", "auditor"])
def test_the_page_and_the_api_cost_the_same_queries_for_3_and_30_rows(city, clock, who):
    user = getattr(city, who)
    client = signed_in(user)
    api = api_client(user)
    _world(city, 3)
    small = (_queries(client, PAGE), _queries(api, API))
    _world(city, 27)
    large = (_queries(client, PAGE), _queries(api, API))
    assert small == large, (small, large)
    body = api.get(API).json()
    assert body["upcoming"]["count"] == 30
    assert sum(item["count"] for item in body["purged_by_month"]) == 30
    assert len(body["holds"]["open"]) == 16 and len(body["holds"]["released"]) == 14
