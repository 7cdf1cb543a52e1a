"""Identity verification over OpenID Connect, against the sandbox identity provider.

The browser side goes through Django's test client; the client's back-channel
requests (token, JWKS, userinfo) really go over HTTP to the sandbox served by
pytest-django's live server, so the whole relying-party code path runs."""

import html
import importlib
import json
import re
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import ImproperlyConfigured
from django.urls import Resolver404, clear_url_caches, resolve, reverse

from accounts.identity import sandbox
from accounts.identity.client import IdentityIncomplete, identity_from_claims
from accounts.identity.selectors import verified_identity
from accounts.identity.services import IdentityAlreadyLinked, identity_verification_record
from accounts.models import IdentityVerification
from audit.models import AuditEvent
from tests.factories import UserFactory

PERSONA = {
    "family_name": "山田",
    "given_name": "太郎",
    "family_name_kana": "ヤマダ",
    "given_name_kana": "タロウ",
    "birth_date": "1985-04-12",
    "address": "東京都千代田区丸の内1-1",
    "gender": "male",
}


@pytest.fixture
def provider(settings, live_server):
    """Point our client at the sandbox served by the live server. SITE_URL is the
    live server too, as the sandbox derives its issuer and our redirect URI from it."""
    settings.SITE_URL = live_server.url
    base = f"{live_server.url}/sandbox-idp"
    settings.OIDC_OP_ISSUER = base
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{base}/authorize/"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{base}/token/"
    settings.OIDC_OP_USER_ENDPOINT = f"{base}/userinfo/"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{base}/jwks/"
    return base


@pytest.fixture
def resident(client, db):
    # English, so the messages asserted below do not depend on the catalogue.
    user = UserFactory(preferred_language="en")
    client.force_login(user)
    return user


def _local(url: str) -> str:
    """The path and query of an absolute URL, for the test client."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def _start(client, next_url: str = "/procedures/") -> str:
    response = client.post(reverse("accounts:identity_start"), {"next": next_url})
    assert response.status_code == 302
    return response["Location"]


def _authorize(client, authorize_url: str, decision: str = "approve", **persona) -> str:
    """Open the sandbox's page, post its form back as shown, return the redirect."""
    page = client.get(_local(authorize_url))
    assert page.status_code == 200
    hidden = {
        name: html.unescape(value)
        for name, value in re.findall(
            r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.content.decode()
        )
    }
    response = client.post(
        reverse("sandbox_idp:authorize"),
        {**hidden, **PERSONA, **persona, "decision": decision},
    )
    assert response.status_code == 302
    return response["Location"]


def _verify(client, next_url: str = "/procedures/", **persona):
    callback = _authorize(client, _start(client, next_url), **persona)
    return client.get(_local(callback))


def _messages(client) -> str:
    return client.get(reverse("accounts:identity")).content.decode()


def _exchange(
    provider: str, code: str, verifier: str, settings, secret: str | None = None
) -> requests.Response:
    return requests.post(
        f"{provider}/token/",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": f"{settings.SITE_URL}{reverse('accounts:identity_callback')}",
            "code_verifier": verifier,
            "client_id": settings.OIDC_RP_CLIENT_ID,
            "client_secret": settings.OIDC_RP_CLIENT_SECRET if secret is None else secret,
        },
        timeout=10,
    )


def test_resident_verifies_identity_through_the_sandbox_provider(
    client, resident, provider, caplog
):
    authorize_url = _start(client, next_url="/procedures/")
    assert authorize_url.startswith(f"{provider}/authorize/?")
    request = _query(authorize_url)
    assert request["code_challenge_method"] == "S256"
    assert request["scope"] == "openid profile address"
    assert request["state"] and request["nonce"]

    page = client.get(_local(authorize_url))
    text = page.content.decode()
    assert "テスト用の本人確認サービスです" in text
    assert "This is a test identity provider" in text
    assert 'value="山田"' in text and 'value="1985-04-12"' in text
    assert 'value="ヤマダ"' in text and 'value="タロウ"' in text

    callback = _authorize(client, authorize_url)
    assert _query(callback)["state"] == request["state"]
    response = client.get(_local(callback))
    assert response.status_code == 302
    assert response["Location"] == "/procedures/"

    verification = verified_identity(resident)
    assert verification.full_name == "山田 太郎"
    assert verification.birth_date == date(1985, 4, 12)
    assert verification.address == "東京都千代田区丸の内1-1"
    assert verification.name_kana == "ヤマダ タロウ"
    assert verification.sex == "male"
    assert verification.issuer == provider
    assert verification.subject == sandbox.subject_for(
        family_name="山田", given_name="太郎", birth_date=date(1985, 4, 12)
    )

    shown = _messages(client)
    assert "Your identity has been verified." in shown
    assert "山田 太郎" in shown and "1985-04-12" in shown
    assert "Test identity provider (sandbox)" in shown

    event = AuditEvent.objects.get(action="accounts.identity_verified")
    assert event.data["issuer"] == provider
    assert len(event.data["subject_digest"]) == 16
    assert "山田" not in json.dumps(event.data, ensure_ascii=False)
    assert verification.subject not in json.dumps(event.data)
    assert "山田" not in caplog.text


