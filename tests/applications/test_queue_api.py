"""The casework API: the clerks' queue (filters, sorting, cursor pagination, counts),
one case, claiming, workflow actions, assignment, internal notes and files."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.models import Notification, Role
from applications import services
from applications.business_days import add_business_days
from applications.models import Application, ApplicationStatus, CorrectionRequest
from tests.applications.casework_setup import (
    PDF,
    City,
    file_application,
    png_bytes,
    resident,
    set_dates,
    staff,
)
from tests.factories import MY_NUMBER, OrganizationFactory

pytestmark = pytest.mark.django_db

S = ApplicationStatus
QUEUE = "/api/v1/queue/"


@pytest.fixture
def city(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return City()


def api(user=None) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        _instance, token = AuthToken.objects.create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    return client


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [item["id"] for item in response.json()["results"]]


def _error(response) -> dict:
    return response.json()["error"]


def _act(client, application, action, **body):
    return client.post(
        f"{QUEUE}{application.pk}/actions/", {"action": action, **body}, format="json"
    )


def _walk(client, url) -> list[int]:
    """Every id, following `next` links to the end."""
    seen = []
    pages = 0
    while url:
        response = client.get(url)
        seen += _ids(response)
        url = response.json()["next"]
        pages += 1
        assert pages < 50
    return seen


# --- Who sees what ------------------------------------------------------------------------


def test_a_clerk_sees_the_applications_of_their_organization_and_its_children(city):
    own = file_application(city.permit)
    child = file_application(city.food_permit)
    other = file_application(city.tax_certificate)
    assert set(_ids(api(city.clerk).get(QUEUE))) == {own.pk, child.pk}
    assert _ids(api(city.tax_clerk).get(QUEUE)) == [other.pk]
    assert api(city.tax_clerk).get(f"{QUEUE}{own.pk}/").status_code == 404
    assert api(city.clerk).get(f"{QUEUE}{other.pk}/").status_code == 404


def test_residents_and_anonymous_callers_have_no_queue(city):
    application = file_application(city.permit)
    applicant = application.applicant
    response = api(applicant).get(QUEUE)
    assert response.status_code == 403 and _error(response)["code"] == "not_allowed"
    assert api(applicant).get(f"{QUEUE}{application.pk}/").status_code == 403
    assert api().get(QUEUE).status_code in (401, 403)


def test_drafts_are_never_in_the_queue(city):
    applicant = resident()
    services.application_start(actor=applicant, procedure=city.permit)
    assert _ids(api(city.clerk).get(QUEUE)) == []


# --- Filters ----------------------------------------------------------------------------------


def test_filter_by_state_and_by_procedure(city):
    waiting = file_application(city.permit)
    claimed = file_application(city.permit)
    food = file_application(city.food_permit)
    client = api(city.clerk)
    assert _act(client, claimed, "claim").status_code == 200
    assert _ids(client.get(QUEUE, {"status": "under_review"})) == [claimed.pk]
    assert set(_ids(client.get(f"{QUEUE}?status=submitted&status=under_review"))) == {
        waiting.pk,
        claimed.pk,
        food.pk,
    }
    assert _ids(client.get(QUEUE, {"procedure": "food-permit"})) == [food.pk]


def test_filter_by_assignee_me_and_unassigned(city):
    mine = file_application(city.permit)
    theirs = file_application(city.permit)
    nobody = file_application(city.permit)
    assert _act(api(city.clerk), mine, "claim").status_code == 200
    assert _act(api(city.other_clerk), theirs, "claim").status_code == 200
    client = api(city.clerk)
    assert _ids(client.get(QUEUE, {"assignee": "me"})) == [mine.pk]
    assert _ids(client.get(QUEUE, {"assignee": "unassigned"})) == [nobody.pk]
    assert len(_ids(client.get(QUEUE, {"assignee": "anyone"}))) == 3


def test_filter_overdue_and_due_within_business_days(city):
    today = timezone.localdate()
    late = file_application(city.permit)
    soon = file_application(city.permit)
    later = file_application(city.permit)
    set_dates(late, due=today - timedelta(days=1))
    set_dates(soon, due=add_business_days(today, 2))
    set_dates(later, due=add_business_days(today, 10))
    client = api(city.clerk)
    overdue = client.get(QUEUE, {"overdue": "1"})
    assert _ids(overdue) == [late.pk]
    assert overdue.json()["results"][0]["overdue"] is True
    assert _ids(client.get(QUEUE, {"due_within": "3"})) == [late.pk, soon.pk]
    assert _ids(client.get(QUEUE, {"due_within": "10"})) == [late.pk, soon.pk, later.pk]


def test_filter_by_submission_period(city):
    today = timezone.localdate()
    old = file_application(city.permit)
    middle = file_application(city.permit)
    recent = file_application(city.permit)
    set_dates(old, submitted=today - timedelta(days=30))
    set_dates(middle, submitted=today - timedelta(days=10))
    client = api(city.clerk)
    period = {
        "submitted_from": (today - timedelta(days=15)).isoformat(),
        "submitted_to": (today - timedelta(days=5)).isoformat(),
    }
    assert _ids(client.get(QUEUE, period)) == [middle.pk]
    assert set(_ids(client.get(QUEUE, {"submitted_from": today.isoformat()}))) == {recent.pk}


def test_search_by_reference_and_by_name(city):
    sato = file_application(city.permit, resident("佐藤 花子"))
    proxy = file_application(
        city.permit,
        resident("鈴木 一郎"),
        on_behalf_of_name="鈴木 さくら",
        on_behalf_of_relationship="子",
    )
    client = api(city.clerk)
    assert _ids(client.get(QUEUE, {"q": sato.reference})) == [sato.pk]
    # The beginning of the reference, typed in lower case or full width, also finds it.
    assert _ids(client.get(QUEUE, {"q": sato.reference[:9].lower()})) == [sato.pk]
    full_width = "".join(chr(ord(char) + 0xFEE0) for char in sato.reference)
    assert _ids(client.get(QUEUE, {"q": full_width})) == [sato.pk]
    assert _ids(client.get(QUEUE, {"q": "佐藤"})) == [sato.pk]
    found = client.get(QUEUE, {"q": "さくら"})
    assert _ids(found) == [proxy.pk]
    assert found.json()["results"][0]["on_behalf_of"] == {
        "name": "鈴木 さくら",
        "relationship": "子",
    }


# --- Sorting and pagination -------------------------------------------------------------------


def test_sort_by_due_date_then_by_submission_either_way(city):
    now = timezone.now()
    today = timezone.localdate()
    first, second, third = (file_application(city.permit) for _ in range(3))
    set_dates(first, due=today + timedelta(days=9), submitted=now - timedelta(hours=3))
    set_dates(second, due=today + timedelta(days=1), submitted=now - timedelta(hours=2))
    set_dates(third, due=today + timedelta(days=5), submitted=now - timedelta(hours=1))
    client = api(city.clerk)
    assert _ids(client.get(QUEUE)) == [second.pk, third.pk, first.pk]
    assert _ids(client.get(QUEUE, {"sort": "submitted"})) == [first.pk, second.pk, third.pk]
    assert _ids(client.get(QUEUE, {"sort": "-submitted"})) == [third.pk, second.pk, first.pk]


@pytest.mark.parametrize("sort", ["due", "submitted", "-submitted"])
def test_walking_every_page_gives_each_application_once_in_order(city, sort):
    # Seven filings with the same due date (and some with the same second of filing):
    # the id breaks ties, so no row is lost or repeated between pages.
    applications = [file_application(city.permit) for _ in range(7)]
    moment = timezone.now() - timedelta(hours=1)
    for index, application in enumerate(applications):
        set_dates(application, submitted=moment + timedelta(minutes=index // 3))
    client = api(city.clerk)
    seen = _walk(client, f"{QUEUE}?page_size=2&sort={sort}")
    assert sorted(seen) == sorted(item.pk for item in applications)
    assert len(seen) == len(set(seen))
    assert seen == _ids(client.get(QUEUE, {"sort": sort, "page_size": 100}))


def test_the_next_link_keeps_the_filters(city):
    for _ in range(3):
        file_application(city.permit)
    other = file_application(city.food_permit)
    response = api(city.clerk).get(QUEUE, {"procedure": "health-permit", "page_size": 2})
    link = response.json()["next"]
    assert "procedure=health-permit" in link and "cursor=" in link and "page_size=2" in link
    seen = _walk(api(city.clerk), f"{QUEUE}?procedure=health-permit&page_size=2")
    assert len(seen) == 3 and other.pk not in seen


def test_counts_per_state_follow_every_filter_but_the_state(city):
    claimed = file_application(city.permit)
    file_application(city.permit)
    file_application(city.food_permit)
    client = api(city.clerk)
    _act(client, claimed, "claim")
    counts = client.get(QUEUE, {"status": "under_review"}).json()["counts"]
    assert counts["submitted"] == 2 and counts["under_review"] == 1 and counts["approved"] == 0
    assert "draft" not in counts
    counts = client.get(QUEUE, {"procedure": "food-permit"}).json()["counts"]
    assert counts["submitted"] == 1 and counts["under_review"] == 0


def test_an_empty_page_still_counts_and_a_queue_without_procedures_counts_zero(city):
    file_application(city.permit)
    client = api(city.clerk)
    empty = client.get(QUEUE, {"status": "approved"}).json()
    assert empty["results"] == [] and empty["next"] is None
    assert empty["counts"]["submitted"] == 1 and empty["counts"]["approved"] == 0
    unknown = client.get(QUEUE, {"procedure": "no-such-procedure"}).json()
    assert unknown["results"] == [] and set(unknown["counts"].values()) == {0}
    # A clerk of an organization that owns no procedures (and has no children).
    lone = staff(OrganizationFactory(code="archive", parent=city.city), Role.CLERK, "記録 五郎")
    nothing = api(lone).get(QUEUE).json()
    assert nothing["results"] == [] and set(nothing["counts"].values()) == {0}


@pytest.mark.parametrize(
    "params, field",
    [
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "eyJrIjoiYmFkIiwiaWQiOjF9"}, "cursor"),  # {"k":"bad","id":1}
        # {"k":"2026-01-01","id":2**63}: beyond a bigint, PostgreSQL would refuse the query
        ({"cursor": "eyJrIjoiMjAyNi0wMS0wMSIsImlkIjo5MjIzMzcyMDM2ODU0Nzc1ODA4fQ"}, "cursor"),
        ({"status": "draft"}, "status"),
        ({"status": "nonsense"}, "status"),
        ({"assignee": "someone"}, "assignee"),
        ({"sort": "name"}, "sort"),
        ({"due_within": "soon"}, "due_within"),
        ({"due_within": "999"}, "due_within"),
        ({"submitted_from": "2024-13-01"}, "submitted_from"),
        ({"submitted_from": "2024-05-02", "submitted_to": "2024-05-01"}, "submitted_to"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "many"}, "page_size"),
    ],
)
def test_a_bad_filter_or_cursor_is_a_clear_400(city, params, field):
    file_application(city.permit)
    response = api(city.clerk).get(QUEUE, params)
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "validation_failed" and field in error["details"]


# --- Claiming -------------------------------------------------------------------------------


def test_claim_next_takes_the_earliest_due_application_nobody_has(city):
    today = timezone.localdate()
    taken = file_application(city.permit)
    urgent = file_application(city.permit)
    relaxed = file_application(city.permit)
    set_dates(taken, due=today)
    set_dates(urgent, due=today + timedelta(days=1))
    set_dates(relaxed, due=today + timedelta(days=8))
    _act(api(city.other_clerk), taken, "claim")
    client = api(city.clerk)
    response = client.post(f"{QUEUE}claim-next/", format="json")
    assert response.status_code == 200
    case = response.json()
    assert case["id"] == urgent.pk and case["status"] == "under_review"
    assert case["assignee"]["id"] == city.clerk.pk
    assert client.post(f"{QUEUE}claim-next/", {}, format="json").json()["id"] == relaxed.pk
    assert client.post(f"{QUEUE}claim-next/", format="json").status_code == 204


def test_claim_next_of_one_procedure(city):
    file_application(city.permit)
    food = file_application(city.food_permit)
    response = api(city.clerk).post(
        f"{QUEUE}claim-next/", {"procedure": "food-permit"}, format="json"
    )
    assert response.json()["id"] == food.pk


# --- The case and its actions ------------------------------------------------------------------


def test_the_case_shows_masked_answers_checked_revisions_and_what_may_be_done(city):
    application = file_application(city.permit, files=(("plan.pdf", PDF),))
    response = api(city.clerk).get(f"{QUEUE}{application.pk}/")
    assert response.status_code == 200
    case = response.json()
    assert MY_NUMBER not in response.content.decode()
    assert case["answers"]["my_number"] == "********" + MY_NUMBER[-4:]
    assert case["revisions"][0]["valid"] is True
    assert case["revisions"][0]["digest"] == application.submission_digest
    assert [item["action"] for item in case["allowed_actions"]] == ["claim"]
    assert case["attachments"][0]["name"] == "plan.pdf" and case["attachments"][0]["previewable"]
    assert {item["key"] for item in case["correctable_fields"]} >= {"full_name", "purpose"}
    assert case["events"][-1]["kind"] == "submitted"


def test_a_correction_requested_through_the_api_reaches_the_resident(city):
    application = file_application(city.permit)
    client = api(city.clerk)
    _act(client, application, "claim")
    response = _act(
        client,
        application,
        "request_correction",
        comment="使用目的を具体的に書いてください。",
        fields=["purpose"],
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "correction_requested"
    mine = api(application.applicant).get(f"/api/v1/applications/{application.pk}/").json()
    assert mine["correction"]["message"] == "使用目的を具体的に書いてください。"
    assert mine["correction"]["fields"] == ["purpose"]
    assert Notification.objects.filter(user=application.applicant).exists()


def test_a_correction_needs_a_message_and_known_fields(city):
    application = file_application(city.permit)
    client = api(city.clerk)
    _act(client, application, "claim")
    missing = _act(client, application, "request_correction", comment="", fields=["purpose"])
    assert missing.status_code == 400 and "comment" in _error(missing)["details"]
    unknown = _act(client, application, "request_correction", comment="直して", fields=["nope"])
    assert unknown.status_code == 400 and "fields" in _error(unknown)["details"]
    assert not CorrectionRequest.objects.exists()


def test_who_recommended_cannot_also_decide_and_another_approver_does(city):
    application = file_application(city.permit)
    recommender = api(city.approver)
    assert _act(recommender, application, "claim").status_code == 200
    assert _act(recommender, application, "recommend_approval").status_code == 200
    refused = _act(recommender, application, "approve")
    assert refused.status_code == 403
    assert _error(refused)["code"] == "four_eyes"
    assert "four eyes" in _error(refused)["message"]
    blocked = recommender.get(f"{QUEUE}{application.pk}/").json()["blocked_actions"]
    assert {item["action"] for item in blocked} == {"approve", "reject", "return_to_review"}
    approved = _act(api(city.second_approver), application, "approve")
    assert approved.status_code == 200, approved.json()
    assert approved.json()["status"] == "approved"
    assert approved.json()["decided_by"]["id"] == city.second_approver.pk


def test_a_clerk_may_not_decide(city):
    application = file_application(city.permit)
    client = api(city.clerk)
    _act(client, application, "claim")
    _act(client, application, "recommend_approval")
    refused = _act(client, application, "approve")
    assert refused.status_code == 403 and _error(refused)["code"] == "not_allowed"


def test_an_action_impossible_in_the_state_is_a_409_listing_the_allowed_ones(city):
    application = file_application(city.permit)
    response = _act(api(city.approver), application, "approve")
    assert response.status_code == 409
    error = _error(response)
    assert error["code"] == "invalid_transition"
    assert error["details"] == {"status": "submitted", "allowed_actions": ["claim"]}
    assert "Start review" in error["message"]
    unknown = _act(api(city.approver), application, "explode")
    assert unknown.status_code == 400 and "action" in _error(unknown)["details"]


def test_someone_elses_case_cannot_be_acted_on(city):
    application = file_application(city.permit)
    _act(api(city.other_clerk), application, "claim")
    response = _act(api(city.clerk), application, "recommend_approval")
    assert response.status_code == 403 and _error(response)["code"] == "assignee"


# --- Assignment -------------------------------------------------------------------------------


def test_only_supervisors_assign(city):
    application = file_application(city.permit)
    url = f"{QUEUE}{application.pk}/assign/"
    refused = api(city.clerk).post(url, {"assignee": city.clerk.pk}, format="json")
    assert refused.status_code == 403 and _error(refused)["code"] == "not_allowed"
    done = api(city.supervisor).post(url, {"assignee": city.other_clerk.pk}, format="json")
    assert done.status_code == 200 and done.json()["assignee"]["id"] == city.other_clerk.pk
    timeline = done.json()["events"]
    assert timeline[-1]["kind"] == "assigned" and timeline[-1]["internal"] is True
    assert timeline[-1]["actor"]["name"] == city.supervisor.display_name
    cleared = api(city.supervisor).post(url, {"assignee": None}, format="json")
    assert cleared.json()["assignee"] is None


def test_assigning_to_someone_who_cannot_review_it_is_refused(city):
    application = file_application(city.permit)
    url = f"{QUEUE}{application.pk}/assign/"
    response = api(city.supervisor).post(url, {"assignee": city.tax_clerk.pk}, format="json")
    assert response.status_code == 400 and "assignee" in _error(response)["details"]
    response = api(city.supervisor).post(url, {"assignee": 999999}, format="json")
    assert response.status_code == 400 and "assignee" in _error(response)["details"]
    assert api(city.supervisor).post(url, {}, format="json").status_code == 400


def test_bulk_assignment_is_for_supervisors_and_all_or_nothing(city):
    first, second = file_application(city.permit), file_application(city.food_permit)
    foreign = file_application(city.tax_certificate)
    url = f"{QUEUE}assign/"
    body = {"applications": [first.pk, second.pk], "assignee": city.clerk.pk}
    refused = api(city.clerk).post(url, body, format="json")
    assert refused.status_code == 403
    response = api(city.supervisor).post(url, body, format="json")
    assert response.status_code == 200, response.json()
    assert {item["assignee"]["id"] for item in response.json()} == {city.clerk.pk}
    outside = api(city.supervisor).post(
        url, {"applications": [first.pk, foreign.pk], "assignee": None}, format="json"
    )
    assert outside.status_code == 404
    first.refresh_from_db()
    assert first.assignee_id == city.clerk.pk  # nothing changed
    unassigned = api(city.supervisor).post(
        url, {"applications": [first.pk, second.pk], "assignee": None}, format="json"
    )
    assert [item["assignee"] for item in unassigned.json()] == [None, None]


# --- Notes and files ----------------------------------------------------------------------


def test_internal_notes_are_for_staff_and_never_reach_the_resident(city):
    application = file_application(city.permit)
    url = f"{QUEUE}{application.pk}/notes/"
    added = api(city.clerk).post(url, {"text": "申請者に電話で確認済み"}, format="json")
    assert added.status_code == 201
    assert added.json()["author"]["name"] == city.clerk.display_name
    assert [note["text"] for note in api(city.approver).get(url).json()] == [
        "申請者に電話で確認済み"
    ]
    assert api(city.clerk).post(url, {"text": "  "}, format="json").status_code == 400
    case = api(city.clerk).get(f"{QUEUE}{application.pk}/").json()
    assert case["notes"][0]["text"] == "申請者に電話で確認済み"
    own = api(application.applicant).get(f"/api/v1/applications/{application.pk}/")
    assert own.status_code == 200 and "申請者に電話で確認済み" not in own.content.decode()
    assert api(application.applicant).get(url).status_code == 403
    assert api(city.tax_clerk).get(url).status_code == 404


def test_attachments_are_served_to_staff_of_the_organization_only(city):
    application = file_application(city.permit, files=(("plan.png", png_bytes()),))
    attachment = application.attachments.get()
    url = f"{QUEUE}{application.pk}/attachments/{attachment.public_id}/"
    download = api(city.clerk).get(url)
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    inline = api(city.clerk).get(url, {"inline": "1"})
    assert inline["Content-Disposition"].startswith("inline")
    assert inline["Content-Type"] == "image/png"
    assert b"".join(inline.streaming_content) == png_bytes()
    assert api(city.tax_clerk).get(url).status_code == 404
    assert api(city.clerk).get(f"{QUEUE}{application.pk}/attachments/nope/").status_code == 404


def test_issued_documents_are_downloadable_by_staff(city, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        application = file_application(city.permit)
    document = application.documents.get()
    url = f"{QUEUE}{application.pk}/documents/{document.pk}/"
    response = api(city.clerk).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    case = api(city.clerk).get(f"{QUEUE}{application.pk}/").json()
    assert case["documents"][0]["download"] == url
    assert api(city.tax_clerk).get(url).status_code == 404


# --- Cost -----------------------------------------------------------------------------------


def _queue_queries(client, params=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(QUEUE, params or {"page_size": 100})
    assert response.status_code == 200
    return len(queries)


def test_the_queue_costs_the_same_number_of_queries_for_3_or_30_rows(city):
    client = api(city.supervisor)
    people = [resident(f"申請者 {index}") for index in range(3)]
    for index in range(3):
        application = file_application(
            city.permit,
            people[index % 3],
            on_behalf_of_name="代理 太郎" if index % 2 else "",
            on_behalf_of_relationship="父" if index % 2 else "",
        )
    _act(api(city.clerk), application, "claim")
    few = _queue_queries(client)
    for index in range(27):
        file_application(city.food_permit if index % 2 else city.permit, people[index % 3])
    assert len(_ids(client.get(QUEUE, {"page_size": 100}))) == 30
    assert _queue_queries(client) == few
    assert Application.objects.exclude(status=S.DRAFT).count() == 30


# --- The shape of a queue row ----------------------------------------------------------------


def _expected_row(application: Application, *, title: str, label: str, overdue: bool) -> dict:
    application.refresh_from_db()
    return {
        "id": application.pk,
        "reference": application.reference,
        "procedure": {"code": application.procedure.code, "title": title},
        "applicant": {"id": application.applicant_id, "name": application.applicant.display_name},
        "on_behalf_of": {
            "name": application.on_behalf_of_name,
            "relationship": application.on_behalf_of_relationship,
        }
        if application.on_behalf_of_name
        else None,
        "status": application.status,
        "status_label": label,
        "assignee": {"id": application.assignee_id, "name": application.assignee.display_name}
        if application.assignee_id
        else None,
        "submitted_at": timezone.localtime(application.submitted_at).isoformat(),
        "due_date": application.due_date.isoformat() if application.due_date else None,
        "overdue": overdue,
        "url": f"/api/v1/queue/{application.pk}/",
    }


def test_a_queue_page_holds_exactly_these_keys_and_values_in_either_language(city):
    today = timezone.localdate()
    plain = file_application(city.permit, resident("山田 太郎"))
    proxy = file_application(
        city.food_permit,
        resident("鈴木 一郎"),
        on_behalf_of_name="鈴木 さくら",
        on_behalf_of_relationship="子",
    )
    late = file_application(city.permit, resident("佐藤 花子"))
    undated = file_application(city.permit, resident("高橋 次郎"))
    set_dates(plain, due=today + timedelta(days=3))
    set_dates(proxy, due=today + timedelta(days=5))
    set_dates(late, due=today - timedelta(days=1))
    Application.objects.filter(pk=undated.pk).update(due_date=None)
    assert _act(api(city.clerk), late, "claim").status_code == 200
    file_application(city.tax_certificate)  # another bureau's: never listed or counted

    token = AuthToken.objects.create(user=city.clerk)[1]
    for language, titles, labels in (
        (
            "en",
            {"health-permit": "Health permit", "food-permit": "Food permit"},
            {"submitted": "Submitted", "under_review": "Under review"},
        ),
        (
            "ja",
            {"health-permit": "保健許可", "food-permit": "食品営業許可"},
            {"submitted": "提出済み", "under_review": "審査中"},
        ),
    ):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE=language)
        response = client.get(QUEUE, {"page_size": 3})
        assert response.status_code == 200
        body = response.json()
        assert list(body) == ["results", "next", "counts"]
        expected = [
            _expected_row(
                application,
                title=titles[application.procedure.code],
                label=labels[state],
                overdue=application is late,
            )
            for application, state in (
                (late, "under_review"),
                (plain, "submitted"),
                (proxy, "submitted"),
            )
        ]
        assert body["results"] == expected
        # Same keys in the same order, not only equal dictionaries.
        assert [list(row) for row in body["results"]] == [list(row) for row in expected]
        assert [list(row["procedure"]) for row in body["results"]] == [["code", "title"]] * 3
        assert body["next"].startswith("http://testserver/api/v1/queue/?page_size=3&cursor=")
        assert list(body["counts"]) == [status for status in S.values if status != S.DRAFT]
        assert body["counts"] == {
            status: {"submitted": 3, "under_review": 1}.get(status, 0)
            for status in S.values
            if status != S.DRAFT
        }
        last = client.get(body["next"]).json()
        assert last["results"] == [
            _expected_row(
                undated, title=titles["health-permit"], label=labels["submitted"], overdue=False
            )
        ]
        assert last["next"] is None and last["counts"] == body["counts"]


def test_bulk_assignment_answers_with_the_rows_as_the_queue_shows_them(city):
    first = file_application(city.permit)
    second = file_application(
        city.food_permit, on_behalf_of_name="代理 太郎", on_behalf_of_relationship="父"
    )
    client = api(city.supervisor)
    response = client.post(
        f"{QUEUE}assign/",
        {"applications": [second.pk, first.pk], "assignee": city.clerk.pk},
        format="json",
    )
    assert response.status_code == 200, response.json()
    listed = {row["id"]: row for row in client.get(QUEUE).json()["results"]}
    assert response.json() == [listed[first.pk], listed[second.pk]]
    assert response.json()[0]["assignee"] == {"id": city.clerk.pk, "name": "係員 一郎"}
