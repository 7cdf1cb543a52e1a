"""A procedure that requires a verified identity: no draft without one, the
verified name and date of birth prefill the form, and the signed filing records
what the identity provider vouched for."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from accounts.identity.services import identity_verification_record
from applications.services import application_save_step, application_start, application_submit
from core.errors import PermissionDenied
from procedures.demo import demo_documents, seed_procedure
from procedures.form_engine.fields import address_parts
from procedures.models import Procedure
from tests.factories import OrganizationFactory, UserFactory, publish_procedure

pytestmark = pytest.mark.django_db

DEFINITION = {
    "form": {
        "steps": [
            {
                "key": "applicant",
                "title": {"ja": "申請者", "en": "Applicant"},
                "fields": [
                    {
                        "key": "name",
                        "type": "text",
                        "label": {"ja": "氏名", "en": "Name"},
                        "required": True,
                        "prefill": "identity.full_name",
                    },
                    {
                        "key": "born",
                        "type": "date",
                        "label": {"ja": "生年月日", "en": "Date of birth"},
                        "required": True,
                        "prefill": "identity.birth_date",
                    },
                    {
                        "key": "home",
                        "type": "text",
                        "label": {"ja": "住所", "en": "Address"},
                        "prefill": "identity.address",
                    },
                ],
            }
        ]
    },
    "fee": {"kind": "none"},
    "workflow": {"approval": "single"},
    "delivery": {"methods": ["electronic"]},
    "contact": {"channels": ["email"]},
}


@pytest.fixture
def procedure():
    return publish_procedure(
        code="housing", definition=DEFINITION, identity_level="identity_verified"
    )


def _verify(user):
    return identity_verification_record(
        user=user,
        issuer="https://id.example.jp",
        subject="subject-1",
        full_name="山田 太郎",
        birth_date=date(1985, 4, 12),
        address="東京都千代田区丸の内1-1",
    )


def test_without_a_verified_identity_no_application_starts(procedure):
    with pytest.raises(PermissionDenied) as refused:
        application_start(actor=UserFactory(), procedure=procedure)
    assert refused.value.code == "identity_required"


def test_the_page_sends_an_unverified_resident_to_verify_first(client, procedure):
    client.force_login(UserFactory())

    page = client.get(reverse("catalogue:detail", args=["housing"])).content.decode()
    assert reverse("accounts:identity_start") in page

    response = client.post(reverse("applications:start", args=["housing"]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:identity"))
    assert "next=/procedures/housing/" in response["Location"]


def test_the_verified_name_date_of_birth_and_address_prefill_the_form(procedure):
    resident = UserFactory()
    _verify(resident)

    application = application_start(actor=resident, procedure=procedure)

    assert application.answers == {
        "name": "山田 太郎",
        "born": "1985-04-12",
        "home": "東京都千代田区丸の内1-1",
    }


def test_the_signed_filing_records_the_verified_identity(procedure):
    resident = UserFactory()
    _verify(resident)
    application = application_start(actor=resident, procedure=procedure)
    application_save_step(actor=resident, application=application, step_key="applicant", answers={})

    filed = application_submit(actor=resident, application=application, declaration=True)

    identity = filed.revisions.get().filing["applicant"]["verified_identity"]
    assert identity["issuer"] == "https://id.example.jp"
    assert identity["full_name"] == "山田 太郎"
    assert identity["birth_date"] == "1985-04-12"
    assert "subject-1" not in str(identity)  # only a keyed digest of the subject


def test_reviewers_see_the_verified_identity_the_filing_was_signed_with(procedure):
    from accounts.permissions import forget_memberships
    from applications.casework.queue import case_for_staff
    from applications.casework.review import case_file
    from tests.factories import MembershipFactory

    resident = UserFactory()
    _verify(resident)
    application = application_start(actor=resident, procedure=procedure)
    application_save_step(actor=resident, application=application, step_key="applicant", answers={})
    application_submit(actor=resident, application=application, declaration=True)
    clerk = UserFactory()
    MembershipFactory(user=clerk, organization=procedure.owning_organization, role="clerk")
    forget_memberships(clerk)

    case = case_file(clerk, case_for_staff(clerk, application.pk))

    assert case.verified_identity["full_name"] == "山田 太郎"
    assert case.verified_identity["birth_date"] == "1985-04-12"


def test_a_name_field_takes_the_reading_and_the_page_says_where_values_came_from(client):
    definition = {
        **DEFINITION,
        "form": {
            "steps": [
                {
                    "key": "applicant",
                    "title": {"ja": "申請者", "en": "Applicant"},
                    "fields": [
                        {
                            "key": "name",
                            "type": "name",
                            "label": {"ja": "氏名", "en": "Name"},
                            "required": True,
                            "prefill": "identity.full_name",
                        },
                        {
                            "key": "reading",
                            "type": "text",
                            "label": {"ja": "フリガナ", "en": "Reading"},
                            "prefill": "identity.name_kana",
                        },
                        {
                            "key": "born",
                            "type": "date",
                            "label": {"ja": "生年月日", "en": "Date of birth"},
                            "prefill": "identity.birth_date",
                        },
                    ],
                }
            ]
        },
    }
    procedure = publish_procedure(
        code="housing-2", definition=definition, identity_level="identity_verified"
    )
    resident = UserFactory(preferred_language="en")
    identity_verification_record(
        user=resident,
        issuer="https://id.example.jp",
        subject="subject-2",
        full_name="山田 花子",
        name_kana="ヤマダ ハナコ",
        birth_date=date(1990, 2, 3),
    )
    application = application_start(actor=resident, procedure=procedure)
    assert application.answers["name"] == {
        "family": "山田",
        "given": "花子",
        "family_kana": "ヤマダ",
        "given_kana": "ハナコ",
    }
    assert application.answers["reading"] == "ヤマダ ハナコ"

    client.force_login(resident)
    url = reverse("applications:step", args=[application.pk, "applicant"])
    page = client.get(url).content.decode()
    assert page.count("Filled in from your verified identity") == 3
    assert 'id="f-born-source"' in page
    assert 'aria-describedby="f-born-source"' in page

    # A value the resident changes is theirs: the note goes.
    application_save_step(
        actor=resident,
        application=application,
        step_key="applicant",
        answers={**application.answers, "born": "1990-02-04"},
    )
    page = client.get(url).content.decode()
    assert page.count("Filled in from your verified identity") == 2
    assert 'id="f-born-source"' not in page


def test_an_address_field_takes_the_verified_address_in_its_parts():
    assert address_parts("〒163-8001 東京都新宿区西新宿2-8-1 都庁第一本庁舎") == {
        "postal_code": "163-8001",
        "prefecture": "東京都",
        "city": "新宿区",
        "town": "西新宿",
        "street": "2-8-1",
        "building": "都庁第一本庁舎",
    }
    # Without a postal code, the postal data gives it; parts may be spaced.
    assert address_parts("神奈川県 横浜市中区 日本大通1")["postal_code"] == "231-0021"
    assert address_parts("大阪府大阪市北区中之島1-3-20")["city"] == "大阪市北区"
    assert address_parts("Tokyo") is None


@pytest.mark.parametrize(
    "code", ["metro-housing-application", "hazardous-materials-license-rewrite"]
)
def test_the_demo_procedures_prefill_name_reading_birth_date_and_address(code):

    document = next(d for d in demo_documents() if d["procedure"]["code"] == code)
    OrganizationFactory(code=document["procedure"]["organization"])
    seed_procedure(document)
    resident = UserFactory()
    identity_verification_record(
        user=resident,
        issuer="https://id.example.jp",
        subject="subject-2",
        full_name="山田 太郎",
        name_kana="ヤマダ タロウ",
        birth_date=date(1985, 4, 12),
        address="東京都千代田区丸の内1-1",
    )
    application = application_start(actor=resident, procedure=Procedure.objects.get(code=code))

    values = list(application.answers.values())
    assert {
        "family": "山田",
        "given": "太郎",
        "family_kana": "ヤマダ",
        "given_kana": "タロウ",
    } in values
    assert "1985-04-12" in values
    assert {
        "postal_code": "100-0005",
        "prefecture": "東京都",
        "city": "千代田区",
        "town": "丸の内",
        "street": "1-1",
    } in values