def test_verifying_again_refreshes_the_same_identity(client, resident, provider):
    _verify(client, address="東京都新宿区西新宿2-8-1")
    _verify(client, address="東京都千代田区丸の内1-1")
    assert IdentityVerification.objects.filter(user=resident).count() == 1
    assert verified_identity(resident).address == "東京都千代田区丸の内1-1"
    assert AuditEvent.objects.filter(action="accounts.identity_verified").last().data["renewed"]


def test_a_wrong_state_is_refused(client, resident, provider):
    callback = _authorize(client, _start(client))
    params = _query(callback)
    response = client.get(
        reverse("accounts:identity_callback"), {"code": params["code"], "state": "forged-state"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:identity")
    assert "could not be matched to your session" in _messages(client)
    assert verified_identity(resident) is None


def test_a_state_started_by_another_account_is_refused(client, resident, provider):
    callback = _authorize(client, _start(client))
    # Someone else's session finishing this resident's flow has no such state.
    other = UserFactory(preferred_language="en")
    client.force_login(other)
    client.get(_local(callback))
    assert verified_identity(other) is None
    assert verified_identity(resident) is None


def test_an_authorization_code_works_only_once(client, resident, provider, settings):
    callback = _authorize(client, _start(client))
    state, code = _query(callback)["state"], _query(callback)["code"]
    verifier = client.session["oidc_states"][state]["code_verifier"]

    first = _exchange(provider, code, verifier, settings)
    assert first.status_code == 200
    tokens = first.json()
    assert tokens["token_type"] == "Bearer" and tokens["id_token"]
    assert "no-store" in first.headers["Cache-Control"]
    userinfo = requests.get(
        f"{provider}/userinfo/",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=10,
    )
    assert userinfo.status_code == 200
    assert userinfo.json()["name"] == "山田 太郎"

    again = _exchange(provider, code, verifier, settings)
    assert again.status_code == 400
    assert again.json() == {"error": "invalid_grant"}
    # Reusing a code revokes the token it was first exchanged for.
    revoked = requests.get(
        f"{provider}/userinfo/",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=10,
    )
    assert revoked.status_code == 401

    # Our client, handed the used code, reports a failure instead of a 500.
    response = client.get(_local(callback))
    assert response.status_code == 302
    assert "could not confirm your identity" in _messages(client)
    assert verified_identity(resident) is None


def test_a_wrong_pkce_verifier_is_refused(client, resident, provider, settings):
    callback = _authorize(client, _start(client))
    state, code = _query(callback)["state"], _query(callback)["code"]
    verifier = client.session["oidc_states"][state]["code_verifier"]

    wrong = _exchange(provider, code, "x" * 64, settings)
    assert wrong.status_code == 400
    assert wrong.json() == {"error": "invalid_grant"}
    # The code was used up by the failed attempt.
    assert _exchange(provider, code, verifier, settings).status_code == 400


def test_our_client_fails_cleanly_when_its_verifier_does_not_match(client, resident, provider):
    callback = _authorize(client, _start(client))
    state = _query(callback)["state"]
    session = client.session
    session["oidc_states"][state]["code_verifier"] = "y" * 64
    session.save()
    response = client.get(_local(callback))
    assert response.status_code == 302
    assert "could not confirm your identity" in _messages(client)
    assert verified_identity(resident) is None


def test_cancelling_at_the_provider_shows_a_message(client, resident, provider):
    callback = _authorize(client, _start(client), decision="cancel")
    assert _query(callback)["error"] == "access_denied"
    response = client.get(_local(callback))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:identity")
    assert "You cancelled the verification" in _messages(client)
    assert verified_identity(resident) is None


@pytest.fixture
def impostor_jwks(provider):
    """A JWKS endpoint that serves another key under the sandbox key's kid, as if
    someone swapped the provider's keys."""
    kid = requests.get(f"{provider}/jwks/", timeout=10).json()["keys"][0]["kid"]
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    body = json.dumps({"keys": [{**sandbox.public_jwk(impostor), "kid": kid}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/jwks"
    server.shutdown()
    server.server_close()


def test_an_id_token_whose_signature_does_not_verify_is_refused(
    client, resident, provider, impostor_jwks, settings, caplog
):
    settings.OIDC_OP_JWKS_ENDPOINT = impostor_jwks
    response = _verify(client)
    assert response.status_code == 302
    assert "could not confirm your identity" in _messages(client)
    assert verified_identity(resident) is None
    assert "step id_token" in caplog.text
    assert "山田" not in caplog.text


def test_an_id_token_from_another_issuer_is_refused(client, resident, provider, settings):
    settings.OIDC_OP_ISSUER = "https://id.example.jp"
    _verify(client)
    assert "could not confirm your identity" in _messages(client)
    assert verified_identity(resident) is None


def test_one_identity_cannot_be_linked_to_two_accounts(client, resident, provider):
    _verify(client)
    assert verified_identity(resident) is not None

    second = UserFactory(preferred_language="en")
    client.force_login(second)
    response = _verify(client)
    assert response.status_code == 302
    assert "already linked to another account" in _messages(client)
    assert verified_identity(second) is None
    assert IdentityVerification.objects.get().user == resident
    refused = AuditEvent.objects.get(action="accounts.identity_link_refused")
    assert refused.actor_id == second.pk
    assert "山田" not in json.dumps(refused.data, ensure_ascii=False)

    # Another person (another subject) is fine for the second account.
    _verify(client, given_name="花子")
    assert verified_identity(second).full_name == "山田 花子"


def test_the_unique_subject_holds_in_the_service_too(db):
    first, second = UserFactory(), UserFactory()
    identity = {
        "issuer": "https://id.example.jp",
        "subject": "abc",
        "full_name": "山田 太郎",
        "birth_date": date(1985, 4, 12),
    }
    identity_verification_record(user=first, **identity)
    with pytest.raises(IdentityAlreadyLinked) as refused:
        identity_verification_record(user=second, **identity)
    assert refused.value.http_status == 409
    assert verified_identity(second) is None


def test_an_unsafe_next_is_ignored(client, resident, provider):
    response = _verify(client, next_url="https://evil.example/steal")
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:identity")
    assert verified_identity(resident) is not None


def test_the_identity_page_offers_the_button_and_keeps_a_safe_next(client, resident):
    page = client.get(reverse("accounts:identity"), {"next": "/applications/"})
    text = page.content.decode()
    assert page.status_code == 200
    assert "Verify with digital ID" in text
    assert 'name="next" value="/applications/"' in text
    assert "not verified yet" in text
    unsafe = client.get(reverse("accounts:identity"), {"next": "//evil.example/"})
    assert 'value="//evil.example/"' not in unsafe.content.decode()


def test_the_profile_links_to_identity_verification(client, resident):
    text = client.get(reverse("accounts:profile")).content.decode()
    assert reverse("accounts:identity") in text
    assert "Not verified" in text


def test_identity_pages_need_a_login(client, db):
    for name in ("accounts:identity", "accounts:identity_callback"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))
    assert client.post(reverse("accounts:identity_start")).status_code == 302


def test_starting_needs_a_post(client, resident):
    assert client.get(reverse("accounts:identity_start")).status_code == 405


def test_starting_without_a_configured_provider_says_so(client, resident, settings):
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = ""
    response = client.post(reverse("accounts:identity_start"))
    assert response.status_code == 302
    assert "not available at the moment" in _messages(client)


def test_the_discovery_document_describes_the_sandbox(client, provider):
    document = requests.get(f"{provider}/.well-known/openid-configuration", timeout=10).json()
    assert document["issuer"] == provider
    assert document["token_endpoint"] == f"{provider}/token/"
    assert document["jwks_uri"] == f"{provider}/jwks/"
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    key = requests.get(document["jwks_uri"], timeout=10).json()["keys"][0]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and "d" not in key


def test_the_token_endpoint_refuses_a_wrong_client_secret(client, resident, provider, settings):
    callback = _authorize(client, _start(client))
    state, code = _query(callback)["state"], _query(callback)["code"]
    verifier = client.session["oidc_states"][state]["code_verifier"]
    refused = _exchange(provider, code, verifier, settings, secret="wrong")
    assert refused.status_code == 401
    assert refused.json() == {"error": "invalid_client"}
    # A refused client does not use up the code.
    assert _exchange(provider, code, verifier, settings).status_code == 200


def test_the_sandbox_refuses_a_foreign_redirect_uri(client, resident, provider):
    params = _query(_start(client))
    params["redirect_uri"] = "https://evil.example/callback"
    response = client.get(reverse("sandbox_idp:authorize"), params)
    assert response.status_code == 400
    assert "Nothing was shared" in response.content.decode()


def test_the_sandbox_requires_pkce(client, resident, provider):
    params = _query(_start(client))
    del params["code_challenge"]
    response = client.get(reverse("sandbox_idp:authorize"), params)
    assert response.status_code == 302
    assert _query(response["Location"])["error"] == "invalid_request"


def test_the_sandbox_shows_errors_for_a_missing_name(client, resident, provider):
    authorize_url = _start(client)
    params = _query(authorize_url)
    response = client.post(
        reverse("sandbox_idp:authorize"),
        {**params, **PERSONA, "family_name": "", "decision": "approve"},
    )
    assert response.status_code == 400
    assert 'class="error-summary"' in response.content.decode()


def test_sandbox_urls_answer_404_when_the_sandbox_is_off(client, db, settings):
    settings.IDENTITY_SANDBOX_ENABLED = False
    for name in ("discovery", "authorize", "token", "userinfo", "jwks"):
        assert client.get(reverse(f"sandbox_idp:{name}")).status_code == 404
    assert client.post(reverse("sandbox_idp:token")).status_code == 404


def test_sandbox_urls_are_not_mounted_when_the_sandbox_is_off(settings):
    import config.urls

    settings.IDENTITY_SANDBOX_ENABLED = False
    try:
        importlib.reload(config.urls)
        clear_url_caches()
        with pytest.raises(Resolver404):
            resolve("/sandbox-idp/.well-known/openid-configuration")
    finally:
        settings.IDENTITY_SANDBOX_ENABLED = True
        importlib.reload(config.urls)
        clear_url_caches()
    assert resolve("/sandbox-idp/jwks/").url_name == "jwks"


def test_the_api_reports_the_identity_status(client, resident):
    url = reverse("api-identity")
    assert client.get(url).json() == {
        "verified": False,
        "full_name": None,
        "birth_date": None,
        "address": None,
        "name_kana": None,
        "sex": None,
        "verified_at": None,
        "issuer": None,
    }
    identity_verification_record(
        user=resident,
        issuer="https://id.example.jp",
        subject="subject-1",
        full_name="山田 太郎",
        birth_date=date(1985, 4, 12),
        address="東京都千代田区丸の内1-1",
        name_kana="ヤマダ タロウ",
        sex="male",
    )
    body = client.get(url).json()
    assert body["verified"] is True
    assert body["full_name"] == "山田 太郎"
    assert body["name_kana"] == "ヤマダ タロウ" and body["sex"] == "male"
    assert body["birth_date"] == "1985-04-12"
    assert body["issuer"] == "https://id.example.jp"
    assert body["verified_at"]


def test_the_api_needs_authentication(client, db):
    assert client.get(reverse("api-identity")).status_code in (401, 403)


def test_a_verification_left_too_long_at_the_provider_expires(client, resident, provider, settings):
    callback = _authorize(client, _start(client))
    settings.IDENTITY_STATE_MAX_AGE = -1
    client.get(_local(callback))
    assert "took too long" in _messages(client)
    assert verified_identity(resident) is None


def test_claims_are_mapped_from_their_parts_when_needed():
    identity = identity_from_claims(
        issuer="https://id.example.jp",
        claims={
            "sub": "s-1",
            "family_name": "佐藤",
            "given_name": "花子",
            "birthdate": "1990-01-31",
            "address": {"postal_code": "100-0005", "region": "東京都", "locality": "千代田区"},
        },
    )
    assert identity.full_name == "佐藤 花子"
    assert identity.birth_date == date(1990, 1, 31)
    assert identity.address == "100-0005 東京都 千代田区"
    assert identity.name_kana == "" and identity.sex == ""


@pytest.mark.parametrize(
    ("given", "stored"),
    [("female", "female"), ("男", "male"), ("2", "female"), ("unspecified", "other"), ("", "")],
)
def test_the_sex_the_provider_asserts_is_kept_in_one_vocabulary(given, stored):
    identity = identity_from_claims(
        issuer="https://id.example.jp",
        claims={"sub": "s-1", "name": "佐藤 花子", "birthdate": "1990-01-31", "gender": given},
    )
    assert identity.sex == stored


def test_an_unknown_part_in_identity_claims_is_a_configuration_error(settings):
    settings.IDENTITY_CLAIMS = {**settings.IDENTITY_CLAIMS, "shoe_size": ["shoe"]}
    with pytest.raises(ImproperlyConfigured):
        identity_from_claims(
            issuer="https://id.example.jp",
            claims={"sub": "s-1", "name": "佐藤 花子", "birthdate": "1990-01-31"},
        )


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "s-1", "name": "佐藤 花子", "birthdate": "1990"},
        {"sub": "s-1", "name": "佐藤 花子"},
        {"sub": "s-1", "birthdate": "1990-01-31"},
    ],
)
def test_a_verification_without_name_and_full_birth_date_is_incomplete(claims):
    with pytest.raises(IdentityIncomplete):
        identity_from_claims(issuer="https://id.example.jp", claims=claims)
