"""Refunds: by staff holding the refund permission in the organization paid to,
with a reason, never more than what remains refundable (the amount is reserved on
the locked payment before the provider is asked)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.permissions import Action, actor_may
from accounts.services import notify
from audit.services import audit_record
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from payments.models import SETTLED_STATUSES, Payment, PaymentStatus, Refund, RefundStatus
from payments.providers import ProviderUnavailable, provider_named
from payments.selectors import staff_may_see
from payments.services.status import payment_link, yen

logger = logging.getLogger(__name__)

S = PaymentStatus
REASON_MAX = 1000


def _refund_input(amount: Any, reason: str, refundable: int) -> tuple[int, str]:
    """The shape of a refund request, every problem at once. `refundable` is read
    without a lock, to report all problems together; the locked check decides."""
    problems: dict[str, list[str]] = {}
    value = 0
    try:
        value = int(str(amount).replace(",", "").strip())
        if value <= 0:
            problems["amount"] = [_("Enter an amount of at least 1 yen.")]
    except (TypeError, ValueError):
        problems["amount"] = [_("Enter the amount in whole yen, for example 1000.")]
    reason = (reason or "").strip()
    if not reason:
        problems["reason"] = [_("Give the reason for the refund.")]
    elif len(reason) > REASON_MAX:
        problems["reason"] = [_("Keep the reason under 1000 characters.")]
    if problems and "amount" not in problems and value > refundable:
        # Said together with the other problems; alone, it is the locked check's 409.
        problems["amount"] = [
            _("At most %(amount)s yen can still be refunded.") % {"amount": yen(refundable)}
        ]
    if problems:
        raise ValidationFailed(details=problems)
    return value, reason


def refund_request(*, actor: Any, payment: Payment, amount: Any, reason: str) -> Refund:
    """Refund all or part of a paid fee. Needs the refund permission in the
    organization paid to; never more than what remains refundable. The amount is
    reserved on the locked payment before the provider is asked, so two refunds at
    once cannot together exceed it; if the provider refuses, it is released."""
    if not staff_may_see(actor, payment):
        raise NotFound()
    value, reason = _refund_input(amount, reason, payment.refundable_amount)
    with transaction.atomic():
        locked = (
            Payment.objects.select_for_update(of=("self",))
            .select_related("organization")
            .filter(pk=payment.pk)
            .first()
        )
        if locked is None or not staff_may_see(actor, locked):
            raise NotFound()
        if not actor_may(actor, Action.REFUND_PAYMENTS, locked.organization):
            raise PermissionDenied(
                _("Your role does not allow refunds for this organization."), code="not_allowed"
            )
        if locked.status not in SETTLED_STATUSES:
            raise Conflict(
                _("Only a paid fee can be refunded (this payment is “%(status)s”).")
                % {"status": locked.get_status_display()},
                code="not_refundable",
            )
        if value > locked.refundable_amount:
            raise Conflict(
                _("At most %(amount)s yen can still be refunded.")
                % {"amount": yen(locked.refundable_amount)},
                code="refund_exceeds_refundable",
                details={"refundable": locked.refundable_amount},
            )
        refund = Refund.objects.create(
            payment=locked, amount=value, reason=reason, requested_by=actor
        )
        locked.refunded_amount += value
        locked.save(update_fields=["refunded_amount", "updated_at"])
        audit_record(
            actor=actor,
            action="payments.refund_requested",
            target=locked,
            # The reason is staff's free text: it stays on the refund, not in the log.
            data={"refund": refund.public_id, "amount": value},
        )
    try:
        result = provider_named(locked.provider).refund(locked, refund)
    except (NotFound, ProviderUnavailable):
        # The reconciliation asks the provider later and completes or releases it.
        logger.warning("refund %s not confirmed by the provider yet", refund.public_id)
        return refund
    return refund_complete(
        refund_id=refund.pk,
        status=result.status,
        reference=result.reference,
        failure_reason=result.failure_reason,
    )


def refund_complete(
    *, refund_id: int, status: str, reference: str = "", failure_reason: str = ""
) -> Refund:
    """Record the provider's answer to a refund (once; later answers change nothing)."""
    with transaction.atomic():
        refund = Refund.objects.get(pk=refund_id)
        locked = Payment.objects.select_for_update().get(pk=refund.payment_id)
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        finish_refund(
            locked, refund, status=status, reference=reference, failure_reason=failure_reason
        )
    return refund


def finish_refund(
    locked: Payment, refund: Refund, *, status: str, reference: str, failure_reason: str
) -> None:
    if refund.status != RefundStatus.REQUESTED:
        return
    if reference:
        refund.provider_reference = reference[:64]
    if status == RefundStatus.SUCCEEDED:
        refund.status = RefundStatus.SUCCEEDED
        refund.completed_at = timezone.now()
        refund.save()
        refunded = (
            locked.refunds.filter(status=RefundStatus.SUCCEEDED).aggregate(total=Sum("amount"))[
                "total"
            ]
            or 0
        )
        locked.status = S.REFUNDED if refunded >= locked.amount else S.PARTIALLY_REFUNDED
        locked.save(update_fields=["status", "updated_at"])
        audit_record(
            actor=refund.requested_by,
            action="payments.refunded",
            target=locked,
            data={
                "refund": refund.public_id,
                "amount": refund.amount,
                "refunded": refunded,
                "status": locked.status,
            },
        )
        notify(
            user=locked.payer,
            subject=gettext_lazy("Refund of %(amount)s yen"),
            body=gettext_lazy(
                "%(amount)s yen of your payment for %(description)s has been refunded to the "
                "way you paid. Reason: %(reason)s"
            ),
            params={
                "amount": yen(refund.amount),
                "description": locked.description,
                "reason": refund.reason,
            },
            link=payment_link(locked),
        )
    elif status == RefundStatus.FAILED:
        refund.status = RefundStatus.FAILED
        refund.failure_reason = (failure_reason or "")[:200]
        refund.completed_at = timezone.now()
        refund.save()
        locked.refunded_amount -= refund.amount
        locked.save(update_fields=["refunded_amount", "updated_at"])
        audit_record(
            action="payments.refund_failed",
            target=locked,
            data={
                "refund": refund.public_id,
                "amount": refund.amount,
                "reason": refund.failure_reason,
            },
        )
    else:
        refund.save()
