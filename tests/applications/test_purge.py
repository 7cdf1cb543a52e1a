"""The retention purge: a case past its last day becomes a tombstone exactly once,
its files leave the store only after the database says so, holds keep it, a dry
run changes nothing, and what must stay verifiable stays verifiable."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from applications.casework.services import workflow_act
from applications.documents import receipt_issue, verify_code
from applications.models import Application, CaseCount, PendingFileRemoval
from applications.purge import legal_hold_place, legal_hold_release, retention_purge_run
from audit.models import AuditEvent
from audit.services import audit_chain_verify
from tests.applications.casework_setup import definition, file_application, png_bytes, staff
from tests.factories import OrganizationFactory, publish_procedure

DAY = timedelta(days=1)


def _ended_case(procedure, clerk, second, *, days_past: int):
    """A decided case whose last day was `days_past` days ago (negative: still kept)."""
    application = file_application(procedure, files=(("plan.png", png_bytes()),))
    workflow_act(actor=clerk, application=application, action="claim")
    workflow_act(actor=clerk, application=application, action="recommend_approval")
    workflow_act(actor=second, application=application, action="approve")
    receipt_issue(application_id=application.pk)
    Application.objects.filter(pk=application.pk).update(kept_until=date.today() - days_past * DAY)
    application.refresh_from_db()
    return application


@pytest.fixture
def city(db):
    department = OrganizationFactory(code="health", name_ja="保健所")
    procedure = publish_procedure(
        code="shop", definition=definition(), organization=department, title_ja="営業許可"
    )
    return {
        "procedure": procedure,
        "clerk": staff(department, "clerk", "審査 一郎"),
        "second": staff(department, "approver", "決裁 花子"),
        "admin": staff(department, "department_admin", "課長 三郎"),
    }


def _case(city, days_past: int = 2):
    return _ended_case(city["procedure"], city["clerk"], city["second"], days_past=days_past)


@pytest.mark.django_db
def test_an_expired_case_becomes_a_tombstone_that_still_verifies(city, client):
    case = _case(city)
    receipt = case.documents.get(kind="receipt")
    files = [case.attachments.get().file.name, receipt.pdf.name]
    assert all(default_storage.exists(name) for name in files)
    counts = list(CaseCount.objects.values_list("procedure_id", "month", "online_filings"))
    assert audit_chain_verify().ok

    summary = retention_purge_run()

    assert summary.purged == 1 and summary.by_procedure == {"shop": 1}
    case.refresh_from_db()
    assert case.purged_at is not None
    assert case.answers == {} and case.data == {} and case.applicant_name == ""
    assert case.reference and case.submission_digest and case.signature
    assert not case.attachments.exists()
    assert not any(default_storage.exists(name) for name in files)
    assert not PendingFileRemoval.objects.exists()
    revision = case.revisions.get()
    assert revision.data == {} and revision.filing == {} and revision.digest
    receipt.refresh_from_db()
    assert receipt.content == {} and receipt.content_digest and receipt.pdf_digest
    assert verify_code(receipt.verification_code) == receipt
    page = client.get(
        reverse("verify"), {"code": receipt.verification_code}, HTTP_ACCEPT_LANGUAGE="ja"
    ).content.decode()
    assert "保存期間の満了" in page
    assert AuditEvent.objects.filter(action="applications.purged").count() == 1
    assert audit_chain_verify().ok
    assert list(CaseCount.objects.values_list("procedure_id", "month", "online_filings")) == counts


@pytest.mark.django_db
def test_nothing_within_its_period_is_touched_and_a_dry_run_changes_nothing(city):
    kept = _case(city, days_past=0)  # its last day is today
    expired = _case(city, days_past=1)

    dry = retention_purge_run(dry_run=True)
    assert dry.purged == 1
    assert Application.objects.filter(purged_at__isnull=False).count() == 0

    retention_purge_run()
    kept.refresh_from_db()
    expired.refresh_from_db()
    assert kept.purged_at is None and kept.answers
    assert expired.purged_at is not None


@pytest.mark.django_db
def test_a_held_case_is_kept_until_the_hold_is_released(city):
    case = _case(city)
    hold = legal_hold_place(actor=city["admin"], application=case, reason="訴訟係属中")

    assert retention_purge_run().purged == 0
    legal_hold_release(actor=city["admin"], hold=hold, reason="判決確定")
    assert retention_purge_run().purged == 1
    actions = list(
        AuditEvent.objects.filter(action__startswith="applications.legal_hold").values_list(
            "action", flat=True
        )
    )
    assert actions == ["applications.legal_hold_placed", "applications.legal_hold_released"]


@pytest.mark.django_db
def test_only_managers_of_the_procedure_place_holds(city):
    from core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        legal_hold_place(actor=city["clerk"], application=_case(city), reason="x")


@pytest.mark.django_db
def test_the_command_reports_what_it_would_purge(city, capsys):
    _case(city)
    call_command("retention_purge", "--dry-run")
    assert "would purge 1 case(s)" in capsys.readouterr().out
    call_command("retention_purge")
    assert "purged 1 case(s)" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_two_purges_at_once_purge_each_case_once(city):
    cases = [_case(city) for _ in range(6)]
    results, errors = [], []
    barrier = threading.Barrier(2)

    def purge():
        try:
            barrier.wait()
            results.append(retention_purge_run().purged)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=purge) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert sum(results) == len(cases)
    assert AuditEvent.objects.filter(action="applications.purged").count() == len(cases)
    assert audit_chain_verify().ok
