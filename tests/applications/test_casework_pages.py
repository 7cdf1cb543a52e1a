"""The clerks' pages: the queue and the review page of one application, with the
action forms, assignment, notes and file previews."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from applications import services
from applications.casework.services import application_assign, note_add, workflow_act
from applications.models import ApplicationStatus, CorrectionRequest
from tests.applications.casework_setup import (
    PDF,
    City,
    file_application,
    png_bytes,
    resident,
    set_dates,
    verified_login,
)
from tests.factories import MY_NUMBER, PASSWORD

pytestmark = pytest.mark.django_db

S = ApplicationStatus
QUEUE = "/casework/"


@pytest.fixture
def city(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return City()


def signed_in(user) -> Client:
    client = Client()
    verified_login(client, user)
    return client


def _text(response) -> str:
    return unescape(response.content.decode())


def _case_url(application, suffix="") -> str:
    return f"{QUEUE}{application.pk}/{suffix}"


def _references(response) -> list[str]:
    """The references in the queue's table, in order."""
    return re.findall(r'class="queue-table__reference">([^<]+)<', response.content.decode())


# --- The queue ------------------------------------------------------------------------------


def test_the_queue_lists_the_organizations_applications_and_its_childrens(city):
    own = file_application(city.permit)
    child = file_application(
        city.food_permit,
        resident("鈴木 一郎"),
        on_behalf_of_name="鈴木 さくら",
        on_behalf_of_relationship="子",
    )
    other = file_application(city.tax_certificate)
    response = signed_in(city.clerk).get(QUEUE)
    assert response.status_code == 200
    assert set(_references(response)) == {own.reference, child.reference}
    text = _text(response)
    assert "Health permit" in text and "Food permit" in text
    assert "on behalf of 鈴木 さくら" in text
    assert other.reference not in text
    assert _references(signed_in(city.tax_clerk).get(QUEUE)) == [other.reference]


def test_the_queue_is_in_the_navigation_of_reviewers_only(city):
    clerk_page = signed_in(city.clerk).get("/")
    assert f'href="{QUEUE}"' in clerk_page.content.decode()
    applicant = resident()
    client = Client()
    client.post("/accounts/login/", {"email": applicant.email, "password": PASSWORD})
    assert f'href="{QUEUE}"' not in client.get("/").content.decode()
    assert client.get(QUEUE).status_code == 403
    application = file_application(city.permit)
    assert client.get(_case_url(application)).status_code == 404


def test_staff_without_the_second_factor_are_sent_to_it(city):
    client = Client()
    client.post("/accounts/login/", {"email": city.clerk.email, "password": PASSWORD})
    response = client.get(QUEUE)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/2fa/")


def test_the_filters_narrow_the_queue_and_stay_filled_in(city):
    today = timezone.localdate()
    late = file_application(city.permit, resident("佐藤 花子"))
    mine = file_application(city.permit)
    food = file_application(city.food_permit)
    set_dates(late, due=today - timedelta(days=2), submitted=today - timedelta(days=20))
    workflow_act(actor=city.clerk, application=mine, action="claim")
    client = signed_in(city.clerk)

    overdue = client.get(QUEUE, {"overdue": "1"})
    assert _references(overdue) == [late.reference]
    assert "Overdue" in _text(overdue)  # in words, not only in colour
    assert 'id="filter-overdue" checked' in overdue.content.decode()

    assert _references(client.get(QUEUE, {"assignee": "me"})) == [mine.reference]
    assert set(_references(client.get(QUEUE, {"assignee": "unassigned"}))) == {
        late.reference,
        food.reference,
    }
    assert _references(client.get(QUEUE, {"status": "under_review"})) == [mine.reference]
    assert _references(client.get(QUEUE, {"procedure": "food-permit"})) == [food.reference]
    assert _references(client.get(QUEUE, {"due_within": "0"})) == [late.reference]
    period = {"submitted_to": (today - timedelta(days=10)).isoformat()}
    assert _references(client.get(QUEUE, period)) == [late.reference]
    searched = client.get(QUEUE, {"q": "佐藤"})
    assert _references(searched) == [late.reference]
    assert 'value="佐藤"' in searched.content.decode()
    assert _references(client.get(QUEUE, {"q": food.reference})) == [food.reference]
    assert _references(client.get(QUEUE, {"sort": "-submitted"}))[-1] == late.reference


