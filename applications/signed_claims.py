"""What a signed document says about a person, shared by the applicant's filing
(applications.services) and a co-signer's signature (applications.cosigning): a
keyed fingerprint stands in for what must not be stored in clear, and a verified
identity is written as the provider vouched for it. A leaf: models and settings only."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings


def keyed_fingerprint(value: str) -> str:
    """A keyed digest standing in for a sensitive value in a signed document."""
    return hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def identity_claims(identity) -> dict | None:
    """What the identity provider vouched for, as signed into a document (the
    subject only as a keyed digest)."""
    if identity is None:
        return None
    return {
        "issuer": identity.issuer,
        "subject": {"sha256-hmac": keyed_fingerprint(identity.subject)},
        "full_name": identity.full_name,
        "birth_date": identity.birth_date.isoformat(),
        "verified_at": identity.verified_at.isoformat(),
    }
