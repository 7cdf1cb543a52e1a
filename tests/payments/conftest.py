"""What the payment tests share: an office with a clerk, an approver (who may
refund), an auditor and an outsider; procedures whose fee is due before review or
on approval; residents filing through the services; signed sandbox webhooks."""

from __future__ import annotations

import json
import secrets
import threading
import time

import pytest
from django.db import connection
from django.test import Client

from accounts.models import Role
from applications import services as application_services
from applications.models import Application
from payments.models import Payment, SandboxTransaction
from payments.providers.sandbox import SIGNATURE_HEADER, webhook_secret
from payments.providers.signature import signature_header
from tests.applications.casework_setup import verified_login
from tests.factories import (
    MY_NUMBER,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
    applicant_step,
    publish_procedure,
)

ALL_METHODS = ["card", "qr_code", "bank_transfer", "convenience_store"]


def definition(*, amount=1000, due="before_review", methods=None, approval="single") -> dict:
    return {
        "form": {
            "steps": [
                applicant_step(),
                {
                    "key": "details",
                    "title": {"ja": "申請内容", "en": "Details"},
                    "fields": [
                        {
                            "key": "purpose",
                            "type": "text",
                            "label": {"ja": "目的", "en": "Purpose"},
                            "required": True,
                        }
                    ],
                },
            ]
        },
        "fee": {
            "kind": "fixed",
            "amount": amount,
            "due": due,
            "methods": methods or ALL_METHODS,
        },
        "workflow": {"approval": approval},
        "delivery": {"methods": ["electronic"]},
        "contact": {"channels": ["email"]},
        "result_document": {
            "kind": "permit",
            "title": {"ja": "営業許可書", "en": "Business Permit"},
            "body": {"ja": "上記のとおり許可します。", "en": "The above is permitted."},
        },
    }


def staff(organization, role: str, name: str):
    user = MembershipFactory(organization=organization, role=role).user
    user.display_name = name
    user.preferred_language = "en"
    user.save(update_fields=["display_name", "preferred_language"])
    return user


class Office:
    def __init__(self) -> None:
        self.city = OrganizationFactory(code="city", name_ja="市", name_en="City")
        self.department = OrganizationFactory(
            code="commerce", name_ja="商工課", name_en="Commerce Division", parent=self.city
        )
        self.other = OrganizationFactory(code="parks", name_ja="公園課", parent=self.city)
        self.clerk = staff(self.department, Role.CLERK, "審査 一郎")
        self.approver = staff(self.department, Role.APPROVER, "決裁 花子")
        self.approver2 = staff(self.department, Role.APPROVER, "決裁 次郎")
        self.outsider = staff(self.other, Role.APPROVER, "他課 四郎")
        self.auditor = staff(self.city, Role.AUDITOR, "監査 五郎")
        self.permit = publish_procedure(
            code="shop-permit",
            definition=definition(),
            organization=self.department,
            title_ja="営業許可",
            title_en="Shop permit",
        )
        self.late_fee_permit = publish_procedure(
            code="sign-permit",
            definition=definition(amount=2400, due="on_approval"),
            organization=self.department,
            title_ja="看板許可",
            title_en="Sign permit",
        )
        self.card_only = publish_procedure(
            code="card-only",
            definition=definition(amount=500, methods=["card"]),
            organization=self.department,
            title_ja="カードのみ",
            title_en="Card only",
        )


@pytest.fixture
def office(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return Office()


def resident(name: str = "山田 太郎", language: str = "en"):
    return UserFactory(display_name=name, preferred_language=language)


def file_application(procedure, applicant=None) -> Application:
    applicant = applicant or resident()
    application = application_services.application_start(actor=applicant, procedure=procedure)
    application_services.application_save_step(
        actor=applicant,
        application=application,
        step_key="applicant",
        answers={"full_name": applicant.display_name, "my_number": MY_NUMBER},
    )
    application_services.application_save_step(
        actor=applicant, application=application, step_key="details", answers={"purpose": "開業"}
    )
    return application_services.application_submit(
        actor=applicant, application=application, declaration=True
    )


def resident_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def staff_client(user) -> Client:
    client = Client()
    verified_login(client, user)
    return client


def webhook_body(
    payment: Payment,
    *,
    event_type: str = "payment.succeeded",
    status: str = "succeeded",
    amount: int | None = None,
    event_id: str | None = None,
    created: int | None = None,
    extra: dict | None = None,
) -> bytes:
    document = {
        "id": event_id or f"evt_{secrets.token_hex(8)}",
        "type": event_type,
        "created": created or int(time.time()),
        "data": {
            "reference": payment.provider_reference,
            "merchant_order": payment.public_id,
            "amount": payment.amount if amount is None else amount,
            "status": status,
            **(extra or {}),
        },
    }
    return json.dumps(document).encode()


def signed_headers(provider: str, body: bytes, *, timestamp: int | None = None, secret=None):
    header = signature_header(secret or webhook_secret(provider), body, timestamp=timestamp)
    return {SIGNATURE_HEADER: header}


def deliver(client: Client, provider: str, body: bytes, headers: dict):
    return client.post(
        f"/api/v1/payments/webhooks/{provider}/",
        data=body,
        content_type="application/json",
        headers=headers,
    )


def sandbox_tx(payment: Payment) -> SandboxTransaction:
    return SandboxTransaction.objects.get(merchant_order=payment.public_id)


def race(workers, *, limit: int | None = None):
    """Run the callables at the same moment in real threads; collect results or
    errors. `limit` caps how many hold a database connection at once (the server
    allows 100 for every process on the machine)."""
    barrier = threading.Barrier(len(workers))
    gate = threading.BoundedSemaphore(limit or len(workers))
    results: list = [None] * len(workers)

    def run(index, work):
        try:
            barrier.wait()
            with gate:
                try:
                    results[index] = work()
                finally:
                    connection.close()
        except Exception as error:
            results[index] = error

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results
