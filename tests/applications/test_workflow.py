"""The workflow engine and the casework services: transitions as data, who may
take them, their guards (four eyes, assignee, fee), corrections with their
history, the processing period in business days, decisions delivered as signed
documents, and what happens when two people act at once."""

from __future__ import annotations

import threading
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.utils import timezone, translation

from accounts.models import Notification
from applications import workflow
from applications.business_days import add_business_days, business_days_between, is_business_day
from applications.casework.services import (
    application_assign,
    application_claim_next,
    note_add,
    workflow_act,
)
from applications.documents import verify_code, verify_pdf
from applications.models import (
    Application,
    ApplicationStatus,
    CorrectionRequest,
    DocumentKind,
)
from applications.selectors import resident_events
from applications.services import (
    application_resubmit,
    application_save_step,
    application_start,
    application_submit,
    application_withdraw,
    attachment_add,
    attachment_remove,
)
from audit.models import AuditEvent
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from procedures.form_engine.definition import definition_schema, workflow_problems
from procedures.services import DefinitionInvalid
from tests.factories import (
    MY_NUMBER,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
    applicant_step,
    publish_procedure,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English (Japanese is the default language)."""
    with translation.override("en"):
        yield


S = ApplicationStatus
TOKYO = ZoneInfo("Asia/Tokyo")
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def _definition(*, approval="four_eyes", fee=None) -> dict:
    return {
        "form": {
            "steps": [
                applicant_step(),
                {
                    "key": "request",
                    "title": {"ja": "申請内容", "en": "Request"},
                    "fields": [
                        {
                            "key": "purpose",
                            "type": "text",
                            "label": {"ja": "目的", "en": "Purpose"},
                            "required": True,
                        },
                        {
                            "key": "plan",
                            "type": "file",
                            "label": {"ja": "計画書", "en": "Plan"},
                            "accept": ["pdf"],
                            "max_files": 2,
                        },
                    ],
                },
            ]
        },
        "fee": fee or {"kind": "none"},
        "workflow": {"approval": approval},
        "delivery": {"methods": ["electronic"]},
        "contact": {"channels": ["email"]},
        "result_document": {
            "kind": "permit",
            "title": {"ja": "営業許可書", "en": "Business Permit"},
            "body": {"ja": "上記のとおり許可します。", "en": "The above is permitted."},
        },
    }


@pytest.fixture
def office():
    """A department with a clerk, an approver and a supervisor; and an outsider
    reviewing for another department."""
    city = OrganizationFactory(code="city", name_ja="市", name_en="City", kind="government")
    department = OrganizationFactory(code="commerce", name_ja="商工課", parent=city)
    other = OrganizationFactory(code="parks", name_ja="公園課", parent=city)
    people = {
        "clerk": UserFactory(display_name="審査 一郎"),
        "clerk2": UserFactory(display_name="審査 二郎"),
        "approver": UserFactory(display_name="決裁 花子"),
        "supervisor": UserFactory(display_name="課長 三郎"),
        "outsider": UserFactory(display_name="他課 四郎"),
    }
    MembershipFactory(user=people["clerk"], organization=department, role="clerk")
    MembershipFactory(user=people["clerk2"], organization=department, role="clerk")
    MembershipFactory(user=people["approver"], organization=department, role="approver")
    MembershipFactory(user=people["supervisor"], organization=department, role="department_admin")
    MembershipFactory(user=people["outsider"], organization=other, role="approver")
    return {"department": department, **people}


def _procedure(office, **kwargs):
    return publish_procedure(
        code=kwargs.pop("code", "shop-permit"),
        definition=_definition(**kwargs),
        organization=office["department"],
        processing_days=5,
    )


def _file(procedure, resident=None, *, purpose="開業") -> Application:
    resident = resident or UserFactory()
    application = application_start(actor=resident, procedure=procedure)
    application_save_step(
        actor=resident,
        application=application,
        step_key="applicant",
        answers={"full_name": "山田 太郎", "my_number": MY_NUMBER},
    )
    application_save_step(
        actor=resident, application=application, step_key="request", answers={"purpose": purpose}
    )
    return application_submit(actor=resident, application=application, declaration=True)


def _upload(name="plan.pdf", content=PDF):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="application/pdf")


# --- Business days ---------------------------------------------------------------------


def test_weekends_holidays_and_the_year_end_closure_are_not_business_days():
    assert is_business_day(date(2027, 4, 30))  # Friday
    assert not is_business_day(date(2027, 5, 1))  # Saturday
    assert not is_business_day(date(2027, 5, 3))  # Constitution Memorial Day
    assert not is_business_day(date(2027, 5, 4))  # Greenery Day
    assert not is_business_day(date(2027, 5, 5))  # Children's Day
    assert not is_business_day(date(2026, 12, 29))  # year-end closure, a Tuesday
    assert not is_business_day(date(2027, 1, 1))
    assert not is_business_day(date(2027, 1, 3))  # a Sunday, but closed anyway
    assert is_business_day(date(2027, 1, 4))


def test_adding_business_days_skips_the_year_end_closure():
    # Fri 25 Dec 2026 + 3: Mon 28 Dec, (29 Dec to 3 Jan closed), Mon 4 Jan, Tue 5 Jan.
    assert add_business_days(date(2026, 12, 25), 3) == date(2027, 1, 5)
    assert business_days_between(date(2026, 12, 25), date(2027, 1, 5)) == 3
    assert business_days_between(date(2027, 1, 5), date(2027, 1, 5)) == 0


def test_the_due_date_across_golden_week_and_a_correction_matches_a_hand_count(office, monkeypatch):
    """Filed Wed 28 Apr 2027, five business days: Fri 30 Apr (1), [1-5 May: weekend
    and three holidays], Thu 6 (2), Fri 7 (3), Mon 10 (4), Tue 11 May (5).
    A correction requested Thu 6 May and answered Wed 12 May stops the clock for
    the business days 7, 10, 11 and 12 May (4), so the due date moves four
    business days: 12 (6), 13 (7), 14 (8), Mon 17 May (9)."""
    procedure = _procedure(office)
    now = {"moment": datetime(2027, 4, 28, 10, 0, tzinfo=TOKYO)}
    monkeypatch.setattr(timezone, "now", lambda: now["moment"])

    application = _file(procedure)
    assert application.due_date == date(2027, 5, 11)

    now["moment"] = datetime(2027, 5, 6, 9, 0, tzinfo=TOKYO)
    workflow_act(actor=office["clerk"], application=application, action="claim")
    workflow_act(
        actor=office["clerk"],
        application=application,
        action="request_correction",
        comment="目的を具体的に書いてください。",
        fields=["purpose"],
    )
    now["moment"] = datetime(2027, 5, 12, 16, 0, tzinfo=TOKYO)
    application_save_step(
        actor=application.applicant,
        application=application,
        step_key="request",
        answers={"purpose": "飲食店の開業"},
    )
    resubmitted = application_resubmit(
        actor=application.applicant, application=application, declaration=True
    )

    assert resubmitted.paused_business_days == 4
    assert resubmitted.due_date == date(2027, 5, 17)


# --- The engine: transitions, roles, guards ---------------------------------------------


def test_the_presets_are_data_the_engine_reads(office):
    four_eyes = workflow.workflow_of(_procedure(office).versions.get())
    single = workflow.workflow_of(
        _procedure(office, code="single", approval="single").versions.get()
    )

    assert four_eyes.find("approve", S.RECOMMENDED).by == workflow.APPROVER
    assert four_eyes.find("approve", S.UNDER_REVIEW) is None
    assert single.find("approve", S.UNDER_REVIEW).by == workflow.REVIEWER
    assert single.find("recommend_approval", S.UNDER_REVIEW) is None


def test_a_version_may_declare_its_own_transitions(office, django_capture_on_commit_callbacks):
    definition = _definition()
    definition["workflow"] = {
        "approval": "single",
        "transitions": [
            {"action": "claim", "from": ["submitted"], "to": "under_review", "by": "reviewer"},
            {"action": "approve", "from": ["under_review"], "to": "approved", "by": "approver"},
            {
                "action": "reject",
                "from": ["under_review"],
                "to": "rejected",
                "by": "approver",
                "comment_required": True,
            },
            {
                "action": "issue_result",
                "from": ["approved", "rejected"],
                "to": "result_issued",
                "by": "system",
                "guards": ["decision_document"],
            },
            {"action": "withdraw", "from": ["submitted"], "to": "withdrawn", "by": "applicant"},
        ],
    }
    assert workflow_problems(definition["workflow"]) == []
    procedure = publish_procedure(
        code="custom", definition=definition, organization=office["department"]
    )
    application = _file(procedure)
    workflow_act(actor=office["clerk"], application=application, action="claim")

    # Here a clerk may not decide: the version says approvers do.
    with pytest.raises(PermissionDenied) as refused:
        workflow_act(actor=office["clerk"], application=application, action="approve")
    assert refused.value.code == "not_allowed"
    with django_capture_on_commit_callbacks(execute=True):
        workflow_act(actor=office["approver"], application=application, action="approve")
    assert Application.objects.get(pk=application.pk).status == S.RESULT_ISSUED


def test_the_exchange_format_knows_every_action_state_and_guard_of_the_engine():
    schema = definition_schema()["$defs"]
    assert set(schema["transition"]["properties"]["action"]["enum"]) == workflow.ACTIONS
    assert set(schema["transition"]["properties"]["guards"]["items"]["enum"]) == set(
        workflow.GUARDS
    )
    assert set(schema["workflow_state"]["enum"]) == set(S.values) - {S.DRAFT}
    assert set(schema["transition"]["properties"]["by"]["enum"]) == set(workflow.ACTORS)


def test_a_workflow_of_its_own_must_decide_close_and_allow_withdrawal(office):
    problems = workflow_problems(
        {
            "approval": "single",
            "transitions": [
                {"action": "claim", "from": ["submitted"], "to": "under_review", "by": "reviewer"}
            ],
        }
    )
    with translation.override("en"):
        messages = [str(problem.message) for problem in problems]
    assert "The workflow needs the action “approve”." in messages
    assert len(messages) == 4
    unknown = _definition()
    unknown["workflow"]["transitions"] = [
        {"action": "teleport", "from": ["limbo"], "to": "approved", "by": "mayor"}
    ]
    with pytest.raises(DefinitionInvalid):
        publish_procedure(code="bad", definition=unknown, organization=office["department"])


def test_an_invalid_transition_names_the_state_and_the_actions_allowed(office):
    application = _file(_procedure(office))

    with translation.override("en"), pytest.raises(Conflict) as refused:
        workflow_act(actor=office["approver"], application=application, action="approve")

    assert refused.value.code == "invalid_transition"
    assert refused.value.details == {"status": "submitted", "allowed_actions": ["claim"]}
    assert "“Approve” is not possible while the application is “Submitted”" in str(
        refused.value.message
    )
    assert "Possible now: Start review." in str(refused.value.message)


def test_staff_of_another_department_do_not_see_the_application(office):
    application = _file(_procedure(office))

    with pytest.raises(NotFound):
        workflow_act(actor=office["outsider"], application=application, action="claim")
    with pytest.raises(NotFound):
        note_add(actor=office["outsider"], application=application, text="見えますか")


def test_the_resident_cannot_take_staff_actions(office):
    application = _file(_procedure(office))

    with pytest.raises(PermissionDenied) as refused:
        workflow_act(actor=application.applicant, application=application, action="claim")
    assert refused.value.code == "not_allowed"


def test_only_the_assignee_works_on_a_claimed_application(office):
    application = _file(_procedure(office))
    workflow_act(actor=office["clerk"], application=application, action="claim")

    with pytest.raises(PermissionDenied) as refused:
        workflow_act(actor=office["clerk2"], application=application, action="recommend_approval")
    assert refused.value.code == "assignee"
    assert str(refused.value.message) == "This application is assigned to someone else."


def test_the_recommender_cannot_approve_and_another_approver_can(office):
    """Four eyes: an approver who reviewed and recommended may not also decide."""
    procedure = _procedure(office)
    application = _file(procedure)
    approver = office["approver"]
    workflow_act(actor=approver, application=application, action="claim")
    workflow_act(actor=approver, application=application, action="recommend_approval")

    with pytest.raises(PermissionDenied) as refused:
        workflow_act(actor=approver, application=application, action="approve")
    assert refused.value.code == "four_eyes"
    assert "another person must take it" in str(refused.value.message)

    workflow_act(actor=office["supervisor"], application=application, action="approve")
    application.refresh_from_db()
    assert application.decided_by == office["supervisor"]
    assert application.recommended_by == approver


def test_the_database_refuses_a_decision_by_the_recommender(office):
    application = _file(_procedure(office))
    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.filter(pk=application.pk).update(
            recommended_by=office["approver"], decided_by=office["approver"]
        )


def test_a_rejection_needs_a_reason(office):
    application = _file(_procedure(office, approval="single"))
    workflow_act(actor=office["clerk"], application=application, action="claim")

    with pytest.raises(ValidationFailed) as refused:
        workflow_act(actor=office["clerk"], application=application, action="reject", comment=" ")
    assert "comment" in refused.value.details


def test_every_transition_is_audited_with_actor_from_to_and_comment(office):
    application = _file(_procedure(office))
    workflow_act(actor=office["clerk"], application=application, action="claim")
    workflow_act(
        actor=office["clerk"],
        application=application,
        action="recommend_rejection",
        comment="要件を満たしていません",
    )

    event = AuditEvent.objects.filter(action="applications.recommend_rejection").get()
    assert event.actor_id == office["clerk"].pk
    assert event.data["from"] == "under_review"
    assert event.data["to"] == "recommended"
    timeline = application.events.get(kind="recommend_rejection")
    assert timeline.message == "要件を満たしていません"
    assert timeline.internal is True
    # The resident does not see internal steps on their timeline.
    assert "recommend_rejection" not in {event.kind for event in resident_events(application)}


# --- Corrections ------------------------------------------------------------------------


def test_correction_requests_open_only_the_named_steps_and_keep_the_history(
    office, django_capture_on_commit_callbacks
):
    procedure = _procedure(office)
    resident = UserFactory()
    draft = application_start(actor=resident, procedure=procedure)
    application_save_step(
        actor=resident,
        application=draft,
        step_key="applicant",
        answers={"full_name": "山田 太郎", "my_number": MY_NUMBER},
    )
    application_save_step(
        actor=resident, application=draft, step_key="request", answers={"purpose": "開業"}
    )
    first_plan = attachment_add(
        actor=resident, application=draft, field_key="plan", upload=_upload("old.pdf")
    )
    application = application_submit(actor=resident, application=draft, declaration=True)
    clerk = office["clerk"]
    workflow_act(actor=clerk, application=application, action="claim")

    with pytest.raises(ValidationFailed) as no_fields:
        workflow_act(
            actor=clerk, application=application, action="request_correction", comment="直して"
        )
    assert "fields" in no_fields.value.details
    workflow_act(
        actor=clerk,
        application=application,
        action="request_correction",
        comment="計画書を最新のものに差し替え、目的を具体的にしてください。",
        fields=["purpose", "plan"],
    )
    application.refresh_from_db()
    assert application.status == S.CORRECTION_REQUESTED
    notice = Notification.objects.get(user=resident)
    assert application.reference in notice.subject

    # Only the step holding the named fields opens again.
    with pytest.raises(NotFound):
        application_save_step(
            actor=resident,
            application=application,
            step_key="applicant",
            answers={"full_name": "別人"},
        )
    application_save_step(
        actor=resident, application=application, step_key="request", answers={"purpose": "飲食店"}
    )
    attachment_remove(actor=resident, application=application, public_id=first_plan.public_id)
    attachment_add(
        actor=resident, application=application, field_key="plan", upload=_upload("new.pdf")
    )

    resubmitted = application_resubmit(
        actor=resident, application=application, declaration=True, note="差し替えました"
    )
    again = application_resubmit(actor=resident, application=application, declaration=True)

    assert resubmitted.status == again.status == S.RESUBMITTED
    assert resubmitted.revision == 2
    first, second = resubmitted.revisions.order_by("number")
    assert first.data["purpose"] == "開業" and second.data["purpose"] == "飲食店"
    assert first.digest != second.digest
    assert [item["name"] for item in first.filing["attachments"]] == ["old.pdf"]
    assert [item["name"] for item in second.filing["attachments"]] == ["new.pdf"]
    # The replaced file is kept (revision 1 lists its digest), only marked removed.
    first_plan.refresh_from_db()
    assert first_plan.removed_at is not None
    correction = CorrectionRequest.objects.get(application=application)
    assert correction.answered_at is not None
    assert (correction.response, correction.revision) == ("差し替えました", 2)
    # The clerk who holds the case hears about it.
    assert Notification.objects.filter(user=clerk, subject__contains=application.reference).exists()
    # Back in the clerk's hands: claim, and the review goes on.
    workflow_act(actor=clerk, application=application, action="claim")
    assert Application.objects.get(pk=application.pk).status == S.UNDER_REVIEW


def test_a_resident_cannot_resubmit_without_an_open_correction(office):
    application = _file(_procedure(office))

    with pytest.raises(Conflict) as refused:
        application_resubmit(actor=application.applicant, application=application, declaration=True)
    assert refused.value.code == "invalid_transition"


def test_a_resident_withdraws_during_review_through_the_engine(office):
    application = _file(_procedure(office))
    workflow_act(actor=office["clerk"], application=application, action="claim")

    withdrawn = application_withdraw(
        actor=application.applicant, application=application, reason="不要になりました"
    )

    assert withdrawn.status == S.WITHDRAWN
    assert AuditEvent.objects.filter(action="applications.withdrawn").count() == 1
    with pytest.raises(Conflict):
        workflow_act(actor=office["clerk"], application=application, action="recommend_approval")


# --- Decisions ----------------------------------------------------------------------------


def test_an_approval_delivers_a_signed_permit_to_the_resident(
    office, django_capture_on_commit_callbacks
):
    application = _file(_procedure(office))
    workflow_act(actor=office["clerk"], application=application, action="claim")
    workflow_act(actor=office["clerk"], application=application, action="recommend_approval")

    with django_capture_on_commit_callbacks(execute=True):
        workflow_act(actor=office["approver"], application=application, action="approve")

    application.refresh_from_db()
    assert application.status == S.RESULT_ISSUED
    decision = application.documents.get(kind=DocumentKind.DECISION)
    assert decision.title.startswith("営業許可書")
    assert decision.content["decision"] == "approve"
    assert verify_code(decision.verification_code) == decision
    assert verify_pdf(decision.pdf.open("rb").read()) == decision
    assert (
        Notification.objects.filter(
            user=application.applicant, subject__contains=application.reference
        ).count()
        == 1
    )
    assert [event.kind for event in resident_events(application)][-2:] == [
        "approve",
        "issue_result",
    ]


def test_a_refusal_states_its_reason_and_how_to_appeal(office, django_capture_on_commit_callbacks):
    application = _file(_procedure(office, approval="single"))
    workflow_act(actor=office["clerk"], application=application, action="claim")

    with django_capture_on_commit_callbacks(execute=True):
        workflow_act(
            actor=office["clerk"],
            application=application,
            action="reject",
            comment="営業所の要件を満たしていないため。",
        )

    decision = application.documents.get(kind=DocumentKind.DECISION)
    assert decision.content["reason"] == "営業所の要件を満たしていないため。"
    assert "審査請求" in decision.content["appeal"]["ja"]
    assert decision.content["answers"] == []
    assert Application.objects.get(pk=application.pk).status == S.RESULT_ISSUED


def test_a_fee_due_on_approval_holds_the_result_until_it_is_paid(
    office, django_capture_on_commit_callbacks
):
    paid: set[int] = set()
    workflow.register_payment_check(lambda application: application.pk in paid)
    procedure = _procedure(
        office,
        approval="single",
        fee={"kind": "fixed", "amount": 2000, "due": "on_approval", "methods": ["card"]},
    )
    application = _file(procedure)
    assert application.status == S.SUBMITTED  # nothing to pay before review
    assert application.fee_amount == 2000
    workflow_act(actor=office["clerk"], application=application, action="claim")

    with django_capture_on_commit_callbacks(execute=True):
        workflow_act(actor=office["clerk"], application=application, action="approve")

    application.refresh_from_db()
    assert application.status == S.APPROVED
    assert not application.documents.filter(kind=DocumentKind.DECISION).exists()

    paid.add(application.pk)
    from applications.tasks import issue_decision

    issue_decision(application.pk)
    application.refresh_from_db()
    assert application.status == S.RESULT_ISSUED


def test_a_fee_due_before_review_sends_the_filing_to_payment_first(office):
    procedure = _procedure(
        office, fee={"kind": "fixed", "amount": 400, "due": "before_review", "methods": ["card"]}
    )
    application = _file(procedure)

    assert application.status == S.PAYMENT_PENDING
    assert application.due_date is None
    with pytest.raises(Conflict):
        workflow_act(actor=office["clerk"], application=application, action="claim")


# --- Assignment, claim next, notes ----------------------------------------------------


def test_only_a_supervisor_assigns_and_only_to_reviewers_of_the_department(office):
    application = _file(_procedure(office))

    with pytest.raises(PermissionDenied):
        application_assign(actor=office["clerk"], application=application, assignee=office["clerk"])
    with pytest.raises(ValidationFailed):
        application_assign(
            actor=office["supervisor"], application=application, assignee=office["outsider"]
        )

    application_assign(
        actor=office["supervisor"], application=application, assignee=office["clerk2"]
    )

    application.refresh_from_db()
    assert application.assignee == office["clerk2"]
    assert Notification.objects.filter(user=office["clerk2"]).count() == 1


def test_claim_next_takes_the_most_urgent_unclaimed_application(office, monkeypatch):
    procedure = _procedure(office)
    later = _file(procedure)
    sooner = _file(procedure)
    Application.objects.filter(pk=later.pk).update(due_date=date(2030, 1, 10))
    Application.objects.filter(pk=sooner.pk).update(due_date=date(2030, 1, 8))

    first = application_claim_next(actor=office["clerk"])
    second = application_claim_next(actor=office["clerk2"])
    third = application_claim_next(actor=office["clerk2"])

    assert (first.pk, second.pk, third) == (sooner.pk, later.pk, None)
    assert first.assignee == office["clerk"]


def test_internal_notes_need_text(office):
    application = _file(_procedure(office))
    with pytest.raises(ValidationFailed):
        note_add(actor=office["clerk"], application=application, text="  ")
    note = note_add(actor=office["clerk"], application=application, text="住所を確認済み")
    assert note.author == office["clerk"]


# --- Concurrency (real threads, real PostgreSQL) ----------------------------------------


def _race(workers):
    """Run the callables at the same moment in threads; collect results or errors."""
    barrier = threading.Barrier(len(workers))
    results: list = [None] * len(workers)

    def run(index, work):
        try:
            barrier.wait()
            results[index] = work()
        except Exception as error:
            results[index] = error
        finally:
            close_old_connections()

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_approvers_deciding_at_once_cannot_both_succeed(office):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    application = _file(_procedure(office))
    workflow_act(actor=office["clerk"], application=application, action="claim")
    workflow_act(actor=office["clerk"], application=application, action="recommend_approval")

    results = _race(
        [
            lambda: workflow_act(
                actor=office["approver"], application=application, action="approve"
            ),
            lambda: workflow_act(
                actor=office["supervisor"],
                application=application,
                action="reject",
                comment="不備があります",
            ),
        ]
    )

    successes = [result for result in results if isinstance(result, Application)]
    failures = [result for result in results if isinstance(result, Conflict)]
    assert len(successes) == 1 and len(failures) == 1, results
    assert failures[0].code == "invalid_transition"
    assert application.events.filter(kind__in=["approve", "reject"]).count() == 1


@pytest.mark.django_db(transaction=True)
def test_clerks_claiming_next_at_once_never_get_the_same_application(office):
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED needs PostgreSQL")
    procedure = _procedure(office)
    filed = {_file(procedure).pk for _ in range(3)}
    clerks = [office["clerk"], office["clerk2"], office["approver"]]

    results = _race([lambda c=c: application_claim_next(actor=c) for c in clerks])

    claimed = [result.pk for result in results if isinstance(result, Application)]
    assert sorted(claimed) == sorted(filed), results
    assert Application.objects.filter(pk__in=filed, status=S.UNDER_REVIEW).count() == 3


# --- Reminders and escalation -------------------------------------------------------------


def test_assignees_are_reminded_and_overdue_cases_escalated_once_a_day(office):
    from applications.reminders import deadline_reminders_send

    procedure = _procedure(office)
    due_soon, overdue, later, waiting = (_file(procedure) for _ in range(4))
    for application in (due_soon, overdue, later, waiting):
        workflow_act(actor=office["clerk"], application=application, action="claim")
    workflow_act(
        actor=office["clerk"],
        application=waiting,
        action="request_correction",
        comment="直してください",
        fields=["purpose"],
    )
    today = date(2030, 1, 8)  # a Tuesday
    Application.objects.filter(pk=due_soon.pk).update(due_date=date(2030, 1, 10))
    Application.objects.filter(pk__in=[overdue.pk, waiting.pk]).update(due_date=date(2030, 1, 7))
    Application.objects.filter(pk=later.pk).update(due_date=date(2030, 1, 20))
    Notification.objects.all().delete()

    first = deadline_reminders_send(today=today)
    second = deadline_reminders_send(today=today)

    # The clock is stopped while the resident corrects: no escalation for that one.
    assert first == {"reminded": 1, "escalated": 1}
    assert second == {"reminded": 0, "escalated": 0}
    clerk_notes = Notification.objects.filter(user=office["clerk"])
    assert clerk_notes.count() == 1
    assert due_soon.reference in clerk_notes.get().subject
    assert "2030-01-10" in clerk_notes.get().subject
    supervisor_notes = Notification.objects.filter(user=office["supervisor"])
    assert supervisor_notes.count() == 1
    assert overdue.reference in supervisor_notes.get().subject
    # The next day, it is sent again.
    assert deadline_reminders_send(today=date(2030, 1, 9)) == {"reminded": 1, "escalated": 1}
