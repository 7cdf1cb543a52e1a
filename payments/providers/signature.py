"""Signed webhooks: HMAC-SHA256 over the timestamp and the exact body.

The header reads `t=<unix seconds>,v1=<hex>` (several `v1` values are accepted, so
a provider can roll its secret over). What is signed is `<t>.<body bytes>`, so the
timestamp cannot be changed without breaking the signature, and a captured
delivery cannot be replayed after the tolerance window (five minutes by default)
because its timestamp is then too old. Comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from django.utils.translation import gettext_lazy as _

from core.errors import DomainError


class WebhookRejected(DomainError):
    """A delivery we cannot trust: missing, malformed, wrongly signed or stale."""

    code = "webhook_rejected"
    http_status = 400
    default_message = _("The notification could not be verified.")


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(
        secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256
    ).hexdigest()


def signature_header(secret: bytes, body: bytes, *, timestamp: int | None = None) -> str:
    moment = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={moment},v1={signature(secret, moment, body)}"


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in (header or "").split(","):
        name, _sep, value = part.strip().partition("=")
        if name == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif name == "v1" and value:
            signatures.append(value.strip())
    if timestamp is None or not signatures:
        raise WebhookRejected(
            _("The notification has no valid signature header."), code="signature_missing"
        )
    return timestamp, signatures


def verify(
    secret: bytes, header: str, body: bytes, *, tolerance: int, now: float | None = None
) -> int:
    """The signed timestamp, if `header` signs `body` with `secret` and is recent;
    WebhookRejected otherwise. The signature is checked before the time, so an
    unsigned request learns nothing about the clock."""
    timestamp, signatures = _parse(header)
    expected = signature(secret, timestamp, body)
    # Compare with every candidate (no early exit), each in constant time.
    matched = False
    for candidate in signatures:
        matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise WebhookRejected(
            _("The notification's signature does not match."), code="signature_invalid"
        )
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookRejected(
            _("The notification is too old (or from the future) and was refused."),
            code="timestamp_stale",
        )
    return timestamp
