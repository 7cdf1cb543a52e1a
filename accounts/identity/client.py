"""The relying party: we ask the identity provider who the logged-in resident is.

mozilla-django-oidc supplies the protocol pieces and we call them from our own
views: its session helper for state, nonce and the PKCE verifier, and its
authentication backend (subclassed, never listed in AUTHENTICATION_BACKENDS) for
the token exchange, the ID token check against the provider's JWKS and the
userinfo request. Its own login views are not used: this attaches an identity to
an account, it does not log anybody in.

Nothing personal is logged: failures log the step and the kind of error only.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.http import HttpRequest
from django.urls import reverse
from django.utils.crypto import get_random_string
from django.utils.translation import gettext_lazy as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import (
    add_state_and_verifier_and_nonce_to_session,
    generate_code_challenge,
)

from core.errors import DomainError

logger = logging.getLogger(__name__)

REQUIRED_SETTINGS = (
    "OIDC_RP_CLIENT_ID",
    "OIDC_RP_CLIENT_SECRET",
    "OIDC_OP_ISSUER",
    "OIDC_OP_AUTHORIZATION_ENDPOINT",
    "OIDC_OP_TOKEN_ENDPOINT",
    "OIDC_OP_USER_ENDPOINT",
    "OIDC_OP_JWKS_ENDPOINT",
)

# What can go wrong talking to the provider or reading its answers. Each becomes
# a translated message for the resident, never a 500.
PROVIDER_ERRORS = (
    requests.RequestException,
    SuspiciousOperation,
    jwt.PyJWTError,
    ValueError,
    KeyError,
    TypeError,
    ImproperlyConfigured,
)


class IdentityVerificationFailed(DomainError):
    code = "identity_verification_failed"
    default_message = _("Your identity could not be verified. Please try again.")


class IdentityVerificationUnavailable(IdentityVerificationFailed):
    code = "identity_verification_unavailable"
    http_status = 503
    default_message = _("Identity verification is not available at the moment.")


class IdentityVerificationCancelled(IdentityVerificationFailed):
    code = "identity_verification_cancelled"
    default_message = _(
        "You cancelled the verification at the identity provider. Your identity has "
        "not been verified."
    )


class IdentityVerificationExpired(IdentityVerificationFailed):
    code = "identity_verification_expired"
    default_message = _(
        "This verification could not be matched to your session, or it took too long. "
        "Please start again."
    )


class IdentityProviderError(IdentityVerificationFailed):
    code = "identity_provider_error"
    default_message = _(
        "The identity provider could not confirm your identity. Please try again later."
    )


class IdentityIncomplete(IdentityVerificationFailed):
    code = "identity_incomplete"
    default_message = _(
        "The identity provider did not share your name and date of birth, which are "
        "needed to verify your identity. Please try again and agree to share them."
    )


@dataclass(frozen=True)
class VerifiedIdentity:
    """Who the provider says the resident is. `issuer` and `subject` identify the
    person at that provider; the rest is for prefilling forms."""

    issuer: str
    subject: str
    full_name: str
    birth_date: date
    address: str
    name_kana: str = ""
    sex: str = ""


IDENTITY_PARTS = ("full_name", "name_kana", "birth_date", "sex", "address")


def is_available() -> bool:
    return settings.IDENTITY_VERIFICATION_ENABLED and all(
        getattr(settings, name, "") for name in REQUIRED_SETTINGS
    )


def callback_url() -> str:
    """Our redirect URI. It is registered with the provider, so it comes from
    SITE_URL rather than from whatever Host the request named."""
    return f"{settings.SITE_URL}{reverse('accounts:identity_callback')}"


class IdentityProviderClient(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend as a toolbox: get_token, verify_token (signature
    through the JWKS, algorithm, expiry, nonce) and get_userinfo. Used only from
    `authorization_response`, never as an authentication backend."""

    def verify_token(self, token: str, **kwargs: Any) -> dict:
        payload = super().verify_token(token, **kwargs)
        # The library checks neither the issuer nor the audience (it decodes with
        # verify_aud=False); OpenID Connect Core 3.1.3.7 requires both.
        if payload.get("iss") != settings.OIDC_OP_ISSUER:
            raise SuspiciousOperation("ID token issuer does not match OIDC_OP_ISSUER.")
        audience = payload.get("aud")
        audiences = [audience] if isinstance(audience, str) else list(audience or [])
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("ID token is not meant for this client.")
        if len(audiences) > 1 and payload.get("azp") != self.OIDC_RP_CLIENT_ID:
            raise SuspiciousOperation("ID token has several audiences and another azp.")
        # PyJWT checks exp only when present; an ID token must carry it.
        if not isinstance(payload.get("exp"), int | float) or not payload.get("sub"):
            raise SuspiciousOperation("ID token lacks exp or sub.")
        return payload


def authorization_url(request: HttpRequest, *, next_url: str) -> str:
    """Start a verification: remember state, nonce and PKCE verifier in the session
    (per state, so two tabs do not trip over each other) and return the provider's
    authorization URL to send the browser to."""
    if not is_available():
        raise IdentityVerificationUnavailable()
    state = get_random_string(32)
    code_verifier = get_random_string(64)
    params = {
        "response_type": "code",
        "scope": settings.OIDC_RP_SCOPES,
        "client_id": settings.OIDC_RP_CLIENT_ID,
        "redirect_uri": callback_url(),
        "state": state,
        "nonce": get_random_string(32),
        "code_challenge": generate_code_challenge(code_verifier, "S256"),
        "code_challenge_method": "S256",
    }
    add_state_and_verifier_and_nonce_to_session(request, state, params, code_verifier)
    # Ours, next to the library's nonce and verifier: where to go afterwards, and
    # whose verification this is.
    request.session["oidc_states"][state].update(next=next_url, user_id=request.user.pk)
    request.session.modified = True
    endpoint = settings.OIDC_OP_AUTHORIZATION_ENDPOINT
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"


