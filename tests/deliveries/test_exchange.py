"""Delivery targets travel with their procedure in the exchange format: exported
without secrets, imported by name, and switched off where the document would send
filings somewhere nobody here has checked yet."""

from __future__ import annotations

import json

import pytest
from knox.models import AuthToken
from rest_framework.test import APIClient

from audit.models import AuditEvent
from core.signing import decrypt_text
from deliveries import services
from deliveries.models import DeliveryTarget, EventType, TargetKind
from procedures.form_engine.definition import document_problems
from procedures.models import Procedure
from tests.applications.casework_setup import City
from tests.factories import confirmed_totp

pytestmark = pytest.mark.django_db


def _api(user) -> APIClient:
    confirmed_totp(user)
    _instance, token = AuthToken.objects.create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    return client


@pytest.fixture
def city():
    city = City()
    city.webhook, city.secret = services.target_create(
        actor=city.supervisor,
        procedure=city.permit,
        kind=TargetKind.WEBHOOK,
        name="基幹システム",
        url="https://core.city.example.jp/events",
        events=[EventType.SUBMITTED, EventType.DECIDED],
    )
    city.mailbox, _none = services.target_create(
        actor=city.supervisor,
        procedure=city.permit,
        kind=TargetKind.EMAIL,
        name="保健課の受付箱",
        email="hoken-uketsuke@city.example.jp",
        events=[EventType.SUBMITTED],
    )
    return city


def _export(city) -> dict:
    response = _api(city.supervisor).get(f"/api/v1/manage/procedures/{city.permit.code}/export/")
    assert response.status_code == 200
    return response.json()


def _import(city, document) -> tuple[int, dict]:
    response = _api(city.supervisor).post(
        f"/api/v1/manage/procedures/import/?organization={city.health.code}",
        document,
        format="json",
    )
    return response.status_code, response.json()


def test_the_export_carries_the_targets_and_never_a_secret(city):
    document = _export(city)

    assert document["deliveries"] == [
        {
            "name": "基幹システム",
            "kind": "webhook",
            "url": "https://core.city.example.jp/events",
            "events": ["application.submitted", "application.decided"],
        },
        {
            "name": "保健課の受付箱",
            "kind": "email",
            "email": "hoken-uketsuke@city.example.jp",
            "events": ["application.submitted"],
        },
    ]
    assert city.secret not in json.dumps(document)
    assert "secret" not in json.dumps(document["deliveries"])
    assert document_problems(document) == []


def test_an_imported_procedure_gets_its_targets_switched_off_with_a_new_secret(city):
    document = _export(city)
    document["procedure"]["code"] = "health-permit-copy"

    status, body = _import(city, document)

    assert status == 201, body
    copy = Procedure.objects.get(code="health-permit-copy")
    targets = {target.name: target for target in copy.delivery_targets.all()}
    assert set(targets) == {"基幹システム", "保健課の受付箱"}
    assert not any(target.active for target in targets.values())
    webhook = targets["基幹システム"]
    assert webhook.url == "https://core.city.example.jp/events"
    assert webhook.events == ["application.submitted", "application.decided"]
    assert decrypt_text(webhook.secret_encrypted).startswith("whsec_")
    assert decrypt_text(webhook.secret_encrypted) != city.secret
    created = AuditEvent.objects.filter(action="deliveries.target_created", data__imported=True)
    assert created.count() == 2


def test_importing_again_keeps_a_checked_target_on_unless_its_address_changes(city):
    document = _export(city)
    document["deliveries"][0]["events"] = ["application.submitted"]
    document["deliveries"][1]["email"] = "somewhere-else@other.example.jp"

    status, body = _import(city, document)

    assert status == 201, body
    city.webhook.refresh_from_db()
    city.mailbox.refresh_from_db()
    assert city.webhook.active and city.webhook.events == ["application.submitted"]
    assert decrypt_text(city.webhook.secret_encrypted) == city.secret
    assert not city.mailbox.active
    assert city.mailbox.email == "somewhere-else@other.example.jp"


def test_a_target_the_document_does_not_name_is_left_alone(city):
    document = _export(city)
    del document["deliveries"]

    assert _import(city, document)[0] == 201
    assert DeliveryTarget.objects.filter(procedure=city.permit, active=True).count() == 2


def test_a_bad_target_refuses_the_whole_import_with_its_path(city, settings):
    settings.DELIVERY_ALLOW_HTTP = False
    document = _export(city)
    document["procedure"]["code"] = "health-permit-copy"
    document["deliveries"][0]["url"] = "http://core.city.example.jp/events"
    document["deliveries"][1]["name"] = "基幹システム"

    status, body = _import(city, document)

    assert status == 400
    problems = {item["path"]: item["message"] for item in body["error"]["details"]}
    assert problems == {
        "deliveries.0.url": "Enter an address that starts with https://.",
        "deliveries.1.name": "Two targets have this name.",
    }
    assert not Procedure.objects.filter(code="health-permit-copy").exists()


def test_the_schema_wants_the_address_of_the_kind(city):
    document = _export(city)
    document["deliveries"][0].pop("url")
    document["deliveries"][1]["secret"] = "whsec_x"

    paths = {problem.path for problem in document_problems(document)}

    assert paths == {"deliveries.0", "deliveries.1"}


def test_a_name_of_another_kind_is_refused(city):
    document = _export(city)
    document["deliveries"][1]["name"] = "基幹システム"
    document["deliveries"] = document["deliveries"][1:]

    status, body = _import(city, document)

    assert status == 400
    assert body["error"]["details"][0]["path"] == "deliveries.0.kind"
