"""Smoke test of the embedded default that bin/serve runs: SQLite, tasks in-process."""

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

pytestmark = [pytest.mark.embedded, pytest.mark.django_db]


def test_the_embedded_default_migrates_seeds_and_answers(client):
    assert connection.vendor == "sqlite"
    assert settings.CELERY_TASK_ALWAYS_EAGER

    call_command("seed_demo")
    call_command("seed_demo")  # idempotent
    call_command("audit_verify")

    page = client.get("/")
    assert page.status_code == 200
    assert '<html lang="ja"' in page.content.decode()

    token = client.post(
        "/api/v1/auth/token/",
        {"email": "resident@example.jp", "password": "Tokyo-demo-2026"},
        content_type="application/json",
    )
    assert token.status_code == 201
    me = client.get("/api/v1/auth/me/", HTTP_AUTHORIZATION=f"Bearer {token.json()['token']}")
    assert me.status_code == 200
    assert me.json()["email"] == "resident@example.jp"
    assert client.get("/healthz").json()["checks"] == {"database": "ok", "broker": "eager"}
