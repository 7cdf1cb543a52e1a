"""Recording a verified identity: the only write of identity verification."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import IdentityVerification, User
from audit.services import audit_record
from core.errors import Conflict


class IdentityAlreadyLinked(Conflict):
    code = "identity_already_linked"
    default_message = _(
        "This identity is already linked to another account. Log in with that account, "
        "or contact the help desk if you think this is a mistake."
    )


def subject_digest(*, issuer: str, subject: str) -> str:
    """What the audit log keeps of a provider's subject identifier: a keyed digest
    that lets an auditor see that two events concern the same person without the
    log holding the identifier itself (nor, ever, the person's name)."""
    key = settings.SECRET_KEY.encode()
    message = f"{issuer}\n{subject}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:16]


def identity_verification_record(
    *,
    user: User,
    issuer: str,
    subject: str,
    full_name: str,
    birth_date: date,
    address: str = "",
    name_kana: str = "",
    sex: str = "",
) -> IdentityVerification:
    """Attach an identity the provider `issuer` verified to `user`.

    One subject of one issuer belongs to one account: if another account already
    holds it, refuse with IdentityAlreadyLinked (the refusal is audited). The same
    account verifying again refreshes its row."""
    digest = subject_digest(issuer=issuer, subject=subject)
    now = timezone.now()
    try:
        with transaction.atomic():
            verification = (
                IdentityVerification.objects.select_for_update()
                .filter(issuer=issuer, subject=subject)
                .first()
            )
            if verification is not None and verification.user_id != user.pk:
                raise IdentityAlreadyLinked()
            renewed = verification is not None
            if verification is None:
                verification = IdentityVerification(user=user, issuer=issuer, subject=subject)
            verification.full_name = full_name
            verification.birth_date = birth_date
            verification.address = address
            verification.name_kana = name_kana
            verification.sex = sex
            verification.verified_at = now
            # Two accounts racing for the same subject: the unique constraint decides.
            verification.save()
            audit_record(
                actor=user,
                action="accounts.identity_verified",
                target=verification,
                data={"issuer": issuer, "subject_digest": digest, "renewed": renewed},
            )
    except (IdentityAlreadyLinked, IntegrityError):
        audit_record(
            actor=user,
            action="accounts.identity_link_refused",
            target=user,
            data={"issuer": issuer, "subject_digest": digest},
        )
        raise IdentityAlreadyLinked() from None
    return verification
