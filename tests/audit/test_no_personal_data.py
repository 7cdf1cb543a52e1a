"""The audit log holds ids and digests, never personal data, so that nothing in it
ever needs erasing and its hash chain verifies before and after any purge: after a
whole journey (a proxy filing with an Individual Number, a correction, a
resubmission, a refusal with its reason, a withdrawal, a failed login, an account
closed), no name, e-mail address, number, free text or client address is in it."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.test import Client

from accounts.identity.services import identity_verification_record
from applications.casework.services import workflow_act
from applications.services import application_resubmit, application_withdraw
from audit.models import AuditEvent
from audit.services import audit_chain_verify
from tests.applications.casework_setup import definition, file_application, staff
from tests.factories import MY_NUMBER, PASSWORD, OrganizationFactory, UserFactory, publish_procedure

pytestmark = pytest.mark.django_db

CORRECTION = "住民票の写しの氏名が違います"
NOTE = "正しい写しを添付しました"
REFUSAL = "申請者の所得が基準を超えています"
WITHDRAWAL = "転居のため不要になりました"


def test_no_personal_data_reaches_the_audit_log(django_capture_on_commit_callbacks):
    department = OrganizationFactory(code="health", name_ja="保健所")
    procedure = publish_procedure(
        code="shop", definition=definition(), organization=department, title_ja="営業許可"
    )
    clerk = staff(department, "clerk", "審査 一郎")
    second = staff(department, "approver", "決裁 花子")
    resident = UserFactory(display_name="都民 花子", email="tomin.hanako@example.jp")
    identity_verification_record(
        user=resident,
        issuer="https://id.example.jp",
        subject="subject-tomin",
        full_name="都民 花子",
        birth_date=date(1979, 8, 9),
        address="東京都新宿区西新宿2-8-1",
    )

    case = file_application(
        procedure, resident, on_behalf_of_name="山田 ウメ", on_behalf_of_relationship="母"
    )
    workflow_act(actor=clerk, application=case, action="claim")
    workflow_act(
        actor=clerk,
        application=case,
        action="request_correction",
        comment=CORRECTION,
        fields=["purpose"],
    )
    application_resubmit(actor=resident, application=case, declaration=True, note=NOTE)
    workflow_act(actor=clerk, application=case, action="claim")
    workflow_act(actor=clerk, application=case, action="recommend_rejection", comment=REFUSAL)
    workflow_act(actor=second, application=case, action="reject", comment=REFUSAL)
    other = file_application(procedure, resident)
    application_withdraw(actor=resident, application=other, reason=WITHDRAWAL)
    Client(REMOTE_ADDR="203.0.113.77").post(
        "/accounts/login/", {"email": resident.email, "password": "wrong-" + PASSWORD}
    )

    log = json.dumps(
        list(AuditEvent.objects.values("data", "ip_address", "target_id", "request_id")),
        ensure_ascii=False,
        default=str,
    )
    for personal in (
        "都民",
        "山田",
        "tomin.hanako",
        MY_NUMBER,
        MY_NUMBER[-4:],
        "1979-08-09",
        "西新宿",
        "subject-tomin",
        CORRECTION,
        NOTE,
        REFUSAL,
        WITHDRAWAL,
        "203.0.113.77",
    ):
        assert personal not in log, personal
    login = AuditEvent.objects.filter(action__startswith="accounts.login").last()
    assert login is not None and login.ip_address is None and len(login.ip_digest) == 64
    assert audit_chain_verify().ok