def test_counts_per_state_are_links_that_filter(city):
    claimed = file_application(city.permit)
    file_application(city.permit)
    workflow_act(actor=city.clerk, application=claimed, action="claim")
    response = signed_in(city.clerk).get(QUEUE, {"procedure": "health-permit"})
    html = response.content.decode()
    link = re.search(
        r'<a href="([^"]+)"><span class="state-counts__label">Under review</span> '
        r'<span class="state-counts__count">(\d+)</span>',
        html,
    )
    assert link and link.group(2) == "1"
    url = unescape(link.group(1))
    assert "status=under_review" in url and "procedure=health-permit" in url
    assert _references(signed_in(city.clerk).get(url)) == [claimed.reference]
    submitted = re.search(r'Submitted</span> <span class="state-counts__count">(\d+)<', html)
    assert submitted.group(1) == "1"


def test_the_next_page_link_keeps_the_filters_and_pages_do_not_overlap(city, monkeypatch):
    monkeypatch.setattr("applications.casework.queue.PAGE_SIZE", 2)
    applications = [file_application(city.permit) for _ in range(5)]
    file_application(city.food_permit)
    client = signed_in(city.clerk)
    url = f"{QUEUE}?procedure=health-permit"
    seen = []
    pages = 0
    while url:
        pages += 1
        response = client.get(url)
        seen += _references(response)
        found = re.search(
            r'<a href="([^"]+)" class="button button--secondary">Next page', _text(response)
        )
        url = unescape(found.group(1)) if found else ""
        if url:
            assert "procedure=health-permit" in url and "cursor=" in url
    assert sorted(seen) == sorted(item.reference for item in applications)
    assert len(seen) == len(set(seen)) == 5
    assert pages == 3


@pytest.mark.parametrize(
    "params, message",
    [
        ({"cursor": "garbage"}, "This page link is not valid."),
        ({"due_within": "soon"}, "Give a number of business days from 0 to 365."),
        ({"submitted_from": "yesterday"}, "Enter a date as YYYY-MM-DD."),
        ({"status": "lost"}, "Unknown state: lost"),
        ({"sort": "random"}, "Sort by due date or submission time."),
    ],
)
def test_a_bad_filter_or_page_link_is_explained_not_a_server_error(city, params, message):
    file_application(city.permit)
    response = signed_in(city.clerk).get(QUEUE, params)
    assert response.status_code == 400
    text = _text(response)
    assert "There is a problem" in text and message in text


def test_the_error_summary_links_to_the_filter_at_fault(city):
    response = signed_in(city.clerk).get(QUEUE, {"due_within": "soon"})
    html = response.content.decode()
    assert '<a href="#filter-due-within">' in html
    assert 'id="filter-due-within"' in html and 'aria-invalid="true"' in html


def test_claim_next_opens_the_most_urgent_waiting_application(city):
    today = timezone.localdate()
    later = file_application(city.permit)
    urgent = file_application(city.permit)
    set_dates(later, due=today + timedelta(days=5))
    set_dates(urgent, due=today + timedelta(days=1))
    client = signed_in(city.clerk)
    response = client.post(f"{QUEUE}claim-next/", {"procedure": "", "query": ""})
    assert response.status_code == 302 and response["Location"] == _case_url(urgent)
    urgent.refresh_from_db()
    assert urgent.status == S.UNDER_REVIEW and urgent.assignee == city.clerk
    assert "You claimed" in _text(client.get(response["Location"]))
    client.post(f"{QUEUE}claim-next/", {"query": "assignee=me"})
    nothing = client.post(f"{QUEUE}claim-next/", {"query": "assignee=me"}, follow=True)
    assert "No application is waiting to be claimed." in _text(nothing)
    assert nothing.redirect_chain[-1][0] == f"{QUEUE}?assignee=me"


