import re

import pytest
from django.core.management import call_command

from accounts.models import Membership, Organization, User
from accounts.permissions import actor_is_staff
from audit.models import AuditEvent
from audit.services import audit_chain_verify

pytestmark = pytest.mark.django_db

DEMO_EMAILS = [
    "resident@example.jp",
    "clerk@example.jp",
    "approver@example.jp",
    "dept-admin@example.jp",
    "auditor@example.jp",
    "admin@example.jp",
]


def _counts():
    return (
        User.objects.count(),
        Organization.objects.count(),
        Membership.objects.count(),
        AuditEvent.objects.count(),
    )


def test_seed_demo_creates_every_role_and_a_second_run_changes_nothing(capsys, settings):
    settings.DEMO_PASSWORD = "Demo-password-for-test"
    call_command("seed_demo")
    first = _counts()
    printed = capsys.readouterr().out
    call_command("seed_demo")
    assert _counts() == first
    assert audit_chain_verify().ok

    for email in DEMO_EMAILS:
        assert email in printed
        user = User.objects.get(email=email)
        assert user.check_password("Demo-password-for-test")
        assert user.email_verified
        assert actor_is_staff(user) == (email != "resident@example.jp")
    assert len(re.findall(r"TOTP secret [A-Z2-7]{32}", printed)) == 5
    assert Organization.objects.filter(parent__isnull=True).count() == 1


def test_demo_totp_prints_a_code_that_logs_the_clerk_in(client, capsys):
    call_command("seed_demo")
    capsys.readouterr()
    call_command("demo_totp", "clerk@example.jp")
    code = capsys.readouterr().out.strip()
    assert len(code) == 6 and code.isdigit()

    client.post("/accounts/login/", {"email": "clerk@example.jp", "password": "Tokyo-demo-2026"})
    response = client.post("/accounts/2fa/", {"token": code})
    assert response.status_code == 302
    assert client.get("/accounts/profile/").status_code == 200
