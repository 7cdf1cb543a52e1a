"""The sandbox gateways exist only where they are switched on: production refuses
them, and with them off their pages and webhooks are not found."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.core.test_settings import GOOD, _manage


def test_production_refuses_the_sandbox_payment_gateways():
    result = _manage("check", env={**GOOD, "PAYMENTS_SANDBOX_ENABLED": "true"})
    assert result.returncode != 0
    assert "PAYMENTS_SANDBOX_ENABLED" in result.stderr


def test_production_refuses_a_sandbox_named_as_a_methods_provider():
    env = {**GOOD, "PAYMENTS_METHOD_PROVIDERS": '{"card": "sandbox"}'}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "PAYMENTS_METHOD_PROVIDERS" in result.stderr


@pytest.mark.django_db
def test_sandbox_pages_answer_404_when_the_sandbox_is_off(settings):
    url = reverse("payments_sandbox:checkout", args=["sbx_x"])
    settings.PAYMENTS_SANDBOX_ENABLED = False
    assert Client().get(url).status_code == 404
    assert Client().get(reverse("payments_sandbox:deferred", args=["sbx_x"])).status_code == 404