def test_bulk_assignment_from_the_queue_is_for_supervisors(city):
    first, second = file_application(city.permit), file_application(city.permit)
    body = {"applications": [first.pk, second.pk], "assignee": str(city.clerk.pk), "query": ""}
    clerk = signed_in(city.clerk)
    assert 'id="bulk-assign"' not in clerk.get(QUEUE).content.decode()
    assert clerk.post(f"{QUEUE}assign/", body).status_code == 403
    supervisor = signed_in(city.supervisor)
    page = supervisor.get(QUEUE).content.decode()
    assert 'id="bulk-assign"' in page and f'value="{city.clerk.pk}"' in page
    done = supervisor.post(f"{QUEUE}assign/", body, follow=True)
    assert "2 application(s) assigned to 係員 一郎." in _text(done)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.assignee == second.assignee == city.clerk
    cleared = supervisor.post(f"{QUEUE}assign/", {**body, "assignee": "none"}, follow=True)
    assert "2 application(s) are now unassigned." in _text(cleared)
    empty = supervisor.post(f"{QUEUE}assign/", {"assignee": "none"}, follow=True)
    assert "Choose at least one application to assign." in _text(empty)
    outsider = supervisor.post(
        f"{QUEUE}assign/",
        {"applications": [first.pk], "assignee": str(city.tax_clerk.pk)},
        follow=True,
    )
    assert "This person cannot review applications of this procedure." in _text(outsider)


# --- The review page ----------------------------------------------------------------------


def services_assign(city, application) -> None:
    """The supervisor keeps the case with the clerk who claimed it (a staff-only step)."""
    application_assign(actor=city.supervisor, application=application, assignee=None)
    application_assign(actor=city.supervisor, application=application, assignee=city.clerk)


def test_the_review_page_shows_the_case(city):
    application = file_application(
        city.permit, files=(("plan.pdf", PDF), ("photo.png", png_bytes()))
    )
    workflow_act(actor=city.clerk, application=application, action="claim")
    note_add(actor=city.approver, application=application, text="急ぎ")
    services_assign(city, application)
    response = signed_in(city.clerk).get(_case_url(application))
    assert response.status_code == 200
    text = _text(response)
    assert application.reference in text and "Health permit" in text
    assert "Under review" in text and "係員 一郎" in text
    assert MY_NUMBER not in text and "********" + MY_NUMBER[-4:] in text
    assert "就職のため" in text
    assert "Valid: the filing is unchanged and signed by the platform" in text
    # The full timeline with who did what, staff-only steps included.
    assert "Review started</strong>\n      — 係員 一郎" in text
    assert "Assigned</strong>\n      — 課長 三郎" in text and "Staff only" in text
    html = response.content.decode()
    pdf = application.attachments.get(original_name="plan.pdf")
    png = application.attachments.get(original_name="photo.png")
    assert (
        f'<iframe class="attachment__preview attachment__preview--pdf" src="{_case_url(application)}attachments/{pdf.public_id}/?inline=1"'
        in html
    )
    assert (
        f'src="{_case_url(application)}attachments/{png.public_id}/?inline=1" alt="Preview of photo.png"'
        in html
    )
    # The action forms the clerk may use now.
    for action in ("request_correction", "recommend_approval", "recommend_rejection"):
        assert f'id="action-{action}"' in html
    assert 'id="action-approve"' not in html


def test_a_tampered_revision_shows_as_invalid(city):
    application = file_application(city.permit)
    revision = application.revisions.get()
    revision.filing["answers"]["purpose"] = "改ざん"
    revision.save(update_fields=["filing"])
    text = _text(signed_in(city.clerk).get(_case_url(application)))
    assert "Invalid" in text and "The stored filing no longer matches its digest." in text


def test_another_organizations_application_is_not_found(city):
    application = file_application(city.tax_certificate, files=(("plan.png", png_bytes()),))
    client = signed_in(city.clerk)
    assert client.get(_case_url(application)).status_code == 404
    attachment = application.attachments.get()
    inline = f"{_case_url(application)}attachments/{attachment.public_id}/?inline=1"
    assert client.get(inline).status_code == 404
    assert client.post(_case_url(application, "act/"), {"action": "claim"}).status_code == 404
    assert client.post(_case_url(application, "notes/"), {"text": "x"}).status_code == 404


