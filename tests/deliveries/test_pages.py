"""The delivery pages: a procedure's targets for whoever manages it, the secret
shown once, the dead letters and their replay."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Role
from deliveries import services
from deliveries.models import Delivery, DeliveryState, DeliveryTarget, EventType, TargetKind
from tests.applications.casework_setup import City, file_application, staff, verified_login

pytestmark = pytest.mark.django_db


@pytest.fixture
def city():
    return City()


def _targets_url(city) -> str:
    return reverse("deliveries:targets", args=[city.permit.code])


def test_a_department_admin_adds_a_webhook_and_sees_its_secret_once(client, city):
    verified_login(client, city.supervisor)
    response = client.post(
        _targets_url(city),
        {
            "name": "福祉システム",
            "kind": "webhook",
            "url": "https://welfare.city.example.jp/events",
            "events": ["application.submitted", "application.decided"],
        },
    )
    assert response.status_code == 200
    text = response.content.decode()
    target = DeliveryTarget.objects.get()
    assert target.events == ["application.submitted", "application.decided"]
    secret = response.context["new_secret"]
    assert secret.startswith("whsec_") and secret in text
    assert secret not in target.secret_encrypted  # stored encrypted
    # The next visit does not show it again.
    assert secret not in client.get(_targets_url(city)).content.decode()
    assert "福祉システム" in client.get(_targets_url(city)).content.decode()


def test_bad_input_is_shown_on_the_form_and_nothing_is_made(client, city, settings):
    settings.DELIVERY_ALLOW_HTTP = False
    verified_login(client, city.supervisor)
    response = client.post(
        _targets_url(city),
        {"name": "x", "kind": "webhook", "url": "http://plain.example.jp/", "events": ["x"]},
    )
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    response = client.post(
        _targets_url(city),
        {
            "name": "x",
            "kind": "webhook",
            "url": "http://plain.example.jp/",
            "events": ["application.submitted"],
        },
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "Enter an address that starts with https://." in text
    assert 'value="http://plain.example.jp/"' in text  # what was typed is kept
    assert DeliveryTarget.objects.count() == 0


@pytest.mark.parametrize("who", ["clerk", "tax_clerk", "resident"])
def test_nobody_else_sees_a_procedures_targets(client, city, who):
    if who == "resident":
        client.force_login(file_application(city.permit).applicant)
    else:
        verified_login(client, getattr(city, who))
    assert client.get(_targets_url(city)).status_code == 404
    assert client.get(reverse("deliveries:dead_letters")).status_code == 404


def test_another_departments_admin_gets_not_found(client, city):
    other = staff(city.taxation, Role.DEPARTMENT_ADMIN, "税務 課長")
    verified_login(client, other)
    assert client.get(_targets_url(city)).status_code == 404


def test_dead_letters_are_listed_and_sent_again(
    client, city, settings, django_capture_on_commit_callbacks
):
    settings.DELIVERY_RETRY_DELAYS = []  # one attempt, then a dead letter
    target, _secret = services.target_create(
        actor=city.supervisor,
        procedure=city.permit,
        kind=TargetKind.WEBHOOK,
        name="停止中のシステム",
        url="http://127.0.0.1:9/never-listening",
        events=[EventType.SUBMITTED],
    )
    with django_capture_on_commit_callbacks(execute=True):
        application = file_application(city.permit)  # delivered once the filing commits
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.DEAD

    verified_login(client, city.supervisor)
    page = client.get(reverse("deliveries:dead_letters")).content.decode()
    assert application.reference in page and "停止中のシステム" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("deliveries:replay", args=[delivery.pk]))
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.replays == 1
    assert delivery.state == DeliveryState.DEAD  # still not listening: failed again
    target_page = client.get(reverse("deliveries:target", args=[city.permit.code, target.pk]))
    assert delivery.message_id in target_page.content.decode()


def test_the_target_page_switches_a_target_off_and_rotates_its_secret(client, city):
    target, _secret = services.target_create(
        actor=city.supervisor,
        procedure=city.permit,
        kind=TargetKind.WEBHOOK,
        name="基幹",
        url="https://core.city.example.jp/hook",
        events=[EventType.SUBMITTED],
    )
    verified_login(client, city.supervisor)
    url = reverse("deliveries:target", args=[city.permit.code, target.pk])
    response = client.post(
        url, {"name": "基幹", "url": target.url, "events": ["application.submitted"]}
    )
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.active is False
    rotated = client.post(reverse("deliveries:rotate", args=[city.permit.code, target.pk]))
    assert rotated.status_code == 200
    assert rotated.context["new_secret"].startswith("whsec_")


def test_the_procedure_editor_leads_to_its_delivery_targets(client, city):
    verified_login(client, city.supervisor)
    page = client.get(reverse("procedures:editor", args=[city.permit.code])).content.decode()
    assert f'href="{_targets_url(city)}"' in page
