"""Retention periods: each case keeps the period of the version it was filed under
(the department's default written in at publication), counted in Japan's days from
the end of the case, from the 1st of April that follows by default."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from applications.casework.services import workflow_act
from applications.services import application_withdraw
from core.retention import kept_until
from procedures.form_engine.definition import document_problems
from procedures.services import procedure_draft, procedure_export, version_publish, version_update
from tests.applications.casework_setup import definition, file_application, staff
from tests.factories import OrganizationFactory, publish_procedure

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("period", "ended", "start", "until"),
    [
        ("5y", "2026-12-07T03:00", "fiscal_year", date(2032, 3, 31)),
        ("5y", "2027-03-15T03:00", "fiscal_year", date(2032, 3, 31)),
        # 2027-03-31 16:00 UTC is already the 1st of April in Japan.
        ("5y", "2027-03-31T16:00", "fiscal_year", date(2033, 3, 31)),
        ("1y", "2026-06-01T03:00", "fiscal_year", date(2028, 3, 31)),
        ("3y", "2026-12-07T03:00", "case_end", date(2029, 12, 7)),
        ("1y", "2028-02-29T03:00", "case_end", date(2029, 2, 28)),
        ("permanent", "2026-12-07T03:00", "fiscal_year", None),
    ],
)
def test_the_last_day_a_case_is_kept(settings, period, ended, start, until):
    settings.RETENTION_PERIOD_START = start
    assert kept_until(period, _at(ended)) == until


@pytest.fixture
def setting():
    department = OrganizationFactory(code="health", name_ja="保健所")
    department.default_retention_period = "10y"
    department.save()
    procedure = publish_procedure(
        code="shop", definition=definition(), organization=department, title_ja="営業許可"
    )
    clerk = staff(department, "clerk", "審査 一郎")
    second = staff(department, "approver", "決裁 花子")
    return {"department": department, "procedure": procedure, "clerk": clerk, "second": second}


def test_publication_writes_the_departments_default_into_the_version(setting):
    version = setting["procedure"].versions.get()
    assert version.definition["retention"] == {"period": "10y"}

    department = setting["department"]
    department.default_retention_period = "1y"
    department.save()
    version.refresh_from_db()
    assert version.definition["retention"]["period"] == "10y"  # published: unchanged


def test_a_period_the_version_states_is_kept_and_exported(setting):
    procedure, department = setting["procedure"], setting["department"]
    draft = procedure_draft(actor=None, procedure=procedure)
    changed = {**draft.definition, "retention": {"period": "30y", "individual_number_days": 90}}
    draft = version_update(actor=None, version=draft, definition=changed)
    version_publish(actor=None, version=draft)
    draft.refresh_from_db()

    assert draft.definition["retention"] == {"period": "30y", "individual_number_days": 90}
    exported = procedure_export(procedure=procedure, version=draft)
    assert exported["version"]["retention"]["period"] == "30y"
    assert department.default_retention_period == "10y"


def test_the_format_refuses_an_unknown_period(setting):
    procedure = setting["procedure"]
    document = procedure_export(procedure=procedure, version=procedure.versions.get())
    document["version"]["retention"] = {"period": "7y", "individual_number_days": -1}

    paths = {problem.path for problem in document_problems(document)}

    assert paths == {"version.retention.period", "version.retention.individual_number_days"}


def test_a_case_ends_at_its_decision_and_keeps_its_period(setting, settings):
    settings.RETENTION_PERIOD_START = "fiscal_year"
    application = file_application(setting["procedure"])
    clerk, second = setting["clerk"], setting["second"]
    assert application.ended_at is None and application.kept_until is None

    workflow_act(actor=clerk, application=application, action="claim")
    workflow_act(actor=clerk, application=application, action="recommend_approval")
    with time_machine.travel("2026-12-07T03:00:00+00:00", tick=False):
        workflow_act(actor=second, application=application, action="approve")
    application.refresh_from_db()

    assert application.ended_at == _at("2026-12-07T03:00")
    assert application.retention_period == "10y"
    assert application.kept_until == date(2037, 3, 31)


def test_a_withdrawn_case_ends_at_its_withdrawal(setting, settings):
    settings.RETENTION_PERIOD_START = "case_end"
    application = file_application(setting["procedure"])

    with time_machine.travel("2027-01-10T01:00:00+00:00", tick=False):
        application_withdraw(
            actor=application.applicant, application=application, reason="不要になったため"
        )
    application.refresh_from_db()

    assert application.status == "withdrawn"
    assert application.kept_until == date(2037, 1, 10)


def test_the_catalogue_says_how_long_a_case_is_kept(client, setting):
    page = client.get(reverse("catalogue:detail", args=["shop"])).content.decode()

    assert "申請の保存期間" in page
    assert "翌年度の4月1日から起算して10年" in page


def test_a_department_admin_sets_the_default_and_it_is_audited(setting):
    from accounts.services import organization_retention_set
    from audit.models import AuditEvent
    from core.errors import PermissionDenied, ValidationFailed

    department = setting["department"]
    admin = staff(department, "department_admin", "課長 三郎")
    organization_retention_set(actor=admin, organization=department, period="3y")
    department.refresh_from_db()
    assert department.default_retention_period == "3y"
    event = AuditEvent.objects.get(action="accounts.default_retention_changed")
    assert event.data == {"before": "10y", "after": "3y"}
    with pytest.raises(PermissionDenied):
        organization_retention_set(actor=setting["clerk"], organization=department, period="1y")
    with pytest.raises(ValidationFailed):
        organization_retention_set(actor=admin, organization=department, period="7y")
