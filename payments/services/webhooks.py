"""The providers' webhooks: each delivery verified, each event applied once."""

from __future__ import annotations

import logging
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from core.db import insert_returning_pk
from payments.models import Payment, RefundStatus, WebhookEvent, WebhookOutcome
from payments.providers import provider_named
from payments.providers.sandbox import SIGNATURE_HEADER, sandbox_enabled
from payments.services.refunds import finish_refund
from payments.services.status import apply_status

logger = logging.getLogger(__name__)


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
            changed = apply_status(
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
    if insert_returning_pk(record, on_conflict=("provider", "event_id")) is None:
        return None
    return record


def _refund_event(locked: Payment, event: Any) -> bool:
    refund = locked.refunds.filter(public_id=event.refund_key).first()
    if refund is None or refund.status != RefundStatus.REQUESTED:
        return False
    finish_refund(
        locked,
        refund,
        status=event.status,
        reference=event.refund_reference,
        failure_reason=event.failure_reason,
    )
    return refund.status != RefundStatus.REQUESTED


def sandbox_webhook_deliver(*, provider: str, body: str, signature: str) -> str:
    """The sandbox gateway delivering a signed webhook: over HTTP when
    PAYMENTS_SANDBOX_WEBHOOK_URL is set (as a real gateway would), otherwise straight
    into the service the webhook endpoint calls, signature check included. Returns
    the HTTP status or the outcome; "disabled" when the sandbox is off."""
    if not sandbox_enabled():
        return "disabled"
    base = settings.PAYMENTS_SANDBOX_WEBHOOK_URL
    if base:
        request = urllib.request.Request(  # noqa: S310 (a configured http(s) URL)
            f"{base.rstrip('/')}/{provider}/",
            data=body.encode("utf-8"),
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return str(response.status)
    result = webhook_receive(
        provider_name=provider,
        headers={SIGNATURE_HEADER: signature},
        body=body.encode("utf-8"),
    )
    return result.outcome
