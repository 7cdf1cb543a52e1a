"""Identity verification against an OpenID Provider that no one here wrote (issue
20): panva's oidc-provider, OpenID Certified, started on the loopback by
tests/edges/oidc.py from the npm registry's package (installed by bin/test).

The browser side goes through Django's test client up to the provider, then
through the provider's own sign-in and consent pages (tests/edges/oidc.py); the
relying party's back-channel requests (token, JWKS, userinfo) go over HTTP to the
provider, so every check of accounts/identity/client.py meets a real provider's
answers: PKCE, state and nonce, issuer and audience, the signature by `kid`, key
rotation, token endpoint errors, a cancelled sign-in and the provider being down."""

from __future__ import annotations

import json
import time
from datetime import date
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from django.urls import reverse
from jwt.algorithms import RSAAlgorithm

from accounts.identity.client import PROVIDER_ERRORS, IdentityProviderClient
from accounts.identity.selectors import verified_identity
from audit.models import AuditEvent
from tests.edges.oidc import CLIENT_ID, OpenIDProvider, node_available, rsa_signing_key, sign_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PROVIDER_ERROR = "The identity provider could not confirm your identity."

HANAKO = {
    "name": "山田 花子",
    "family_name": "山田",
    "given_name": "花子",
    "family_name#ja-Kana-JP": "ヤマダ",
    "given_name#ja-Kana-JP": "ハナコ",
    "birthdate": "1990-02-03",
    "gender": "female",
    "address": {"formatted": "東京都千代田区丸の内1-1", "postal_code": "1000005"},
}


@pytest.fixture
def op(settings, tmp_path):
    if not node_available():
        pytest.fail(
            "The OpenID provider is not installed: bin/test installs it "
            "(npm ci in tests/edges/oidc_provider, Node.js 20.19 or newer)."
        )
    redirect_uri = f"{settings.SITE_URL}{reverse('accounts:identity_callback')}"
    provider = OpenIDProvider(
        directory=tmp_path, redirect_uri=redirect_uri, people={"hanako": HANAKO}
    )
    provider.start()
    for name, value in provider.settings().items():
        setattr(settings, name, value)
    yield provider
    provider.stop()


@pytest.fixture
def resident(client, db):
    user = UserFactory(preferred_language="en")
    client.force_login(user)
    return user


def _local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def _start(client, next_url: str = "/procedures/") -> str:
    response = client.post(reverse("accounts:identity_start"), {"next": next_url})
    assert response.status_code == 302, response.content
    return response["Location"]


def _identity_page(client) -> str:
    return client.get(reverse("accounts:identity")).content.decode()


def test_a_resident_verifies_their_identity_at_the_provider(client, resident, op):
    authorize_url = _start(client)
    assert authorize_url.startswith(f"{op.issuer}/auth?")
    request = _query(authorize_url)
    assert request["code_challenge_method"] == "S256"
    assert request["state"] and request["nonce"]

    callback = sign_in(authorize_url, "hanako")
    assert _query(callback)["state"] == request["state"]
    assert "code" in _query(callback)
    response = client.get(_local(callback))
    assert response.status_code == 302
    assert response["Location"] == "/procedures/"

    verification = verified_identity(resident)
    assert verification.full_name == "山田 花子"
    assert verification.birth_date == date(1990, 2, 3)
    assert verification.address == "東京都千代田区丸の内1-1"
    # The reading and the sex, which Japan's digital ID hands over too.
    assert verification.name_kana == "ヤマダ ハナコ"
    assert verification.sex == "female"
    assert verification.issuer == op.issuer
    assert verification.subject == "hanako"
    assert "Your identity has been verified." in _identity_page(client)
    assert AuditEvent.objects.filter(action="accounts.identity_verified").count() == 1


def _verify(client) -> None:
    response = client.get(_local(sign_in(_start(client), "hanako")))
    assert response.status_code == 302 and response["Location"] == "/procedures/"


def _published_kids(op) -> list[str]:
    return [key["kid"] for key in requests.get(f"{op.issuer}/jwks", timeout=10).json()["keys"]]


def _id_token(op, key: dict, *, nonce: str = "n-1") -> str:
    now = int(time.time())
    claims = {"iss": op.issuer, "aud": CLIENT_ID, "sub": "hanako", "nonce": nonce}
    claims |= {"iat": now, "exp": now + 300}
    private = RSAAlgorithm.from_jwk(json.dumps(key))
    return jwt.encode(claims, private, algorithm="RS256", headers={"kid": key["kid"]})


