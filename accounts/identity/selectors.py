"""Reads of verified identities. Other apps call `verified_identity(user)` to
enforce a procedure's identity level and to prefill the applicant's name
(`full_name`), date of birth (`birth_date`, a date) and address (`address`)."""

from __future__ import annotations

from typing import Any

from accounts.models import IdentityVerification


def verified_identity(user: Any) -> IdentityVerification | None:
    """The user's most recent verified identity, or None (also for anonymous users)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return (
        IdentityVerification.objects.filter(user_id=user.pk).order_by("-verified_at", "-id").first()
    )
