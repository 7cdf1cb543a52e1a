"""What the co-signature tests share: a housing-like procedure whose spouse must
co-sign with a verified identity when the applicant says they move in together, and
whose guarantor co-signs by verified e-mail; residents filing it through the services."""

from __future__ import annotations

import re
from datetime import date

from django.core import mail

from accounts.identity.services import identity_verification_record
from applications import services
from applications.models import Application
from tests.applications.casework_setup import definition
from tests.factories import UserFactory, publish_procedure

SPOUSE_EMAIL = "hanako.spouse@example.jp"
GUARANTOR_EMAIL = "jiro.guarantor@example.jp"
STATEMENT_JA = "申込者の世帯員として入居し、私の所得を照会することに同意します。"
STATEMENT_EN = "I consent to moving in as a member of the household and to my income being checked."


def cosigned_definition(*, guarantor_required: bool = True, fee: dict | None = None) -> dict:
    document = definition()
    document["form"]["steps"][1]["fields"].append(
        {
            "key": "with_spouse",
            "type": "choice",
            "label": {"ja": "配偶者と入居しますか", "en": "Moving in with a spouse?"},
            "required": True,
            "choices": [
                {"value": "yes", "label": {"ja": "はい", "en": "Yes"}},
                {"value": "no", "label": {"ja": "いいえ", "en": "No"}},
            ],
        }
    )
    document["cosigners"] = [
        {
            "key": "spouse",
            "label": {"ja": "配偶者", "en": "Spouse"},
            "required": True,
            "identity_level": "identity_verified",
            "statement": {"ja": STATEMENT_JA, "en": STATEMENT_EN},
            "shows": ["full_name", "purpose"],
            "condition": {"field": "with_spouse", "op": "equals", "value": "yes"},
        },
        {
            "key": "guarantor",
            "label": {"ja": "連帯保証人", "en": "Guarantor"},
            "required": guarantor_required,
            "identity_level": "email_verified",
            "statement": {
                "ja": "連帯保証人となることに同意します。",
                "en": "I agree to be the guarantor.",
            },
        },
    ]
    if fee is not None:
        document["fee"] = fee
    return document


def cosigned_procedure(organization, code: str = "housing", **kwargs):
    return publish_procedure(
        code=code,
        definition=cosigned_definition(**kwargs),
        organization=organization,
        title_ja="住宅入居申込",
        title_en="Housing application",
    )


def verify_identity(user, full_name: str, subject: str) -> None:
    identity_verification_record(
        user=user,
        issuer="https://id.example.jp",
        subject=subject,
        full_name=full_name,
        birth_date=date(1986, 5, 20),
        address="東京都新宿区西新宿2-8-1",
    )


def draft(procedure, applicant, *, with_spouse: str = "yes") -> Application:
    from tests.factories import MY_NUMBER

    application = services.application_start(actor=applicant, procedure=procedure)
    services.application_save_step(
        actor=applicant,
        application=application,
        step_key="applicant",
        answers={"full_name": "都民 太郎", "my_number": MY_NUMBER},
    )
    services.application_save_step(
        actor=applicant,
        application=application,
        step_key="details",
        answers={"purpose": "家族で入居するため", "with_spouse": with_spouse},
    )
    return application


def named(spouse: str = SPOUSE_EMAIL, guarantor: str = GUARANTOR_EMAIL) -> dict:
    values = {"guarantor": {"name": "保証 次郎", "email": guarantor}} if guarantor else {}
    if spouse:
        values["spouse"] = {"name": "都民 花子", "email": spouse}
    return values


def file_cosigned(procedure, applicant, **named_kwargs) -> Application:
    """Filled, co-signers named and submitted, through the services."""
    application = draft(procedure, applicant)
    problems = services.cosigners_save(
        actor=applicant, application=application, values=named(**named_kwargs)
    )
    assert problems == {}
    return services.application_submit(actor=applicant, application=application, declaration=True)


def cosigner(email: str, name: str):
    return UserFactory(email=email, display_name=name, preferred_language="ja")


def link_of(message) -> str:
    """The path of the co-signing link in an e-mail."""
    found = re.search(r"https?://[^/\s]+(/cosign/[A-Za-z0-9_-]+/)", message.body)
    assert found, message.body
    return found.group(1)


def mails_to(address: str) -> list:
    return [message for message in mail.outbox if message.to == [address]]