def test_a_provider_with_other_claim_names_is_configured_not_programmed(
    client, resident, op, settings
):
    # A provider that puts the reading in a claim of its own and the sex as the
    # card's 女: mapped by IDENTITY_CLAIMS alone.
    op.people["hanako"] = {
        **{k: v for k, v in HANAKO.items() if "#" not in k and k != "gender"},
        "kana": "ヤマダ　ハナコ",
        "sex_on_card": "女",
    }
    op.extra_profile_claims = ["kana", "sex_on_card"]
    op.restart()
    settings.IDENTITY_CLAIMS = {
        **settings.IDENTITY_CLAIMS,
        "name_kana": ["kana"],
        "sex": ["sex_on_card"],
    }
    _verify(client)
    verification = verified_identity(resident)
    assert verification.name_kana == "ヤマダ　ハナコ"
    assert verification.sex == "female"


def test_key_rotation_at_the_provider_needs_nothing_from_us(client, resident, op):
    old, new = op.keys[0], rsa_signing_key("key-2")
    _verify(client)
    # Rotation: the new key signs, the old one is still published, then retired.
    # Our client reads the JWKS on each verification, so neither step needs a
    # restart or a setting on our side.
    op.restart(keys=[new, old])
    assert _published_kids(op) == ["key-2", "key-1"]
    _verify(client)
    op.restart(keys=[new])
    assert _published_kids(op) == ["key-2"]
    _verify(client)
    assert AuditEvent.objects.filter(action="accounts.identity_verified").count() == 3


def test_the_signature_is_checked_with_the_published_key_named_by_kid(op):
    old, new = op.keys[0], rsa_signing_key("key-2")
    op.restart(keys=[new, old])
    checker = IdentityProviderClient()
    # Both published keys verify a token they signed: the key is chosen by kid.
    for key in (new, old):
        assert checker.verify_token(_id_token(op, key), nonce="n-1")["sub"] == "hanako"
    # Once retired, the old key no longer verifies anything.
    op.restart(keys=[new])
    with pytest.raises(PROVIDER_ERRORS):
        checker.verify_token(_id_token(op, old), nonce="n-1")
    # A token signed by a key the provider never published fails too.
    with pytest.raises(PROVIDER_ERRORS):
        checker.verify_token(_id_token(op, rsa_signing_key("key-2")), nonce="n-1")
    # And a replayed nonce from another flow.
    with pytest.raises(PROVIDER_ERRORS):
        checker.verify_token(_id_token(op, new, nonce="other"), nonce="n-1")


def test_a_wrong_client_secret_is_a_clear_failure_and_nothing_is_stored(
    client, resident, op, settings
):
    settings.OIDC_RP_CLIENT_SECRET = "not-the-registered-secret"
    response = client.get(_local(sign_in(_start(client), "hanako")))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:identity")
    assert verified_identity(resident) is None
    assert "could not be completed" in _identity_page(client) or "not verified" in _identity_page(
        client
    )


def test_a_token_from_another_issuer_is_refused(client, resident, op, settings):
    settings.OIDC_OP_ISSUER = "http://127.0.0.1:1/not-this-provider"
    client.get(_local(sign_in(_start(client), "hanako")))
    assert verified_identity(resident) is None
    assert PROVIDER_ERROR in _identity_page(client)


def test_a_token_for_another_client_is_refused(op):
    # The provider issues the token to the registered client; a relying party that
    # believed itself to be another client must not accept it.
    checker = IdentityProviderClient()
    checker.OIDC_RP_CLIENT_ID = "another-client"
    with pytest.raises(PROVIDER_ERRORS):
        checker.verify_token(_id_token(op, op.keys[0]), nonce="n-1")


def test_cancelling_at_the_provider_stores_nothing_and_says_so(client, resident, op):
    callback = sign_in(_start(client), "hanako", cancel=True)
    assert _query(callback)["error"] == "access_denied"
    response = client.get(_local(callback))
    assert response.status_code == 302
    assert verified_identity(resident) is None
    assert "You cancelled the verification at the identity provider." in _identity_page(client)


def test_the_provider_being_down_is_a_clear_message(client, resident, op):
    authorize_url = _start(client)
    callback = sign_in(authorize_url, "hanako")
    op.stop()  # down between the sign-in and our back-channel requests
    response = client.get(_local(callback))
    assert response.status_code == 302
    assert verified_identity(resident) is None
    assert PROVIDER_ERROR in _identity_page(client)
