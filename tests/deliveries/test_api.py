"""The deliveries API: the same rules as the pages, for a department's scripts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.models import Role
from deliveries import services
from deliveries.models import Delivery, DeliveryState, DeliveryTarget, EventType, TargetKind
from tests.applications.casework_setup import City, file_application, staff
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
    return City()


def _targets(city) -> str:
    return f"/api/v1/manage/procedures/{city.permit.code}/delivery-targets/"


def test_a_department_admin_manages_targets_over_the_api(city):
    api = _api(city.supervisor)
    created = api.post(
        _targets(city),
        {
            "name": "基幹システム",
            "kind": "webhook",
            "url": "https://core.city.example.jp/events",
            "events": ["application.submitted"],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_")
    listed = api.get(_targets(city)).json()["results"]
    assert [target["name"] for target in listed] == ["基幹システム"]
    assert "secret" not in listed[0]

    detail = f"{_targets(city)}{body['id']}/"
    changed = api.patch(detail, {"active": False}, format="json")
    assert changed.status_code == 200 and changed.json()["active"] is False
    assert changed.json()["url"] == "https://core.city.example.jp/events"
    rotated = api.post(f"{detail}rotate-secret/")
    assert rotated.status_code == 200 and rotated.json()["secret"] != body["secret"]


def test_bad_targets_are_refused_with_field_errors(city, settings):
    settings.DELIVERY_ALLOW_HTTP = False
    response = _api(city.supervisor).post(
        _targets(city),
        {"name": "x", "kind": "webhook", "url": "http://x.example.jp/", "events": ["nope"]},
        format="json",
    )
    assert response.status_code == 400
    assert "events" in response.json()["error"]["details"]
    response = _api(city.supervisor).post(
        _targets(city),
        {
            "name": "x",
            "kind": "webhook",
            "url": "http://x.example.jp/",
            "events": ["application.submitted"],
        },
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["url"]
    assert DeliveryTarget.objects.count() == 0


def test_others_are_refused_or_see_nothing(city):
    assert _api(city.clerk).get(_targets(city)).status_code == 403
    other = staff(city.taxation, Role.DEPARTMENT_ADMIN, "税務 課長")
    assert _api(other).get(_targets(city)).status_code == 404


def _dead_letters(city, settings, count, capture):
    settings.DELIVERY_RETRY_DELAYS = []
    if not DeliveryTarget.objects.exists():
        services.target_create(
            actor=city.supervisor,
            procedure=city.permit,
            kind=TargetKind.WEBHOOK,
            name="停止中",
            url="http://127.0.0.1:9/",
            events=[EventType.SUBMITTED],
        )
    for _ in range(count):
        with capture(execute=True):
            file_application(city.permit)  # delivered (and failed) once it commits


def test_dead_letters_are_listed_without_a_query_per_row_and_replayed(
    city, settings, django_capture_on_commit_callbacks
):
    _dead_letters(city, settings, 3, django_capture_on_commit_callbacks)
    api = _api(city.supervisor)
    with CaptureQueriesContext(connection) as three:
        listed = api.get("/api/v1/deliveries/?state=dead")
    assert listed.status_code == 200 and listed.json()["count"] == 3
    _dead_letters(city, settings, 3, django_capture_on_commit_callbacks)
    with CaptureQueriesContext(connection) as six:
        assert api.get("/api/v1/deliveries/?state=dead").json()["count"] == 6
    assert len(six) == len(three)

    first = listed.json()["results"][0]
    assert first["state"] == "dead" and first["last_error"]
    with django_capture_on_commit_callbacks(execute=True):
        replayed = api.post(f"/api/v1/deliveries/{first['id']}/replay/")
    assert replayed.status_code == 202
    assert replayed.json()["message_id"] == first["message_id"]
    assert Delivery.objects.get(pk=first["id"]).replays == 1
    assert api.get("/api/v1/deliveries/?state=nonsense").status_code == 400
    other = staff(city.taxation, Role.DEPARTMENT_ADMIN, "税務 課長")
    assert _api(other).get("/api/v1/deliveries/").json()["count"] == 0
    assert _api(other).post(f"/api/v1/deliveries/{first['id']}/replay/").status_code == 404
    assert Delivery.objects.filter(state=DeliveryState.DEAD).count() == 6
