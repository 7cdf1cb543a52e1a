"""Short-lived links to a delivery's files (attachments, issued documents).

A link is a signed, timestamped token naming the delivery and the file; it works
for DELIVERY_LINK_MAX_AGE seconds (1 hour by default), only while the delivery's
target is active, and only for a file of the delivery's own application. Each
attempt builds fresh links, so a receiver always gets ones that still work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

SALT = "deliveries.file-link"
KINDS = ("attachment", "document")


@dataclass(frozen=True)
class LinkedFile:
    delivery_id: int
    kind: str
    object_id: int


def link(delivery, kind: str, object_id: int) -> dict[str, object]:
    token = signing.dumps({"d": delivery.pk, "k": kind, "o": object_id}, salt=SALT)
    expires = timezone.now() + timedelta(seconds=settings.DELIVERY_LINK_MAX_AGE)
    return {
        "url": settings.SITE_URL + reverse("deliveries:file", args=[token]),
        "url_expires_at": expires.replace(microsecond=0),
    }


def linked_file(token: str) -> LinkedFile | None:
    """What a token names, or None when it is forged, expired or malformed."""
    try:
        value = signing.loads(token, salt=SALT, max_age=settings.DELIVERY_LINK_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired is one too
        return None
    if not isinstance(value, dict):
        return None
    delivery_id, kind, object_id = value.get("d"), value.get("k"), value.get("o")
    if kind not in KINDS or not isinstance(delivery_id, int) or not isinstance(object_id, int):
        return None
    return LinkedFile(delivery_id=delivery_id, kind=kind, object_id=object_id)
