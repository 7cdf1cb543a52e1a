"""Paying fees online: start, follow, cancel, refund; provider webhooks; deadlines;
daily reconciliation.

Rules enforced here, for pages, the API and tasks alike:
- only the subject's owner pays it, only while its owner app says payment is due,
  only by a method its fee allows, and the amount is what the owner app says is
  due (whole yen); at most one payment per subject is open at a time (a partial
  unique constraint backs this);
- an Idempotency-Key makes starting safe to retry: the same key with the same
  request returns the same payment, the same key with another request is refused;
- a payment is marked paid only on the provider's word: a webhook whose HMAC
  signature and timestamp verify, or the provider's answer to a status query.
  Nothing the payer's browser brings back (the return page) counts;
- each provider event is applied once (its id is stored in the same transaction as
  the change), and a status only ever moves forward (models.STATUS_RANK): a late
  "failed" never overrides "succeeded";
- a settled payment moves its subject on through the registered handler, after the
  commit, in a task that is safe to run again;
- refunds need the refund permission in the organization paid to and a reason, can
  never exceed what remains refundable, even when two are requested at once (the
  payment row is locked and the amount reserved before the provider is asked);
- every change is audited in its own transaction; the payer is notified of
  payments, refunds and expired payment numbers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.permissions import Action, actor_may
from accounts.services import notify
from audit.services import audit_record
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.signing import canonical_json, sha256_hex
from core.tasks import enqueue
from payments.models import (
    OPEN_STATUSES,
    SETTLED_STATUSES,
    STATUS_RANK,
    UNPAID_FINAL_STATUSES,
    IssueKind,
    Payment,
    PaymentMethod,
    PaymentStatus,
    ReconciliationIssue,
    ReconciliationRun,
    Refund,
    RefundStatus,
    WebhookEvent,
    WebhookOutcome,
)
from payments.providers import (
    PaymentProvider,
    ProviderUnavailable,
    enabled_providers,
    provider_for_method,
    provider_named,
)
from payments.registry import resolve_subject, subject_handler
from payments.selectors import staff_may_see

logger = logging.getLogger(__name__)

S = PaymentStatus
IDEMPOTENCY_KEY_MAX = 100
REASON_MAX = 1000
# A refund the provider never confirmed is given up (and its amount released)
# by the reconciliation only after this long.
REFUND_CONFIRMATION_GRACE = timedelta(hours=1)
STUCK_AFTER = timedelta(hours=1)
# The normal path (a task right after the commit) gets this long before the sweep steps in.
SETTLEMENT_GRACE = timedelta(minutes=2)


def _yen(amount: int) -> str:
    return f"{amount:,}"


def _payment_link(payment: Payment) -> str:
    return reverse("payments:detail", args=[payment.public_id])


# --- Starting --------------------------------------------------------------------------


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
            _apply(
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


# --- Status changes -------------------------------------------------------------------------


def _record_issue(
    *,
    kind: str,
    provider: str,
    reference: str,
    payment: Payment | None = None,
    run: ReconciliationRun | None = None,
    ours: dict | None = None,
    theirs: dict | None = None,
    repaired: bool = False,
) -> ReconciliationIssue:
    """One open issue per (provider, reference, kind): found again, it is updated."""
    now = timezone.now()
    values = {"ours": ours or {}, "theirs": theirs or {}, "payment": payment, "last_run": run}
    if repaired:
        return ReconciliationIssue.objects.create(
            run=run,
            provider=provider,
            provider_reference=reference,
            kind=kind,
            repaired=True,
            detected_at=now,
            resolved_at=now,
            **values,
        )
    for _attempt in range(2):
        existing = ReconciliationIssue.objects.filter(
            provider=provider, provider_reference=reference, kind=kind, resolved_at__isnull=True
        ).first()
        if existing is not None:
            for name, value in values.items():
                setattr(existing, name, value)
            existing.save()
            return existing
        try:
            with transaction.atomic():
                return ReconciliationIssue.objects.create(
                    run=run,
                    provider=provider,
                    provider_reference=reference,
                    kind=kind,
                    detected_at=now,
                    **values,
                )
        except IntegrityError:
            continue  # recorded at the same moment by someone else: update theirs
    raise Conflict(code="issue_race")


# What `_apply` changes on the payment row.
APPLIED_FIELDS = [
    "status",
    "provider_status",
    "provider_updated_at",
    "succeeded_at",
    "closed_at",
    "failure_reason",
    "updated_at",
]


def _apply(
    locked: Payment,
    *,
    status: str,
    amount: int,
    source: str,
    occurred_at: datetime | None = None,
    failure_reason: str = "",
    actor: Any = None,
) -> bool:
    """Move a locked payment to the status a provider reported, if that is a step
    forward. Returns whether anything changed. Paid means the provider confirmed
    the very amount we asked for."""
    if status not in (S.PENDING, S.SUCCEEDED, S.FAILED, S.EXPIRED, S.CANCELED):
        return False
    if STATUS_RANK[status] <= STATUS_RANK[locked.status]:
        return False
    if status == S.SUCCEEDED and amount != locked.amount:
        _record_issue(
            kind=IssueKind.AMOUNT_MISMATCH,
            provider=locked.provider,
            reference=locked.provider_reference,
            payment=locked,
            ours={"amount": locked.amount},
            theirs={"amount": amount, "status": status},
        )
        logger.error(
            "payment %s: provider confirmed %s yen, expected %s",
            locked.public_id,
            amount,
            locked.amount,
        )
        return False
    before = locked.status
    now = timezone.now()
    locked.status = status
    locked.provider_status = status
    locked.provider_updated_at = occurred_at or now
    if status == S.SUCCEEDED:
        locked.succeeded_at = occurred_at or now
        locked.closed_at = now
        locked.failure_reason = ""
    elif status in UNPAID_FINAL_STATUSES:
        locked.closed_at = now
        locked.failure_reason = (failure_reason or "")[:200]
    locked.save(update_fields=APPLIED_FIELDS)
    if status == S.SUCCEEDED:
        _on_succeeded(locked)
    elif status == S.EXPIRED and locked.is_deferred:
        notify(
            user=locked.payer,
            subject=gettext_lazy("Your payment numbers have expired"),
            body=gettext_lazy(
                "The deadline to pay %(amount)s yen for %(description)s has passed, and its "
                "payment numbers no longer work. To pay, choose a payment method again."
            ),
            params={"amount": _yen(locked.amount), "description": locked.description},
            link=_payment_link(locked),
        )
    # Last: the audit chain's head stays locked until the commit, and every
    # audited change of the platform waits for it.
    audit_record(
        actor=actor,
        action=f"payments.{status}",
        target=locked,
        data={
            "from": before,
            "to": status,
            "source": source,
            "subject": f"{locked.subject_kind}:{locked.subject_id}",
            "amount": locked.amount,
        },
    )
    return True


def _on_succeeded(locked: Payment) -> None:
    # The settlement task e-mails it: one message to the broker per payment.
    notification = notify(
        email_task=False,
        user=locked.payer,
        subject=gettext_lazy("Payment received: %(amount)s yen"),
        body=gettext_lazy(
            "We received your payment of %(amount)s yen for %(description)s. Your receipt "
            "(領収書) will be among the documents of what you paid for."
        ),
        params={"amount": _yen(locked.amount), "description": locked.description},
        link=_payment_link(locked),
    )
    others = Payment.objects.filter(
        subject_kind=locked.subject_kind,
        subject_id=locked.subject_id,
        status__in=SETTLED_STATUSES,
    ).exclude(pk=locked.pk)
    if others.exists():
        # Paid twice (an old payment succeeded after a new one): staff must refund one.
        _record_issue(
            kind=IssueKind.DUPLICATE_PAYMENT,
            provider=locked.provider,
            reference=locked.provider_reference,
            payment=locked,
            ours={"other_payments": [other.public_id for other in others]},
        )
    # If the broker cannot take it, the settlement sweep finds the payment later (and
    # the sweep of unsent notifications the e-mail).
    enqueue(_settlement_task(), locked.pk, notification.pk)


def _settlement_task():
    from payments.tasks import dispatch_settlement

    return dispatch_settlement


def _apply_by_id(payment_id: int, **kwargs: Any) -> tuple[Payment, bool]:
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment_id)
        return locked, _apply(locked, **kwargs)


# --- Webhooks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookResult:
    outcome: str  # applied, ignored, unknown_payment, duplicate
    event_id: str


def webhook_receive(*, provider_name: str, headers: dict[str, str], body: bytes) -> WebhookResult:
    """Verify one delivery and apply its event exactly once. A forged, malformed or
    stale delivery is refused (WebhookRejected, 400); an event already processed is
    a duplicate and changes nothing; one that would move a payment backwards is
    recorded and ignored."""
    provider = provider_named(provider_name)
    event = provider.parse_webhook(headers=headers, body=body)
    with transaction.atomic():
        # The payment first, locked (with its payer, whom a success notifies):
        # deliveries of one event queue up here, and only the first records it.
        payment = (
            Payment.objects.select_for_update(of=("self",))
            .select_related("payer")
            .filter(provider=provider.name, provider_reference=event.reference)
            .first()
        )
        record = _webhook_record_once(provider.name, event, payment)
        if record is None:
            return WebhookResult("duplicate", event.event_id)
        if payment is None:
            logger.warning("webhook %s for unknown payment %s", event.event_id, event.reference)
            return WebhookResult(record.outcome, event.event_id)
        if event.kind == "refund":
            changed = _refund_event(payment, event)
        else:
            changed = _apply(
                payment,
                status=event.status,
                amount=event.amount,
                source="webhook",
                occurred_at=event.occurred_at,
                failure_reason=event.failure_reason,
            )
        if not changed:
            record.outcome = WebhookOutcome.IGNORED
            record.save(update_fields=["outcome"])
    return WebhookResult(record.outcome, event.event_id)


def _webhook_record_once(provider: str, event: Any, payment: Payment | None) -> WebhookEvent | None:
    """Record the event, unless (provider, event id) is recorded already: then None.
    One statement, INSERT ... ON CONFLICT DO NOTHING, instead of a savepoint around
    an INSERT that may fail. A delivery whose twin is still uncommitted waits for
    it: if the twin commits, this one is the duplicate; if it rolls back, this one
    records the event."""
    record = WebhookEvent(
        provider=provider,
        event_id=event.event_id,
        event_type=event.event_type[:50],
        occurred_at=event.occurred_at,
        payload=event.payload,
        payment=payment,
        outcome=WebhookOutcome.APPLIED if payment is not None else WebhookOutcome.UNKNOWN_PAYMENT,
    )
    fields = [field for field in WebhookEvent._meta.concrete_fields if not field.primary_key]
    values = [field.get_db_prep_save(field.pre_save(record, True), connection) for field in fields]
    quote = connection.ops.quote_name
    # Names from the model's metadata; every value is a parameter.
    table, pk = quote(WebhookEvent._meta.db_table), quote(WebhookEvent._meta.pk.column)
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    once = f"ON CONFLICT ({quote('provider')}, {quote('event_id')}) DO NOTHING"
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) {once} RETURNING {pk}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return None
    record.pk = row[0]
    record._state.adding = False
    record._state.db = connection.alias
    return record


def _refund_event(locked: Payment, event: Any) -> bool:
    refund = locked.refunds.filter(public_id=event.refund_key).first()
    if refund is None or refund.status != RefundStatus.REQUESTED:
        return False
    _refund_finish(
        locked,
        refund,
        status=event.status,
        reference=event.refund_reference,
        failure_reason=event.failure_reason,
    )
    return refund.status != RefundStatus.REQUESTED


# --- Following a payment ------------------------------------------------------------------------


def payment_refresh(*, payment: Payment, force: bool = False) -> Payment:
    """Ask the provider where an open payment stands (the webhook may be late or
    lost) and apply its answer. At most once per PAYMENTS_QUERY_INTERVAL_SECONDS
    per payment unless forced, so reloading a page cannot flood the provider."""
    if payment.status not in OPEN_STATUSES or not payment.provider_reference:
        return payment
    now = timezone.now()
    interval = timedelta(seconds=settings.PAYMENTS_QUERY_INTERVAL_SECONDS)
    claimed = (
        Payment.objects.filter(pk=payment.pk)
        .filter(Q(last_queried_at__isnull=True) | Q(last_queried_at__lte=now - interval))
        .update(last_queried_at=now)
    )
    if not claimed and not force:
        return payment
    try:
        provider = provider_named(payment.provider)
        answer = provider.query_status(payment)
    except (NotFound, ProviderUnavailable):
        logger.warning("status query for payment %s failed", payment.public_id)
        return payment
    locked, _changed = _apply_by_id(
        payment.pk,
        status=answer.status,
        amount=answer.amount,
        source="query",
        occurred_at=answer.occurred_at,
        failure_reason=answer.failure_reason,
    )
    return locked


def payment_cancel(*, actor: Any, payment: Payment) -> Payment:
    """The payer stops an unpaid payment (to choose another method). If the
    provider says it was paid after all, it is recorded as paid instead."""
    if payment.payer_id != getattr(actor, "pk", None):
        raise NotFound()
    if payment.status not in OPEN_STATUSES:
        return payment
    answer_status, amount = S.CANCELED, payment.amount
    if payment.provider_reference:
        try:
            answer = provider_named(payment.provider).cancel(payment)
        except NotFound:
            answer = None
        if answer is not None:
            answer_status, amount = answer.status, answer.amount
    if answer_status == S.PENDING:
        raise Conflict(
            _(
                "The payment service is still processing this payment, so it cannot be "
                "canceled now. Check again in a moment."
            ),
            code="payment_processing",
        )
    locked, _changed = _apply_by_id(
        payment.pk, status=answer_status, amount=amount, source="payer", actor=actor
    )
    return locked


def payments_expire_overdue(*, now: datetime | None = None) -> dict[str, int]:
    """Close open payments past their deadline (payment numbers, abandoned payment
    pages). The provider is asked first: money that did arrive is recorded as paid."""
    now = now or timezone.now()
    counts = {"expired": 0, "paid": 0}
    overdue = Payment.objects.filter(
        Q(status__in=OPEN_STATUSES, expires_at__lt=now)
        # Never handed to the provider (the process stopped in between): no one can pay it.
        | Q(status=S.CREATED, created_at__lt=now - STUCK_AFTER)
    )
    for payment in list(overdue):
        status, amount = S.EXPIRED, payment.amount
        try:
            provider = provider_named(payment.provider)
            answer = provider.query_status(payment) if payment.provider_reference else None
            if answer is not None and answer.status == S.PENDING:
                answer = provider.cancel(payment)
        except (NotFound, ProviderUnavailable):
            answer = None
        if answer is not None and answer.status == S.SUCCEEDED:
            status, amount = S.SUCCEEDED, answer.amount
        elif answer is not None and answer.status == S.PENDING:
            continue  # the provider is still deciding; next round
        _locked, changed = _apply_by_id(payment.pk, status=status, amount=amount, source="deadline")
        if changed:
            counts["paid" if status == S.SUCCEEDED else "expired"] += 1
    return counts


def payment_settlement_dispatch(*, payment_id: int) -> bool:
    """Tell the subject's owner app that its payment settled, and record that it
    was handled. Safe to repeat: the handler does nothing when the subject has
    already moved on. Returns whether the handler moved something."""
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None or payment.status not in SETTLED_STATUSES | {S.REFUNDED}:
        return False
    try:
        handler = subject_handler(payment.subject_kind)
    except NotFound:
        logger.error("no settlement handler for %s", payment.subject_kind)
        return False
    moved = bool(handler.settled(payment.subject_id, payment.pk))
    Payment.objects.filter(pk=payment.pk, settlement_done_at__isnull=True).update(
        settlement_done_at=timezone.now()
    )
    return moved


def payments_settlement_sweep(*, now: datetime | None = None) -> int:
    """Settlements whose task never ran or failed for good (a broker outage, a
    crashed worker): dispatch them again. Returns how many were dispatched."""
    now = now or timezone.now()
    waiting = Payment.objects.filter(
        status__in=SETTLED_STATUSES | {S.REFUNDED},
        settlement_done_at__isnull=True,
        closed_at__lt=now - SETTLEMENT_GRACE,
    ).values_list("pk", flat=True)
    dispatched = 0
    for payment_id in list(waiting):
        try:
            payment_settlement_dispatch(payment_id=payment_id)
        except Exception:
            # One subject failing must not stop the others; it is tried again next round.
            logger.exception("settlement of payment %s failed", payment_id)
            continue
        dispatched += 1
    return dispatched


# --- Refunds ------------------------------------------------------------------------------------


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
            _("At most %(amount)s yen can still be refunded.") % {"amount": _yen(refundable)}
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
                % {"amount": _yen(locked.refundable_amount)},
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
            data={"refund": refund.public_id, "amount": value, "reason": reason},
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
        _refund_finish(
            locked, refund, status=status, reference=reference, failure_reason=failure_reason
        )
    return refund


def _refund_finish(
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
                "amount": _yen(refund.amount),
                "description": locked.description,
                "reason": refund.reason,
            },
            link=_payment_link(locked),
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


# --- Reconciliation -------------------------------------------------------------------------------


@dataclass
class _RunState:
    run: ReconciliationRun
    seen: set
    now: datetime
    repaired: int = 0
    checked: int = 0


def _issue(state: _RunState, **kwargs: Any) -> None:
    issue = _record_issue(run=state.run, **kwargs)
    if kwargs.get("repaired"):
        state.repaired += 1
    else:
        state.seen.add(issue.pk)


def _reconcile_one(state: _RunState, provider: PaymentProvider, tx: Any, payment: Payment) -> None:
    facts = {
        "status": payment.status,
        "amount": payment.amount,
        "refunded_amount": payment.refunded_amount,
    }
    theirs = {"status": tx.status, "amount": tx.amount, "refunded_amount": tx.refunded_amount}
    common = {"provider": provider.name, "reference": tx.reference, "payment": payment}
    if tx.amount != payment.amount:
        _issue(state, kind=IssueKind.AMOUNT_MISMATCH, ours=facts, theirs=theirs, **common)
        return
    behind = payment.status in OPEN_STATUSES or (
        payment.status in UNPAID_FINAL_STATUSES and tx.status == S.SUCCEEDED
    )
    if behind and tx.status != S.PENDING and tx.status != payment.status:
        _locked, changed = _apply_by_id(
            payment.pk,
            status=tx.status,
            amount=tx.amount,
            source="reconciliation",
            occurred_at=tx.updated_at,
        )
        if changed:
            _issue(
                state,
                kind=IssueKind.MISSED_WEBHOOK,
                ours=facts,
                theirs=theirs,
                repaired=True,
                **common,
            )
            payment.refresh_from_db()
    elif payment.status in SETTLED_STATUSES | {S.REFUNDED} and tx.status != S.SUCCEEDED:
        _issue(state, kind=IssueKind.STATUS_MISMATCH, ours=facts, theirs=theirs, **common)
        return
    # Refunds: complete those the provider has, give up those it never got.
    for refund in payment.refunds.filter(status=RefundStatus.REQUESTED):
        if refund.public_id in tx.refunds:
            refund_complete(refund_id=refund.pk, status=RefundStatus.SUCCEEDED)
            state.repaired += 1
        elif refund.created_at < state.now - REFUND_CONFIRMATION_GRACE:
            refund_complete(
                refund_id=refund.pk,
                status=RefundStatus.FAILED,
                failure_reason="unknown_to_provider",
            )
            state.repaired += 1
    refunded = (
        payment.refunds.filter(status=RefundStatus.SUCCEEDED).aggregate(total=Sum("amount"))[
            "total"
        ]
        or 0
    )
    if refunded != tx.refunded_amount:
        _issue(
            state,
            kind=IssueKind.REFUND_MISMATCH,
            ours={**facts, "refunded": refunded},
            theirs=theirs,
            **common,
        )


def reconciliation_run(
    *, now: datetime | None = None, days: int | None = None
) -> ReconciliationRun:
    """Compare each provider's transactions of the last days with ours: repair what
    a missed webhook left behind (status, refunds, and the subject's settlement),
    and list every other difference for the auditors. An open difference that a
    later run no longer finds is closed."""
    now = now or timezone.now()
    since = now - timedelta(days=days or settings.PAYMENTS_RECONCILIATION_DAYS)
    run = ReconciliationRun.objects.create(started_at=now, window_start=since, window_end=now)
    state = _RunState(run=run, seen=set(), now=now)
    listed: list[str] = []
    for provider in enabled_providers():
        try:
            transactions = provider.list_transactions(since=since, until=now)
        except ProviderUnavailable:
            logger.error("reconciliation: %s did not list its transactions", provider.name)
            continue
        listed.append(provider.name)
        theirs = {tx.reference: tx for tx in transactions}
        ours = {
            payment.provider_reference: payment
            for payment in Payment.objects.filter(provider=provider.name)
            .exclude(provider_reference="")
            .filter(Q(updated_at__gte=since) | Q(provider_reference__in=list(theirs)))
        }
        for reference, tx in theirs.items():
            state.checked += 1
            payment = ours.get(reference)
            if payment is None:
                _issue(
                    state,
                    kind=IssueKind.UNKNOWN_TRANSACTION,
                    provider=provider.name,
                    reference=reference,
                    theirs={
                        "status": tx.status,
                        "amount": tx.amount,
                        "merchant_order": tx.merchant_order,
                    },
                )
                continue
            _reconcile_one(state, provider, tx, payment)
        for reference, payment in ours.items():
            if reference not in theirs and payment.status in SETTLED_STATUSES | {S.REFUNDED}:
                _issue(
                    state,
                    kind=IssueKind.MISSING_AT_PROVIDER,
                    provider=provider.name,
                    reference=reference,
                    payment=payment,
                    ours={"status": payment.status, "amount": payment.amount},
                )
    # Settlements the subject's app never confirmed (a lost task): handlers are idempotent.
    for payment_id in Payment.objects.filter(
        status__in=SETTLED_STATUSES, settlement_done_at__isnull=True
    ).values_list("pk", flat=True):
        if payment_settlement_dispatch(payment_id=payment_id):
            state.repaired += 1
    # Paid twice: open until one of the payments is refunded.
    for issue in ReconciliationIssue.objects.filter(
        kind=IssueKind.DUPLICATE_PAYMENT, resolved_at__isnull=True
    ).select_related("payment"):
        if issue.payment is not None and issue.payment.status == S.REFUNDED:
            continue
        others = Payment.objects.filter(
            public_id__in=issue.ours.get("other_payments", []), status__in=SETTLED_STATUSES
        )
        if issue.payment is not None and issue.payment.is_settled and others.exists():
            state.seen.add(issue.pk)
    ReconciliationIssue.objects.filter(resolved_at__isnull=True).filter(
        Q(provider__in=listed) | Q(kind=IssueKind.DUPLICATE_PAYMENT)
    ).exclude(pk__in=state.seen).update(resolved_at=now)
    run.finished_at = timezone.now()
    run.checked = state.checked
    run.repaired = state.repaired
    run.mismatches = ReconciliationIssue.objects.filter(resolved_at__isnull=True).count()
    run.save()
    audit_record(
        action="payments.reconciled",
        target=run,
        data={
            "checked": run.checked,
            "repaired": run.repaired,
            "open_issues": run.mismatches,
            "providers": listed,
        },
    )
    return run
