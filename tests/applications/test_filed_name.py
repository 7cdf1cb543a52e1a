"""The applicant is the person the filing names, not the account it came from:
a mother filing from her own account for her son is 山田 太郎 on the clerk's
queue and case page, on the receipt and the decision notice, in the e-mails and
in the signed filing; the account's and the verified names are kept beside it,
and a proxy filing names both people."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from accounts.identity.services import identity_verification_record
from accounts.models import Notification
from applications.casework.queue import QueueFilters, queue_page
from applications.casework.services import workflow_act
from applications.documents import receipt_issue
from applications.models import DocumentKind
from applications.services import application_save_step, application_start, application_submit
from tests.applications.casework_setup import verified_login
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory, publish_procedure

pytestmark = pytest.mark.django_db

DEFINITION = {
    "form": {
        "steps": [
            {
                "key": "applicant",
                "title": {"ja": "申請者", "en": "Applicant"},
                "fields": [
                    {
                        "key": "applicant_name",
                        "type": "name",
                        "label": {"ja": "申請者の氏名", "en": "Applicant's name"},
                        "required": True,
                        "prefill": "identity.full_name",
                    },
                    {
                        "key": "purpose",
                        "type": "text",
                        "label": {"ja": "使用目的", "en": "Purpose"},
                    },
                ],
            }
        ]
    },
    "fee": {"kind": "none"},
    "workflow": {"approval": "single"},
    "delivery": {"methods": ["electronic"]},
    "contact": {"channels": ["email"]},
    "result_document": {
        "kind": "permit",
        "title": {"ja": "許可書", "en": "Permit"},
        "body": {"ja": "許可します。", "en": "Permitted."},
    },
}

SON = {"family": "山田", "given": "太郎", "family_kana": "ヤマダ", "given_kana": "タロウ"}


@pytest.fixture
def setting():
    department = OrganizationFactory(code="housing", name_ja="住宅課")
    clerk = UserFactory(display_name="審査 一郎", preferred_language="ja")
    MembershipFactory(user=clerk, organization=department, role="clerk")
    procedure = publish_procedure(code="housing", definition=DEFINITION, organization=department)
    mother = UserFactory(display_name="都民 花子", preferred_language="ja")
    identity_verification_record(
        user=mother,
        issuer="https://id.example.jp",
        subject="subject-hanako",
        full_name="都民 花子",
        birth_date=date(1960, 1, 2),
        address="東京都新宿区西新宿2-8-1",
    )
    return {"clerk": clerk, "procedure": procedure, "mother": mother}


def _file(setting, name=SON, **start):
    mother = setting["mother"]
    application = application_start(actor=mother, procedure=setting["procedure"], **start)
    application_save_step(
        actor=mother,
        application=application,
        step_key="applicant",
        answers={"applicant_name": name, "purpose": "入居のため"},
    )
    return application_submit(actor=mother, application=application, declaration=True)


def test_the_filing_names_the_applicant_as_filed_with_the_account_beside(setting):
    application = _file(setting)

    assert application.applicant_name == "山田 太郎"
    filing = application.revisions.get().filing["applicant"]
    assert filing["name"] == "山田 太郎"
    assert filing["account_name"] == "都民 花子"
    assert filing["verified_identity"]["full_name"] == "都民 花子"


def test_the_clerk_sees_the_applicant_as_filed_and_finds_the_case_by_that_name(client, setting):
    application = _file(setting)
    clerk = setting["clerk"]

    rows = queue_page(clerk, QueueFilters(search="山田")).items
    assert [(row.reference, row.applicant_name) for row in rows] == [
        (application.reference, "山田 太郎")
    ]
    verified_login(client, clerk)
    queue = client.get(reverse("casework:queue"), HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "山田 太郎" in queue and "都民 花子" not in queue
    case = client.get(
        reverse("casework:case", args=[application.pk]), HTTP_ACCEPT_LANGUAGE="ja"
    ).content.decode()
    assert "山田 太郎" in case
    assert "（アカウント: 都民 花子）" in case
    api = client.get(reverse("api-queue-case", args=[application.pk])).json()
    assert api["applicant"] == {
        "id": setting["mother"].pk,
        "name": "山田 太郎",
        "account_name": "都民 花子",
    }


def test_the_receipt_and_the_decision_are_addressed_to_the_applicant_as_filed(
    setting, django_capture_on_commit_callbacks
):
    application = _file(setting)
    receipt = receipt_issue(application_id=application.pk)
    assert receipt.content["applicant"] == {"name": "山田 太郎", "verified_name": "都民 花子"}

    clerk = setting["clerk"]
    workflow_act(actor=clerk, application=application, action="claim")
    with django_capture_on_commit_callbacks(execute=True):
        workflow_act(actor=clerk, application=application, action="approve")
    decision = application.documents.get(kind=DocumentKind.DECISION)
    assert decision.content["applicant"]["name"] == "山田 太郎"


def test_the_e_mails_name_the_applicant_as_filed(setting, django_capture_on_commit_callbacks):
    application = _file(setting)
    clerk = setting["clerk"]
    workflow_act(actor=clerk, application=application, action="claim")
    with django_capture_on_commit_callbacks(execute=True):
        workflow_act(actor=clerk, application=application, action="approve")

    sent = Notification.objects.filter(user=setting["mother"]).exclude(body="")
    assert sent.exists()
    for notification in sent:
        assert "申請者: 山田 太郎" in notification.body, notification.body


def test_a_proxy_filing_names_the_person_filing_and_the_principal(setting):
    application = _file(
        setting,
        name={"family": "山田", "given": "ウメ", "family_kana": "ヤマダ", "given_kana": "ウメ"},
        on_behalf_of_name="山田 ウメ",
        on_behalf_of_relationship="母",
    )

    # The filer is the applicant (the verified account holder), the principal beside.
    assert application.applicant_name == "都民 花子"
    receipt = receipt_issue(application_id=application.pk)
    assert receipt.content["applicant"] == {"name": "都民 花子"}
    assert receipt.content["on_behalf_of"] == {"name": "山田 ウメ", "relationship": "母"}
    notification = Notification.objects.filter(user=setting["mother"]).latest("pk")
    assert "申請者: 都民 花子" in notification.body
    assert "代理申請の本人: 山田 ウメ" in notification.body