def test_staff_preview_attachments_in_place_and_the_frame_is_allowed_for_our_pages(city):
    application = file_application(city.permit, files=(("plan.pdf", PDF),))
    attachment = application.attachments.get()
    url = f"{_case_url(application)}attachments/{attachment.public_id}/"
    client = signed_in(city.clerk)
    inline = client.get(url, {"inline": "1"})
    assert inline.status_code == 200
    assert inline["Content-Disposition"].startswith("inline")
    assert inline["Content-Type"] == "application/pdf"
    assert inline["X-Content-Type-Options"] == "nosniff"
    assert inline["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in inline["Content-Security-Policy"]
    assert client.get(url)["Content-Disposition"].startswith("attachment")
    # The resident's own pages never show it in place, and other pages stay unframeable.
    page = client.get(_case_url(application))
    assert page["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]


def test_a_correction_requested_from_the_page_reaches_the_resident(city):
    application = file_application(city.permit)
    workflow_act(actor=city.clerk, application=application, action="claim")
    client = signed_in(city.clerk)
    response = client.post(
        _case_url(application, "act/"),
        {
            "action": "request_correction",
            "fields": ["purpose"],
            "comment": "使用目的を具体的に書いてください。",
        },
    )
    assert response.status_code == 302
    correction = CorrectionRequest.objects.get(application=application)
    assert correction.fields == ["purpose"] and correction.requested_by == city.clerk
    page = _text(client.get(response["Location"]))
    assert "Correction requested" in page and "使用目的を具体的に書いてください。" in page
    applicant = Client()
    applicant.post("/accounts/login/", {"email": application.applicant.email, "password": PASSWORD})
    own = applicant.get(f"/api/v1/applications/{application.pk}/").json()
    assert own["status"] == "correction_requested"
    assert own["correction"]["message"] == "使用目的を具体的に書いてください。"


def test_the_resubmitted_revision_is_compared_with_the_previous_one(city):
    application = file_application(city.permit)
    workflow_act(actor=city.clerk, application=application, action="claim")
    workflow_act(
        actor=city.clerk,
        application=application,
        action="request_correction",
        comment="具体的に",
        fields=["purpose"],
    )
    applicant = application.applicant
    services.application_save_step(
        actor=applicant,
        application=application,
        step_key="details",
        answers={"purpose": "飲食店の開業のため"},
    )
    services.application_resubmit(
        actor=applicant, application=application, declaration=True, note="直しました"
    )
    text = _text(signed_in(city.clerk).get(_case_url(application)))
    assert "Changes from revision 1 to 2" in text
    assert re.search(
        r'Purpose</th><td data-label="Before"><del>就職のため</del></td>'
        r'<td data-label="After"><ins>飲食店の開業のため</ins>',
        text,
    )
    assert "Name</th>" not in text.split("Changes from revision 1 to 2")[1].split("</table>")[0]
    assert "直しました" in text  # the resident's note with the corrections
    assert text.count("Valid: the filing is unchanged") == 2


def test_a_correction_without_fields_shows_an_error_summary_linked_to_the_checkboxes(city):
    application = file_application(city.permit)
    workflow_act(actor=city.clerk, application=application, action="claim")
    response = signed_in(city.clerk).post(
        _case_url(application, "act/"),
        {"action": "request_correction", "comment": "直してください"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "There is a problem" in html
    assert '<a href="#fields-request_correction-full_name">' in html
    assert "直してください</textarea>" in html  # what was typed is kept
    assert not CorrectionRequest.objects.exists()


def test_four_eyes_the_recommender_is_refused_and_another_approver_decides(city):
    application = file_application(city.permit)
    recommender = signed_in(city.approver)
    recommender.post(_case_url(application, "act/"), {"action": "claim"})
    done = recommender.post(
        _case_url(application, "act/"), {"action": "recommend_approval"}, follow=True
    )
    assert "is now “Recommended for decision”" in _text(done)
    # No approve button for the recommender; the reason is said instead.
    page = recommender.get(_case_url(application))
    assert 'id="action-approve"' not in page.content.decode()
    assert "another person must take it (four eyes)" in _text(page)
    refused = recommender.post(_case_url(application, "act/"), {"action": "approve"})
    assert refused.status_code == 403
    assert "You recommended this decision, so another person must take it (four eyes)." in _text(
        refused
    )
    application.refresh_from_db()
    assert application.status == S.RECOMMENDED
    second = signed_in(city.second_approver)
    assert 'id="action-approve"' in second.get(_case_url(application)).content.decode()
    approved = second.post(_case_url(application, "act/"), {"action": "approve"})
    assert approved.status_code == 302
    application.refresh_from_db()
    assert application.status == S.APPROVED and application.decided_by == city.second_approver


def test_an_impossible_action_says_what_is_possible(city):
    application = file_application(city.permit)
    response = signed_in(city.approver).post(_case_url(application, "act/"), {"action": "approve"})
    assert response.status_code == 409
    text = _text(response)
    assert "is not possible while the application is “Submitted”" in text
    assert "Possible now: Start review." in text


def test_assigning_from_the_review_page_is_for_supervisors(city):
    application = file_application(city.permit)
    clerk = signed_in(city.clerk)
    assert 'id="assign"' not in clerk.get(_case_url(application)).content.decode()
    refused = clerk.post(_case_url(application, "assign/"), {"assignee": str(city.clerk.pk)})
    assert refused.status_code == 403
    assert "Only a supervisor may assign applications." in _text(refused)
    supervisor = signed_in(city.supervisor)
    page = supervisor.get(_case_url(application)).content.decode()
    assert 'id="assign"' in page and "係員 二郎" in page and "税務 四郎" not in page
    done = supervisor.post(
        _case_url(application, "assign/"), {"assignee": str(city.other_clerk.pk)}, follow=True
    )
    assert "The application is assigned to 係員 二郎." in _text(done)
    application.refresh_from_db()
    assert application.assignee == city.other_clerk
    wrong = supervisor.post(_case_url(application, "assign/"), {"assignee": "abc"})
    assert wrong.status_code == 400 and '<a href="#assign-assignee">' in wrong.content.decode()


def test_internal_notes_are_shown_to_staff_and_never_to_the_resident(city):
    application = file_application(city.permit)
    client = signed_in(city.clerk)
    response = client.post(_case_url(application, "notes/"), {"text": "本人確認書類は窓口で確認"})
    assert response.status_code == 302
    page = _text(client.get(_case_url(application)))
    assert "本人確認書類は窓口で確認" in page and "係員 一郎" in page
    empty = client.post(_case_url(application, "notes/"), {"text": " "})
    assert empty.status_code == 400 and '<a href="#note-text">' in empty.content.decode()
    note_add(actor=city.approver, application=application, text="決裁前に課長へ相談")
    # Staff-only steps of the timeline, and what they say, stay inside too.
    workflow_act(actor=city.clerk, application=application, action="claim")
    workflow_act(
        actor=city.clerk, application=application, action="recommend_approval", comment="起案メモ"
    )

    applicant = Client()
    applicant.post("/accounts/login/", {"email": application.applicant.email, "password": PASSWORD})
    for url in (f"/applications/{application.pk}/", f"/api/v1/applications/{application.pk}/"):
        response = applicant.get(url)
        assert response.status_code == 200
        body = _text(response)
        assert "本人確認書類は窓口で確認" not in body and "決裁前に課長へ相談" not in body
        assert "起案メモ" not in body and "Approval recommended" not in body
    assert applicant.get(_case_url(application)).status_code == 404


def test_issued_documents_download_for_staff(city, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        application = file_application(city.permit)
    document = application.documents.get()
    client = signed_in(city.clerk)
    html = client.get(_case_url(application)).content.decode()
    url = f"{_case_url(application)}documents/{document.pk}/"
    assert f'href="{url}"' in html
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert signed_in(city.tax_clerk).get(url).status_code == 404


# --- Cost -----------------------------------------------------------------------------------


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(QUEUE)
    assert response.status_code == 200
    return len(queries)


def test_the_queue_page_costs_the_same_number_of_queries_for_3_or_30_rows(city):
    people = [resident(f"申請者 {index}") for index in range(3)]
    for index in range(3):
        application = file_application(city.permit, people[index])
    workflow_act(actor=city.clerk, application=application, action="claim")
    client = signed_in(city.supervisor)
    few = _queries(client)
    for index in range(27):
        file_application(city.food_permit if index % 2 else city.permit, people[index % 3])
    assert len(_references(client.get(QUEUE))) == 25  # one page
    assert _queries(client) == few
