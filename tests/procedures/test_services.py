import copy
import threading

import pytest
from django.db import connection

from accounts.models import Role
from audit.models import AuditEvent
from audit.services import audit_chain_verify
from core.errors import Conflict, PermissionDenied
from procedures import services
from procedures.models import ExemptionStatus, Procedure, ProcedureVersion, VersionState
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

VALID = {
    "form": {
        "steps": [
            {
                "key": "applicant",
                "title": {"ja": "申請者", "en": "Applicant"},
                "fields": [
                    {
                        "key": "full_name",
                        "type": "text",
                        "label": {"ja": "氏名", "en": "Name"},
                        "required": True,
                    }
                ],
            }
        ]
    },
    "fee": {"kind": "fixed", "amount": 400, "methods": ["card"]},
    "workflow": {"approval": "four_eyes"},
    "delivery": {"methods": ["electronic"]},
    "contact": {"channels": ["email"]},
}
META = {
    "title_ja": "証明書交付申請",
    "title_en": "Certificate request",
    "category": "tax",
    "filer": "individual",
    "identity_level": "email_verified",
    "processing_days": 5,
}


@pytest.fixture
def admin(org_tree):
    return MembershipFactory(organization=org_tree["health"], role=Role.DEPARTMENT_ADMIN).user


def _procedure(admin, organization, code="cert", definition=None):
    return services.procedure_create(
        actor=admin, organization=organization, code=code, definition=definition or VALID, **META
    )


def _with_label(label):
    definition = copy.deepcopy(VALID)
    definition["form"]["steps"][0]["fields"][0]["label"]["ja"] = label
    return definition


def test_publishing_is_refused_while_a_principle_fails_and_the_refusal_says_which(admin, org_tree):
    procedure = _procedure(admin, org_tree["food"], definition=_with_label("氏名（押印）"))
    draft = procedure.versions.get()

    with pytest.raises(services.PolicyViolation) as refusal:
        services.version_publish(actor=admin, version=draft)
    assert refusal.value.details[0]["principle"] == "hanko_less"
    draft.refresh_from_db()
    assert draft.state == VersionState.DRAFT

    fixed = services.version_update(actor=admin, version=draft, definition=VALID)
    published = services.version_publish(actor=admin, version=fixed)
    assert published.state == VersionState.PUBLISHED
    assert published.published_by == admin


def test_a_published_version_never_changes_edits_go_to_a_new_draft(admin, org_tree):
    procedure = _procedure(admin, org_tree["food"])
    first = services.version_publish(actor=admin, version=procedure.versions.get())

    with pytest.raises(Conflict):
        services.version_update(actor=admin, version=first, definition=_with_label("名前"))
    draft = services.procedure_draft(actor=admin, procedure=procedure)
    assert draft.number == 2
    assert draft.definition == first.definition
    assert services.procedure_draft(actor=admin, procedure=procedure) == draft  # one draft at most

    services.version_update(actor=admin, version=draft, definition=_with_label("名前"))
    second = services.version_publish(actor=admin, version=draft)
    first.refresh_from_db()
    assert first.state == VersionState.RETIRED
    assert first.definition == {**VALID, "retention": {"period": "5y"}}  # the default stamped
    assert second.state == VersionState.PUBLISHED
    assert procedure.versions.filter(state=VersionState.PUBLISHED).count() == 1


