"""The My Number Act: an Individual Number is erased as soon as the procedure no
longer needs it (when the case ends, or the version's days after), and the signed
filing still verifies afterwards, since it only ever held a keyed fingerprint."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from applications.casework.services import workflow_act
from applications.purge import individual_numbers_erase_due
from applications.sensitive_answers import ENCRYPTED
from audit.models import AuditEvent
from audit.services import audit_chain_verify
from core.signing import canonical_json, sha256_hex, verify_digest
from procedures.services import procedure_draft, version_publish, version_update
from tests.applications.casework_setup import definition, file_application, staff
from tests.factories import MY_NUMBER, OrganizationFactory, publish_procedure

pytestmark = pytest.mark.django_db


@pytest.fixture
def city():
    department = OrganizationFactory(code="health", name_ja="保健所")
    procedure = publish_procedure(
        code="shop", definition=definition(), organization=department, title_ja="営業許可"
    )
    return {
        "procedure": procedure,
        "clerk": staff(department, "clerk", "審査 一郎"),
        "second": staff(department, "approver", "決裁 花子"),
    }


def _decided(city):
    application = file_application(city["procedure"])
    workflow_act(actor=city["clerk"], application=application, action="claim")
    workflow_act(actor=city["clerk"], application=application, action="recommend_approval")
    workflow_act(actor=city["second"], application=application, action="approve")
    application.refresh_from_db()
    return application


def _keeping_numbers_for(city, days: int) -> None:
    procedure = city["procedure"]
    draft = procedure_draft(actor=None, procedure=procedure)
    retention = {**draft.definition["retention"], "individual_number_days": days}
    draft = version_update(
        actor=None, version=draft, definition={**draft.definition, "retention": retention}
    )
    version_publish(actor=None, version=draft)


def test_the_number_is_erased_when_the_case_ends_and_the_filing_still_verifies(city, client):
    case = _decided(city)
    assert case.individual_numbers_erase_on == timezone.localdate()
    assert ENCRYPTED in case.data["my_number"]
    revision = case.revisions.get()
    digest = revision.digest

    assert individual_numbers_erase_due() == 1

    case.refresh_from_db()
    revision.refresh_from_db()
    today = timezone.localdate().isoformat()
    assert case.data["my_number"] == {"erased": today}
    assert case.answers["my_number"] == {"erased": today}
    assert revision.data["my_number"] == {"erased": today}
    assert case.individual_numbers_erased_at is not None
    # The signed filing held only a fingerprint: its digest and signature still hold.
    assert sha256_hex(canonical_json(revision.filing)) == digest
    assert verify_digest(digest, revision.signature)
    assert MY_NUMBER not in json.dumps(revision.filing)
    assert MY_NUMBER[-4:] not in json.dumps([case.data, case.answers, revision.data])
    assert AuditEvent.objects.filter(action="applications.individual_numbers_erased").count() == 1
    assert audit_chain_verify().ok

    client.force_login(case.applicant)
    page = client.get(
        reverse("applications:detail", args=[case.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert f"Erased on {today}" in page
    assert individual_numbers_erase_due() == 0  # once


def test_a_version_that_needs_the_number_longer_keeps_it_that_many_days(city):
    _keeping_numbers_for(city, 90)
    case = _decided(city)
    ended = timezone.localdate()
    assert case.individual_numbers_erase_on == ended + timedelta(days=90)

    with time_machine.travel(timezone.now() + timedelta(days=89), tick=False):
        assert individual_numbers_erase_due() == 0
    with time_machine.travel(timezone.now() + timedelta(days=90), tick=False):
        assert individual_numbers_erase_due() == 1
    case.refresh_from_db()
    assert "erased" in case.data["my_number"]


def test_an_open_case_keeps_its_number(city):
    case = file_application(city["procedure"])
    assert case.individual_numbers_erase_on is None
    assert individual_numbers_erase_due() == 0
    case.refresh_from_db()
    assert ENCRYPTED in case.data["my_number"]


def _with_household_numbers() -> dict:
    household = {
        "key": "household",
        "title": {"ja": "世帯", "en": "Household"},
        "fields": [
            {
                "key": "members",
                "type": "group",
                "label": {"ja": "世帯員", "en": "Household members"},
                "fields": [
                    {
                        "key": "member_name",
                        "type": "text",
                        "label": {"ja": "氏名", "en": "Name"},
                        "required": True,
                    },
                    {
                        "key": "member_number",
                        "type": "my_number",
                        "label": {"ja": "個人番号", "en": "Individual Number"},
                        "required": True,
                    },
                ],
            }
        ],
    }
    base = definition()
    base["form"]["steps"].append(household)
    return base


def test_numbers_inside_a_repeating_group_are_fingerprinted_and_erased(city):
    from stdnum.jp import in_

    from applications.services import application_save_step, application_start, application_submit

    second_number = "98765432101" + in_.calc_check_digit("98765432101")
    procedure = publish_procedure(
        code="household",
        definition=_with_household_numbers(),
        organization=city["procedure"].owning_organization,
        title_ja="世帯の届出",
    )
    owner = city["clerk"].__class__.objects.create_user(
        email="household@example.jp", password="x-Long-enough-2026", display_name="山田 花子"
    )
    draft = application_start(actor=owner, procedure=procedure)
    application_save_step(
        actor=owner,
        application=draft,
        step_key="applicant",
        answers={"full_name": "山田 花子", "my_number": MY_NUMBER},
    )
    application_save_step(
        actor=owner, application=draft, step_key="details", answers={"purpose": "届出"}
    )
    application_save_step(
        actor=owner,
        application=draft,
        step_key="household",
        answers={"members": [{"member_name": "山田 一郎", "member_number": second_number}]},
    )
    filed = application_submit(actor=owner, application=draft, declaration=True)
    filing = json.dumps(filed.revisions.get().filing)
    assert MY_NUMBER not in filing and second_number not in filing
    member = filed.revisions.get().filing["answers"]["members"][0]
    assert set(member["member_number"]) == {"sha256-hmac"}
    assert ENCRYPTED in filed.data["members"][0]["member_number"]

    Application = filed.__class__
    Application.objects.filter(pk=filed.pk).update(
        ended_at=timezone.now(), individual_numbers_erase_on=timezone.localdate()
    )
    assert individual_numbers_erase_due() == 1
    filed.refresh_from_db()
    assert filed.data["members"][0]["member_number"] == {"erased": timezone.localdate().isoformat()}
    assert second_number[-4:] not in json.dumps(filed.data)
