"""Security properties every page shares: CSRF on every form, the security headers
(CSP, framing, sniffing, referrer), and no personal data in logs or URLs, checked
over a whole filing and its casework."""

from __future__ import annotations

import logging
import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from applications.casework.services import workflow_act
from applications.documents import receipt_issue
from tests.applications.casework_setup import PDF, City, file_application, resident, verified_login
from tests.factories import MY_NUMBER, PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    city = City()
    owner = resident("秘密 花子")
    application = file_application(
        city.permit,
        owner,
        purpose="持病の治療のため",
        on_behalf_of_name="秘密 太郎",
        on_behalf_of_relationship="父",
        files=(("診断書.pdf", PDF),),
    )
    receipt_issue(application_id=application.pk)
    return {"city": city, "owner": owner, "application": application}


def _forms(world) -> list[tuple[str, str]]:
    """(who, path) of POST endpoints that pages submit."""
    a = world["application"].pk
    return [
        ("anonymous", "/accounts/login/"),
        ("anonymous", "/accounts/sign-up/"),
        ("anonymous", "/accounts/password-reset/"),
        ("anonymous", "/verify/"),
        ("owner", "/accounts/profile/"),
        ("owner", "/accounts/identity/start/"),
        ("owner", "/applications/start/health-permit/"),
        ("owner", f"/applications/{a}/withdraw/"),
        ("owner", f"/payments/applications/{a}/"),
        ("clerk", "/casework/claim-next/"),
        ("supervisor", "/casework/assign/"),
        ("clerk", f"/casework/{a}/act/"),
        ("clerk", f"/casework/{a}/notes/"),
        ("supervisor", f"/casework/{a}/assign/"),
        ("supervisor", "/manage/procedures/new/"),
        ("supervisor", "/manage/procedures/health-permit/publish/"),
        ("owner", "/accounts/logout/"),  # last: it ends the session
    ]


def test_every_form_refuses_a_post_without_the_csrf_token(world):
    city = world["city"]
    people = {"owner": world["owner"], "clerk": city.clerk, "supervisor": city.supervisor}
    clients: dict[str, Client] = {}
    for who in ("anonymous", *people):
        client = Client(enforce_csrf_checks=True)
        if who == "owner":
            client.force_login(people[who])
        elif who != "anonymous":
            # Staff log in (with their second factor) in a client of their own;
            # the checking client takes over that session.
            login = Client()
            verified_login(login, people[who])
            client.cookies = login.cookies
        clients[who] = client
    accepted, refused_anyway = [], []
    body = {"reason": "x", "action": "claim", "text": "x"}
    for who, path in _forms(world):
        client = clients[who]
        response = client.post(path, body)
        if response.status_code != 403:
            accepted.append(f"{path} as {who}: {response.status_code}")
        # The same post with the token gets past the check: the 403 above was CSRF's.
        client.get("/")
        token = client.cookies["csrftoken"].value
        control = client.post(path, {**body, "csrfmiddlewaretoken": token})
        if control.status_code == 403:
            refused_anyway.append(path)
    assert accepted == []
    assert refused_anyway == []


def test_pages_send_the_security_headers(client, world):
    for path in ("/", "/procedures/", "/accounts/login/", "/verify/"):
        response = client.get(path)
        policy = response["Content-Security-Policy"]
        assert "default-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "'unsafe-inline'" not in policy
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_no_personal_data_reaches_the_logs(client, world, caplog):
    """A filing with a name, an Individual Number, a proxy and a medical purpose,
    then a review, a correction and a decision: not one of those values is in any
    log record (the request log included)."""
    city, owner, application = world["city"], world["owner"], world["application"]
    caplog.set_level(logging.DEBUG)
    client.post("/accounts/login/", {"email": owner.email, "password": PASSWORD})
    client.get(f"/applications/{application.pk}/")
    client.get(f"/api/v1/applications/{application.pk}/")
    staff = Client()
    verified_login(staff, city.clerk)
    staff.get(f"/casework/{application.pk}/")
    workflow_act(actor=city.clerk, application=application, action="claim")
    workflow_act(
        actor=city.clerk,
        application=application,
        action="request_correction",
        comment="診断書の日付を確認してください",
        fields=["purpose"],
    )
    client.post("/accounts/login/", {"email": owner.email, "password": "wrong password"})

    secrets = [
        owner.email,
        owner.display_name,
        "秘密",
        MY_NUMBER,
        MY_NUMBER[-4:] + "\n",
        "持病",
        "診断書",
        "wrong password",
        PASSWORD,
    ]
    logged = "\n".join(
        record.getMessage() + " " + " ".join(str(value) for value in record.__dict__.values())
        for record in caplog.records
    )
    assert caplog.records, "the flow was expected to log something"
    assert [secret for secret in secrets if secret in logged] == []


def _patterns(resolver, prefix: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def test_no_url_carries_personal_data():
    """URLs hold ids, codes and keys only: no parameter named for a person's data."""
    personal = re.compile(r"<[^>]*(email|name|birth|address|phone|my_number|individual)[^>]*>")
    offending = [path for path in _patterns(get_resolver()) if personal.search(path)]
    assert offending == []
