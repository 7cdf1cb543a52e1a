"""Starting a payment: the subject's owner pays what its app says is due, by a
method its fee allows, one open payment per subject; an Idempotency-Key makes it
safe to retry. The provider is asked for its payment page or payment numbers
outside any lock."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from audit.services import audit_record
from core.errors import Conflict, NotFound, ValidationFailed
from core.signing import canonical_json, sha256_hex
from payments.models import OPEN_STATUSES, Payment, PaymentMethod, PaymentStatus
from payments.providers import PaymentProvider, provider_for_method
from payments.registry import resolve_subject
from payments.services.status import apply_status

S = PaymentStatus
IDEMPOTENCY_KEY_MAX = 100


def _request_digest(subject_kind: str, subject_id: int, method: str) -> str:
    return sha256_hex(
        canonical_json({"subject": {"kind": subject_kind, "id": subject_id}, "method": method})
    )


def _valid_key(key: str) -> str:
    key = (key or "").strip()
    if len(key) > IDEMPOTENCY_KEY_MAX or any(not (32 < ord(char) < 127) for char in key):
        raise ValidationFailed(
            _("The Idempotency-Key must be 1 to 100 visible ASCII characters."),
            code="idempotency_key_invalid",
            details={"idempotency_key": [_("Use 1 to 100 visible ASCII characters.")]},
        )
    return key


def _replay(actor: Any, key: str, digest: str) -> Payment | None:
    """The payment this key already started, if any; a different request under
    the same key is refused."""
    earlier = Payment.objects.filter(payer=actor, idempotency_key=key).first()
    if earlier is None:
        return None
    if earlier.request_digest != digest:
        raise Conflict(
            _("This Idempotency-Key was already used for a different request."),
            code="idempotency_key_reused",
            details={"payment": earlier.public_id},
        )
    return earlier


def _in_progress(subject_kind: str, subject_id: int) -> Conflict:
    current = Payment.objects.filter(
        subject_kind=subject_kind, subject_id=subject_id, status__in=OPEN_STATUSES
    ).first()
    return Conflict(
        _("A payment is already in progress. Continue it, or cancel it to choose another way."),
        code="payment_in_progress",
        details={"payment": current.public_id if current else None},
    )


def payment_start(
    *,
    actor: Any,
    subject_kind: str,
    subject_id: int,
    method: str,
    idempotency_key: str = "",
) -> tuple[Payment, bool]:
    """Start paying what is due for a subject. Returns (payment, created): with a
    key already used for the same request, the earlier payment and False."""
    key = _valid_key(idempotency_key)
    if method not in PaymentMethod.values:
        raise ValidationFailed(details={"method": [_("Choose how you want to pay.")]})
    digest = _request_digest(subject_kind, subject_id, method)
    if key and (earlier := _replay(actor, key, digest)) is not None:
        return earlier, False

    try:
        with transaction.atomic():
            # The owner app locks the subject, so it cannot change state meanwhile.
            subject = resolve_subject(subject_kind, subject_id, lock=True)
            if subject is None or subject.owner_id != getattr(actor, "pk", None):
                raise NotFound()
            # A request with the same key may have committed while we waited for the lock.
            if key and (earlier := _replay(actor, key, digest)) is not None:
                return earlier, False
            if not subject.payable or subject.amount_due <= 0:
                raise Conflict(
                    subject.blocked_message or _("Nothing is to be paid now."),
                    code=subject.blocked_code or "not_payable",
                )
            if method not in subject.methods:
                raise ValidationFailed(details={"method": [_("This fee cannot be paid that way.")]})
            provider = provider_for_method(method)
            if provider is None:
                raise ValidationFailed(
                    details={"method": [_("This payment method is not available at the moment.")]}
                )
            if Payment.objects.filter(
                subject_kind=subject_kind, subject_id=subject_id, status__in=OPEN_STATUSES
            ).exists():
                raise _in_progress(subject_kind, subject_id)
            payment = Payment.objects.create(
                subject_kind=subject_kind,
                subject_id=subject_id,
                payer=actor,
                organization=subject.organization,
                description=subject.description[:200],
                amount=subject.amount_due,
                method=method,
                provider=provider.name,
                idempotency_key=key,
                request_digest=digest,
            )
            audit_record(
                actor=actor,
                action="payments.started",
                target=payment,
                data={
                    "subject": f"{subject_kind}:{subject_id}",
                    "amount": payment.amount,
                    "method": method,
                    "provider": provider.name,
                },
            )
    except IntegrityError:
        # Another request won the race: the same key at the same moment, or a
        # second payment for the same subject.
        if key and (earlier := _replay(actor, key, digest)) is not None:
            return earlier, False
        raise _in_progress(subject_kind, subject_id) from None
    return _open_at_provider(payment, provider), True


def _open_at_provider(payment: Payment, provider: PaymentProvider) -> Payment:
    """Ask the provider for a payment page or payment numbers (outside any lock:
    it may be a network call; our public id makes it idempotent)."""
    return_url = f"{settings.SITE_URL}{reverse('payments:return', args=[payment.public_id])}"
    try:
        result = provider.start(payment, return_url=return_url)
    except Exception:
        # Never leave it open: it would block every other payment for the subject.
        with transaction.atomic():
            locked = Payment.objects.select_for_update().get(pk=payment.pk)
            apply_status(
                locked,
                status=S.FAILED,
                amount=locked.amount,
                source="start",
                failure_reason="provider_unavailable",
            )
        raise
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.status == S.CREATED:
            locked.provider_reference = result.reference
            locked.redirect_url = result.redirect_url
            locked.instructions = result.instructions
            locked.expires_at = result.expires_at
            locked.status = S.PENDING
            locked.save()
            audit_record(
                action="payments.pending",
                target=locked,
                data={
                    "provider_reference": result.reference,
                    "expires_at": result.expires_at.isoformat() if result.expires_at else None,
                },
            )
    return locked