def test_an_approved_unexpired_exemption_lets_a_failing_principle_publish(
    admin, org_tree, settings
):
    definition = copy.deepcopy(VALID)
    definition["form"]["steps"][0]["fields"].append(
        {"key": "license", "type": "file", "label": {"ja": "免状"}, "paper_original_required": True}
    )
    procedure = _procedure(admin, org_tree["food"], definition=definition)
    auditor = MembershipFactory(organization=org_tree["city"], role=Role.AUDITOR).user
    exemption = services.exemption_request(
        actor=admin,
        procedure=procedure,
        principle="paperless",
        reason="政令で免状そのものの提出が定められているため",
        within_city_discretion=False,
    )
    with pytest.raises(services.PolicyViolation):
        services.version_publish(actor=admin, version=procedure.versions.get())

    from datetime import timedelta

    from django.utils import timezone

    services.exemption_decide(
        actor=auditor,
        exemption=exemption,
        approve=True,
        review_date=timezone.localdate() + timedelta(days=90),
    )
    report = services.version_policy(procedure.versions.get())
    assert report.results["paperless"].status == "exempt"
    assert (
        services.version_publish(actor=admin, version=procedure.versions.get()).state == "published"
    )
    # Expired exemptions stop counting.
    later = timezone.localdate() + timedelta(days=91)
    assert (
        services.version_policy(procedure.versions.get(), today=later).results["paperless"].status
        == "fail"
    )


def test_a_department_admin_cannot_decide_exemptions(admin, org_tree):
    procedure = _procedure(admin, org_tree["food"])
    exemption = services.exemption_request(
        actor=admin,
        procedure=procedure,
        principle="touchless",
        reason="x",
        within_city_discretion=True,
    )
    from core.errors import NotFound

    with pytest.raises(NotFound):
        services.exemption_decide(actor=admin, exemption=exemption, approve=False)
    exemption.refresh_from_db()
    assert exemption.status == ExemptionStatus.REQUESTED


def test_only_the_owning_branch_manages_a_procedure(admin, org_tree):
    other = MembershipFactory(organization=org_tree["taxation"], role=Role.DEPARTMENT_ADMIN).user
    procedure = _procedure(admin, org_tree["food"])

    with pytest.raises(PermissionDenied):
        services.procedure_update(actor=other, procedure=procedure, title_ja="乗っ取り")
    with pytest.raises(PermissionDenied):
        _procedure(other, org_tree["food"], code="intruder")


def test_every_change_is_audited(admin, org_tree):
    procedure = _procedure(admin, org_tree["food"])
    draft = procedure.versions.get()
    services.version_update(actor=admin, version=draft, definition=_with_label("お名前"))
    services.version_publish(actor=admin, version=draft)

    actions = list(
        AuditEvent.objects.filter(target_type="procedures.procedure", target_id=str(procedure.pk))
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    assert actions == ["procedures.created", "procedures.draft_edited", "procedures.published"]


def test_export_then_import_reproduces_the_procedure_and_never_half_imports(admin, org_tree):
    procedure = _procedure(admin, org_tree["food"])
    version = services.version_publish(actor=admin, version=procedure.versions.get())
    document = services.procedure_export(procedure=procedure, version=version)

    document["procedure"]["code"] = "cert-copy"
    imported = services.procedure_import(actor=admin, document=document)
    assert imported.definition == version.definition
    assert imported.procedure.title_ja == procedure.title_ja

    broken = copy.deepcopy(document)
    broken["procedure"]["code"] = "cert-broken"
    broken["version"]["form"]["steps"][0]["fields"][0]["type"] = "seal"
    before = (Procedure.objects.count(), ProcedureVersion.objects.count())
    with pytest.raises(services.DefinitionInvalid) as problems:
        services.procedure_import(actor=admin, document=broken)
    assert problems.value.details[0]["path"] == "version.form.steps.0.fields.0.type"
    assert (Procedure.objects.count(), ProcedureVersion.objects.count()) == before


@pytest.mark.django_db(transaction=True)
def test_two_admins_publishing_at_once_leave_exactly_one_published_version(org_tree):
    admin = MembershipFactory(organization=org_tree["health"], role=Role.DEPARTMENT_ADMIN).user
    procedure = _procedure(admin, org_tree["food"])
    draft = procedure.versions.get()
    outcomes, barrier = [], threading.Barrier(2)

    def publish():
        try:
            barrier.wait()
            services.version_publish(actor=admin, version=draft)
            outcomes.append("published")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=publish) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["conflict", "published"]
    assert procedure.versions.filter(state=VersionState.PUBLISHED).count() == 1
    assert audit_chain_verify().ok