def authorization_response(request: HttpRequest) -> tuple[VerifiedIdentity, str]:
    """Finish a verification from the provider's redirect: check the state, exchange
    the code (with the PKCE verifier and our client secret), check the ID token and
    fetch the claims. Returns the identity and the `next` URL given at the start;
    raises an IdentityVerificationFailed subclass otherwise. The state is used up
    either way, so a replayed redirect fails."""
    if not is_available():
        raise IdentityVerificationUnavailable()
    state = request.GET.get("state", "")
    states = request.session.get("oidc_states")
    entry = states.pop(state, None) if state and isinstance(states, dict) else None
    request.session.modified = True
    if (
        not isinstance(entry, dict)
        or entry.get("user_id") != request.user.pk
        or time.time() - entry.get("added_on", 0) > settings.IDENTITY_STATE_MAX_AGE
    ):
        logger.warning("Identity verification refused: unknown or expired state.")
        raise IdentityVerificationExpired()
    error = request.GET.get("error", "")
    if error == "access_denied":
        logger.info("Identity verification cancelled at the provider.")
        raise IdentityVerificationCancelled()
    code = request.GET.get("code", "")
    if error or not code:
        logger.warning("Identity provider answered with error %r.", error[:64] or "no code")
        raise IdentityProviderError()

    step = "configuration"
    try:
        client = IdentityProviderClient()
        step = "token"
        tokens = client.get_token(
            {
                "client_id": settings.OIDC_RP_CLIENT_ID,
                "client_secret": settings.OIDC_RP_CLIENT_SECRET,
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": callback_url(),
                "code_verifier": entry["code_verifier"],
            }
        )
        id_token, access_token = tokens["id_token"], tokens["access_token"]
        step = "id_token"
        claims = client.verify_token(id_token, nonce=entry["nonce"])
        step = "userinfo"
        userinfo = client.get_userinfo(access_token, id_token, claims)
        # OpenID Connect Core 5.3.2: userinfo must describe the ID token's subject.
        if not isinstance(userinfo, dict) or userinfo.get("sub") != claims["sub"]:
            raise SuspiciousOperation("Userinfo subject differs from the ID token's.")
    except PROVIDER_ERRORS as failure:
        status = getattr(getattr(failure, "response", None), "status_code", None)
        # The exception's text may quote the provider's answer; log its kind only.
        logger.warning(
            "Identity verification failed at step %s: %s%s",
            step,
            type(failure).__name__,
            f" (HTTP {status})" if status else "",
        )
        raise IdentityProviderError() from None
    identity = identity_from_claims(issuer=claims["iss"], claims=userinfo)
    return identity, entry.get("next") or ""


def identity_from_claims(*, issuer: str, claims: dict) -> VerifiedIdentity:
    """Map the provider's claims to what we keep, as IDENTITY_CLAIMS says (by default
    the standard claims of Core 5.1, family name first as Japanese providers give it).
    Name and a full date of birth are required; the rest may be missing."""
    found = {part: claim_value(claims, sources) for part, sources in identity_claims().items()}
    try:
        birth_date = date.fromisoformat(found.get("birth_date", ""))
    except ValueError:
        birth_date = None
    if not found.get("full_name") or birth_date is None:
        logger.warning("Identity provider did not share a name and a full date of birth.")
        raise IdentityIncomplete()
    return VerifiedIdentity(
        issuer=issuer,
        subject=str(claims["sub"]),
        full_name=found["full_name"][:200],
        birth_date=birth_date,
        address=found.get("address", "")[:500],
        name_kana=found.get("name_kana", "")[:200],
        sex=normalized_sex(found.get("sex", "")),
    )


def identity_claims() -> dict[str, list]:
    configured = settings.IDENTITY_CLAIMS
    unknown = set(configured) - set(IDENTITY_PARTS)
    if unknown:
        raise ImproperlyConfigured(f"IDENTITY_CLAIMS names unknown parts: {sorted(unknown)}")
    return configured


def claim_value(claims: dict, sources: list) -> str:
    """The first source that gives text: a claim (dotted into objects), or several
    joined with a space (the parts that are there)."""
    for source in sources:
        if isinstance(source, list):
            value = " ".join(part for part in (_claim(claims, name) for name in source) if part)
        else:
            value = _claim(claims, source)
        if value:
            return value
    return ""


def _claim(claims: dict, name: str) -> str:
    # A claim's own name may hold a dot too; only otherwise is it a path.
    if name in claims:
        value: Any = claims[name]
    else:
        value = claims
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
    return value.strip() if isinstance(value, str) else ""


# What the card says (男/女), ISO/IEC 5218 codes and OpenID Connect's `gender`.
SEX_VALUES = {
    "male": "male",
    "男": "male",
    "男性": "male",
    "1": "male",
    "female": "female",
    "女": "female",
    "女性": "female",
    "2": "female",
}


def normalized_sex(value: str) -> str:
    """ "male", "female", "other" for any other value the provider gave, or ""."""
    value = value.strip()
    if not value:
        return ""
    return SEX_VALUES.get(value.lower(), "other")
