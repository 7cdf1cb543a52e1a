"""A test identity provider that speaks real OpenID Connect, so identity
verification works end to end on a machine with no network: the authorization code
flow with PKCE (S256 only), the client secret at the token endpoint, ID tokens
signed with RS256 (PyJWT, which mozilla-django-oidc already depends on), a JWKS, a
userinfo endpoint taking the bearer access token, and a discovery document.

Its authorize page lets the tester assert any identity. That is why the URLs are
mounted only when IDENTITY_SANDBOX_ENABLED (config/urls.py), why every view also
answers 404 when it is off, and why production refuses to start with it on.

It serves one client: ours (OIDC_RP_CLIENT_ID and OIDC_RP_CLIENT_SECRET), whose
only redirect URI is our own callback.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import secrets
import time
from datetime import date
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django import forms
from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from mozilla_django_oidc.utils import generate_code_challenge

from accounts.identity.client import callback_url

CACHE_PREFIX = "identity-sandbox:"
SIGNING_KEY_CACHE_KEY = f"{CACHE_PREFIX}signing-key"
CODE_TTL = 60  # seconds an authorization code may wait for its exchange
TOKEN_TTL = 300  # seconds an access token (and an ID token) lives
SCOPE_CLAIMS = {
    "profile": (
        "name",
        "family_name",
        "given_name",
        "name#ja-Kana-JP",
        "family_name#ja-Kana-JP",
        "given_name#ja-Kana-JP",
        "birthdate",
        "gender",
    ),
    "address": ("address",),
}
DEFAULT_PERSONA = {
    "family_name": "山田",
    "given_name": "太郎",
    "family_name_kana": "ヤマダ",
    "given_name_kana": "タロウ",
    "birth_date": date(1985, 4, 12),
    "gender": "male",
    "address": "東京都千代田区丸の内1-1",
}


def sandbox_only(view):
    """404 unless the sandbox is on: config/urls.py mounts these views only then,
    and this also covers a setting changed while running (as tests do)."""

    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.IDENTITY_SANDBOX_ENABLED:
            raise Http404()
        return view(request, *args, **kwargs)

    return guarded


def issuer() -> str:
    return f"{settings.SITE_URL}{settings.IDENTITY_SANDBOX_PREFIX}"


def _absolute(name: str) -> str:
    return f"{settings.SITE_URL}{reverse(name)}"


# --- The signing key ---------------------------------------------------------------
# Kept in Django's cache, generated on first use (cache.add, so concurrent first
# requests agree on one key). Why the cache rather than a file: under bin/serve (one
# gunicorn process, many threads) the cache is the process's own memory, shared by
# the thread answering the resident's browser and the thread answering our client's
# back-channel requests; with a shared cache (Redis) several processes agree too;
# each test starts with an empty cache (tests/conftest.py), so every test gets a
# fresh key and nothing is written to disk. If the key is lost (restart, eviction),
# only verifications in flight fail: the client fetches the JWKS on every
# verification.


def signing_key() -> rsa.RSAPrivateKey:
    pem = cache.get(SIGNING_KEY_CACHE_KEY)
    if pem is None:
        fresh = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cache.add(
            SIGNING_KEY_CACHE_KEY,
            fresh.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            timeout=None,
        )
        pem = cache.get(SIGNING_KEY_CACHE_KEY)
    return _load_key(pem)


@functools.lru_cache(maxsize=4)
def _load_key(pem: bytes) -> rsa.RSAPrivateKey:
    return serialization.load_pem_private_key(pem, password=None)


def public_jwk(key: rsa.RSAPrivateKey) -> dict:
    """The public half as a JWK, its kid the RFC 7638 thumbprint."""
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    canonical = json.dumps(
        {"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"), sort_keys=True
    )
    thumbprint = hashlib.sha256(canonical.encode()).digest()
    kid = base64.urlsafe_b64encode(thumbprint).rstrip(b"=").decode()
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}


def _digest(value: str) -> str:
    """Codes and tokens are looked up by digest, so the cache never holds them."""
    return hashlib.sha256(value.encode()).hexdigest()


# --- Discovery and keys ------------------------------------------------------------


@sandbox_only
@require_GET
def discovery_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "issuer": issuer(),
            "authorization_endpoint": _absolute("sandbox_idp:authorize"),
            "token_endpoint": _absolute("sandbox_idp:token"),
            "userinfo_endpoint": _absolute("sandbox_idp:userinfo"),
            "jwks_uri": _absolute("sandbox_idp:jwks"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", *SCOPE_CLAIMS],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce"]
            + [claim for claims in SCOPE_CLAIMS.values() for claim in claims],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
        }
    )


@sandbox_only
@require_GET
def jwks_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"keys": [public_jwk(signing_key())]})


# --- Authorization -------------------------------------------------------------------


class SandboxIdentityForm(forms.Form):
    """The identity the tester asserts, prefilled with a test persona."""

    family_name = forms.CharField(
        label=_("Family name"),
        max_length=50,
        initial=DEFAULT_PERSONA["family_name"],
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    given_name = forms.CharField(
        label=_("Given name"),
        max_length=50,
        initial=DEFAULT_PERSONA["given_name"],
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    family_name_kana = forms.CharField(
        label=_("Family name (furigana)"),
        max_length=50,
        required=False,
        initial=DEFAULT_PERSONA["family_name_kana"],
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    given_name_kana = forms.CharField(
        label=_("Given name (furigana)"),
        max_length=50,
        required=False,
        initial=DEFAULT_PERSONA["given_name_kana"],
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    birth_date = forms.DateField(
        label=_("Date of birth"),
        input_formats=["%Y-%m-%d"],
        initial=DEFAULT_PERSONA["birth_date"],
        help_text=_("Year-month-day, for example 1985-04-12."),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    address = forms.CharField(
        label=_("Address"),
        max_length=200,
        initial=DEFAULT_PERSONA["address"],
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    gender = forms.ChoiceField(
        label=_("Sex"),
        choices=[("male", _("Male")), ("female", _("Female")), ("other", _("Other"))],
        required=False,
        initial=DEFAULT_PERSONA["gender"],
    )


class AuthorizationRefused(Exception):
    """Unknown client or redirect URI: the answer cannot go back to the client, so
    it is shown here instead (RFC 6749 4.1.2.1)."""


class AuthorizationError(Exception):
    """A bad request from a known client: sent back to its redirect URI."""

    def __init__(self, error: str, description: str):
        super().__init__(error)
        self.error = error
        self.description = description


AUTHORIZATION_PARAMETERS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
)


def _authorization_request(data: Any) -> dict[str, str]:
    params = {name: str(data.get(name, "")) for name in AUTHORIZATION_PARAMETERS}
    if not settings.OIDC_RP_CLIENT_ID or params["client_id"] != settings.OIDC_RP_CLIENT_ID:
        raise AuthorizationRefused()
    if params["redirect_uri"] != callback_url():
        raise AuthorizationRefused()
    if params["response_type"] != "code":
        raise AuthorizationError("unsupported_response_type", "Only the code flow.")
    if "openid" not in params["scope"].split():
        raise AuthorizationError("invalid_scope", "The openid scope is required.")
    # PKCE is required, and only with S256: "plain" would hand out the verifier.
    if params["code_challenge_method"] != "S256" or not 43 <= len(params["code_challenge"]) <= 128:
        raise AuthorizationError("invalid_request", "PKCE with S256 is required.")
    if not params["nonce"]:
        raise AuthorizationError("invalid_request", "A nonce is required.")
    return params


def _back_to_client(params: dict[str, str], **answer: str) -> HttpResponseRedirect:
    if params.get("state"):
        answer["state"] = params["state"]
    separator = "&" if "?" in params["redirect_uri"] else "?"
    return HttpResponseRedirect(f"{params['redirect_uri']}{separator}{urlencode(answer)}")


def subject_for(*, family_name: str, given_name: str, birth_date: date) -> str:
    """The same asserted person always gets the same subject identifier."""
    person = f"{family_name}\n{given_name}\n{birth_date.isoformat()}"
    digest = salted_hmac("accounts.identity.sandbox.subject", person, algorithm="sha256")
    return digest.hexdigest()[:32]


def _claims(identity: dict, scope: str) -> dict:
    family, given = identity["family_name"].strip(), identity["given_name"].strip()
    available = {
        "name": f"{family} {given}",
        "family_name": family,
        "given_name": given,
        "birthdate": identity["birth_date"].isoformat(),
        "gender": identity.get("gender") or "",
        "address": {"formatted": identity["address"].strip(), "country": "JP"},
    }
    family_kana = (identity.get("family_name_kana") or "").strip()
    given_kana = (identity.get("given_name_kana") or "").strip()
    if family_kana and given_kana:
        available |= {
            "name#ja-Kana-JP": f"{family_kana} {given_kana}",
            "family_name#ja-Kana-JP": family_kana,
            "given_name#ja-Kana-JP": given_kana,
        }
    claims = {
        "sub": subject_for(family_name=family, given_name=given, birth_date=identity["birth_date"])
    }
    for granted in scope.split():
        for claim in SCOPE_CLAIMS.get(granted, ()):
            if available.get(claim):
                claims[claim] = available[claim]
    return claims


@sandbox_only
@never_cache
@require_http_methods(["GET", "POST"])
def authorize_view(request: HttpRequest) -> HttpResponse:
    """Show the test persona; approving sends a code back, cancelling sends
    error=access_denied, as a real provider does."""
    data = request.POST if request.method == "POST" else request.GET
    try:
        params = _authorization_request(data)
    except AuthorizationRefused:
        return render(request, "accounts/identity/sandbox_error.html", status=400)
    except AuthorizationError as problem:
        params = {name: str(data.get(name, "")) for name in AUTHORIZATION_PARAMETERS}
        return _back_to_client(params, error=problem.error, error_description=problem.description)

    form = SandboxIdentityForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if request.POST.get("decision") != "approve":
            return _back_to_client(params, error="access_denied")
        if form.is_valid():
            code = secrets.token_urlsafe(32)
            cache.set(
                f"{CACHE_PREFIX}code:{_digest(code)}",
                {
                    "client_id": params["client_id"],
                    "redirect_uri": params["redirect_uri"],
                    "code_challenge": params["code_challenge"],
                    "nonce": params["nonce"],
                    "claims": _claims(form.cleaned_data, params["scope"]),
                    "auth_time": int(time.time()),
                },
                timeout=CODE_TTL,
            )
            return _back_to_client(params, code=code)
    return render(
        request,
        "accounts/identity/sandbox_authorize.html",
        {"form": form, "params": params},
        status=400 if form.errors else 200,
    )


# --- Token and userinfo (called by our client over HTTP, not by browsers) -------------


def _oauth_error(error: str, status: int = 400, **headers: str) -> JsonResponse:
    response = JsonResponse({"error": error}, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def _client_credentials(request: HttpRequest) -> tuple[str, str, bool]:
    """client_secret_basic or client_secret_post; the bool says which (basic)."""
    scheme, _space, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic" and encoded:
        try:
            client_id, _colon, secret = base64.b64decode(encoded).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return "", "", True
        return client_id, secret, True
    return request.POST.get("client_id", ""), request.POST.get("client_secret", ""), False


@csrf_exempt
@sandbox_only
@never_cache
@require_POST
def token_view(request: HttpRequest) -> JsonResponse:
    """Exchange a code for tokens (RFC 6749 4.1.3, RFC 7636 4.6). A code works once:
    presenting it again fails and revokes the access token it was exchanged for."""
    client_id, secret, basic = _client_credentials(request)
    if not (
        settings.OIDC_RP_CLIENT_ID
        and settings.OIDC_RP_CLIENT_SECRET
        and constant_time_compare(client_id, settings.OIDC_RP_CLIENT_ID)
        and constant_time_compare(secret, settings.OIDC_RP_CLIENT_SECRET)
    ):
        headers = {"WWW-Authenticate": 'Basic realm="sandbox-idp"'} if basic else {}
        return _oauth_error("invalid_client", status=401, **headers)
    if request.POST.get("grant_type") != "authorization_code":
        return _oauth_error("unsupported_grant_type")

    code_digest = _digest(request.POST.get("code", ""))
    code_key = f"{CACHE_PREFIX}code:{code_digest}"
    used_key = f"{CACHE_PREFIX}code-used:{code_digest}"
    record = cache.get(code_key)
    if record is None or not cache.add(used_key, "", timeout=TOKEN_TTL):
        issued = cache.get(used_key)
        if issued:
            cache.delete(f"{CACHE_PREFIX}token:{issued}")
        return _oauth_error("invalid_grant")
    cache.delete(code_key)

    verifier = request.POST.get("code_verifier", "")
    if (
        record["client_id"] != client_id
        or record["redirect_uri"] != request.POST.get("redirect_uri", "")
        or not 43 <= len(verifier) <= 128
        or not constant_time_compare(
            generate_code_challenge(verifier, "S256"), record["code_challenge"]
        )
    ):
        return _oauth_error("invalid_grant")

    access_token = secrets.token_urlsafe(32)
    token_digest = _digest(access_token)
    cache.set(f"{CACHE_PREFIX}token:{token_digest}", record["claims"], timeout=TOKEN_TTL)
    cache.set(used_key, token_digest, timeout=TOKEN_TTL)

    key = signing_key()
    now = int(time.time())
    id_token = jwt.encode(
        {
            "iss": issuer(),
            "sub": record["claims"]["sub"],
            "aud": client_id,
            "exp": now + TOKEN_TTL,
            "iat": now,
            "auth_time": record["auth_time"],
            "nonce": record["nonce"],
        },
        key,
        algorithm="RS256",
        headers={"kid": public_jwk(key)["kid"]},
    )
    # never_cache marks the answer no-store, as RFC 6749 5.1 requires.
    return JsonResponse(
        {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": TOKEN_TTL,
            "id_token": id_token,
        }
    )


@csrf_exempt
@sandbox_only
@never_cache
@require_http_methods(["GET", "POST"])
def userinfo_view(request: HttpRequest) -> JsonResponse:
    """The claims the access token's scope allows (OpenID Connect Core 5.3)."""
    scheme, _space, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return _oauth_error("invalid_request", status=401, **{"WWW-Authenticate": "Bearer"})
    claims = cache.get(f"{CACHE_PREFIX}token:{_digest(token.strip())}")
    if claims is None:
        return _oauth_error(
            "invalid_token", status=401, **{"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )
    return JsonResponse(claims)
