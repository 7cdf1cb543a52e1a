"""Filing inside a procedure's application window only: a draft is started and
submitted while it is open (pages, API, filing on someone's behalf), a draft of a
closed procedure is kept but refused with a clear message, and cases submitted
before the close go on (corrections, payments, withdrawal)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from applications.casework.services import workflow_act
from applications.models import Application, ApplicationStatus
from applications.services import (
    application_resubmit,
    application_save_step,
    application_start,
    application_submit,
    application_withdraw,
)
from procedures.services import procedure_update
from procedures.window import ProcedureNotOpen
from tests.factories import MY_NUMBER, MembershipFactory, UserFactory, publish_procedure
from tests.payments.conftest import definition, file_application, resident_client

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")
OPENS = datetime(2027, 4, 1, tzinfo=TOKYO)
CLOSES = datetime(2027, 5, 1, tzinfo=TOKYO)
BEFORE = datetime(2027, 3, 15, 12, tzinfo=TOKYO)
DURING = datetime(2027, 4, 15, 12, tzinfo=TOKYO)
AFTER = datetime(2027, 5, 2, 9, tzinfo=TOKYO)
CLOSED_MESSAGE = (
    "この手続の受付は2027年4月30日 23:59で終了したため、申請を送信できません。"
    "下書きは保存されています。"
)
CLOSED_MESSAGE_EN = (
    "This application can no longer be submitted: applications for this procedure were "
    "accepted until April 30, 2027, 23:59 (Japan time). Your draft is kept."
)


@pytest.fixture
def subsidy(government):
    """A fee-free procedure open in April 2027 (Japan time)."""
    fee_free = definition()
    fee_free["fee"] = {"kind": "none"}
    procedure = publish_procedure(
        code="subsidy",
        definition=fee_free,
        organization=government,
        title_ja="デジタル化助成金",
        title_en="Digitalization subsidy",
    )
    return procedure_update(actor=None, procedure=procedure, opens_at=OPENS, closes_at=CLOSES)


@pytest.fixture
def resident():
    return UserFactory(display_name="山田 太郎")


def _filled_draft(procedure, resident) -> Application:
    application = application_start(actor=resident, procedure=procedure)
    application_save_step(
        actor=resident,
        application=application,
        step_key="applicant",
        answers={"full_name": "山田 太郎", "my_number": MY_NUMBER},
    )
    application_save_step(
        actor=resident, application=application, step_key="details", answers={"purpose": "開業"}
    )
    return application


def _api(user, language="en") -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    client.credentials(HTTP_ACCEPT_LANGUAGE=language)
    return client


# --- The exact bounds ----------------------------------------------------------------------


def test_a_draft_is_submitted_until_the_last_instant_before_the_close(subsidy, resident):
    with time_machine.travel(DURING, tick=False):
        early, late = _filled_draft(subsidy, resident), _filled_draft(subsidy, resident)
    with time_machine.travel(CLOSES - timedelta(microseconds=1), tick=False):
        submitted = application_submit(actor=resident, application=early, declaration=True)
    assert submitted.status == ApplicationStatus.SUBMITTED

    with time_machine.travel(CLOSES, tick=False), pytest.raises(ProcedureNotOpen) as refused:
        application_submit(actor=resident, application=late, declaration=True)
    assert refused.value.code == "procedure_closed"
    assert str(refused.value.message) == CLOSED_MESSAGE
    late.refresh_from_db()
    assert late.status == ApplicationStatus.DRAFT
    assert late.reference == "" or late.reference is None
    assert late.answers["purpose"] == "開業"  # nothing lost


def test_a_draft_cannot_be_started_until_the_procedure_opens(subsidy, resident):
    with time_machine.travel(OPENS - timedelta(microseconds=1), tick=False):
        with pytest.raises(ProcedureNotOpen) as refused:
            application_start(actor=resident, procedure=subsidy)
        # Filing on someone else's behalf goes through the same door.
        with pytest.raises(ProcedureNotOpen):
            application_start(
                actor=resident,
                procedure=subsidy,
                on_behalf_of_name="山田 花子",
                on_behalf_of_relationship="母",
            )
    assert refused.value.code == "procedure_not_yet_open"
    assert str(refused.value.message) == (
        "この手続の受付は2027年4月1日 0:00に始まります。その時から申請を始めてください。"
    )
    assert not Application.objects.exists()
    with time_machine.travel(OPENS, tick=False):
        assert application_start(actor=resident, procedure=subsidy).is_draft


def test_a_new_draft_is_refused_once_the_procedure_closed(subsidy, resident):
    with time_machine.travel(AFTER, tick=False), pytest.raises(ProcedureNotOpen) as refused:
        application_start(actor=resident, procedure=subsidy)
    assert refused.value.code == "procedure_closed"
    assert not Application.objects.exists()


# --- Pages ---------------------------------------------------------------------------------


def test_the_start_button_refused_before_opening_says_when_it_opens(subsidy, resident):
    client = Client()
    with time_machine.travel(BEFORE, tick=False):
        client.force_login(resident)
        response = client.post(reverse("applications:start", args=[subsidy.code]), follow=True)
    assert response.redirect_chain[-1][0] == f"/procedures/{subsidy.code}/"
    page = response.content.decode()
    assert "この手続の受付は2027年4月1日 0:00に始まります。" in page
    assert not Application.objects.exists()


def test_submitting_a_draft_after_the_close_is_refused_on_the_page_and_the_draft_kept(
    subsidy, resident
):
    with time_machine.travel(DURING, tick=False):
        draft = _filled_draft(subsidy, resident)
    client = Client()
    check = reverse("applications:check", args=[draft.pk])
    with time_machine.travel(AFTER, tick=False):
        client.force_login(resident)
        shown = client.get(check).content.decode()
        refused = client.post(check, {"declaration": "on"})
        listed = client.get(reverse("applications:list")).content.decode()
        detail = client.get(reverse("applications:detail", args=[draft.pk])).content.decode()
        resident.preferred_language = "en"
        resident.save(update_fields=["preferred_language"])
        english = client.post(check, {"declaration": "on"}).content.decode()

    # Before pressing anything, the page says it; the declaration is not offered.
    assert "受付は終了しました。" in shown
    assert 'name="declaration"' not in shown
    assert refused.status_code == 409
    page = refused.content.decode()
    assert 'role="alert"' in page
    assert "この手続の受付は2027年4月30日 23:59で終了したため、この下書きは送信できません。" in page
    assert "Applications have closed." in english
    assert "applications for this procedure were accepted until April 30, 2027, 23:59" in english
    assert "送信できません（受付は2027年4月30日 23:59まででした）" in listed
    assert "この下書きは送信できません" in detail
    draft.refresh_from_db()
    assert draft.status == ApplicationStatus.DRAFT
    assert draft.answers["purpose"] == "開業"


def test_a_draft_of_an_open_procedure_shows_no_window_notice(subsidy, resident):
    with time_machine.travel(DURING, tick=False):
        draft = _filled_draft(subsidy, resident)
        client = Client()
        client.force_login(resident)
        check = client.get(reverse("applications:check", args=[draft.pk])).content.decode()
        listed = client.get(reverse("applications:list")).content.decode()
    assert 'name="declaration"' in check
    assert 'id="application-window"' not in check
    assert "送信できません" not in listed


# --- The API -------------------------------------------------------------------------------


def test_the_api_refuses_to_submit_after_the_close_with_a_code_and_keeps_the_draft(
    subsidy, resident
):
    with time_machine.travel(DURING, tick=False):
        draft = _filled_draft(subsidy, resident)
    with time_machine.travel(AFTER, tick=False):
        api = _api(resident)
        refused = api.post(
            f"/api/v1/applications/{draft.pk}/submit/", {"declaration": True}, format="json"
        )
        detail = api.get(f"/api/v1/applications/{draft.pk}/").json()
        japanese = _api(resident, "ja").post(
            f"/api/v1/applications/{draft.pk}/submit/", {"declaration": True}, format="json"
        )

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "procedure_closed"
    assert refused.json()["error"]["message"] == CLOSED_MESSAGE_EN
    assert japanese.json()["error"]["message"] == CLOSED_MESSAGE
    assert detail["status"] == "draft"
    assert detail["next_step"]["code"] == "procedure_closed"
    draft.refresh_from_db()
    assert draft.is_draft


def test_the_api_refuses_to_start_before_the_opening(subsidy, resident):
    with time_machine.travel(BEFORE, tick=False):
        refused = _api(resident).post(
            "/api/v1/applications/", {"procedure": subsidy.code}, format="json"
        )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "procedure_not_yet_open"
    assert "April 1, 2027, 0:00 (Japan time)" in refused.json()["error"]["message"]
    assert not Application.objects.exists()


# --- Cases submitted before the close go on -----------------------------------------------


def test_a_correction_is_answered_after_the_close(subsidy, resident, government):
    clerk = MembershipFactory(organization=government, role="clerk").user
    with time_machine.travel(DURING, tick=False):
        application = application_submit(
            actor=resident, application=_filled_draft(subsidy, resident), declaration=True
        )
        workflow_act(actor=clerk, application=application, action="claim")
        workflow_act(
            actor=clerk,
            application=application,
            action="request_correction",
            comment="目的を具体的に書いてください。",
            fields=["purpose"],
        )
    with time_machine.travel(AFTER, tick=False):
        application_save_step(
            actor=resident,
            application=application,
            step_key="details",
            answers={"purpose": "飲食店の開業"},
        )
        corrected = application_resubmit(actor=resident, application=application, declaration=True)
        withdrawn = application_withdraw(
            actor=resident, application=application, reason="計画を見直すため"
        )
    assert corrected.revision == 2
    assert withdrawn.status == ApplicationStatus.WITHDRAWN


def test_a_fee_is_paid_after_the_close(government):
    permit = publish_procedure(
        code="stall-permit", definition=definition(), organization=government
    )
    procedure_update(actor=None, procedure=permit, opens_at=OPENS, closes_at=CLOSES)
    with time_machine.travel(DURING, tick=False):
        application = file_application(permit)
    assert application.status == ApplicationStatus.PAYMENT_PENDING
    with time_machine.travel(AFTER, tick=False):
        started = resident_client(application.applicant).post(
            "/api/v1/payments/",
            {"application": application.pk, "method": "card"},
            content_type="application/json",
            headers={"Idempotency-Key": "after-close"},
        )
    assert started.status_code == 201, started.content
