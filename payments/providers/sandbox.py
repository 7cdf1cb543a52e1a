"""The sandbox providers: a card / QR-code gateway with its own hosted payment page,
and a deferred gateway handing out Pay-easy style payment numbers. Both live inside
the project so the whole payment flow works offline, and both behave like a
remote gateway would: they keep their own ledger (SandboxTransaction), answer
status queries and reconciliation listings from it, refund idempotently, and
report results by webhooks signed with HMAC-SHA256 over timestamp and body.

They exist only with PAYMENTS_SANDBOX_ENABLED (local and test settings; production
refuses it): their pages would let anyone "pay" without money.

The payer's choices on the hosted page: pay (the webhook is sent at once),
decline, a delayed result (decided after PAYMENTS_SANDBOX_DELAY_SECONDS and
notified then, by the beat task `release_sandbox_results`), or pay with the
notification lost (only a status query or the reconciliation can find out).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from core import input_limits
from core.tasks import enqueue
from payments.models import PaymentMethod, PaymentStatus, SandboxStatus, SandboxTransaction
from payments.providers import (
    PaymentProvider,
    ProviderEvent,
    ProviderStatus,
    ProviderTransaction,
    RefundResult,
    StartResult,
    lowercase_headers,
)
from payments.providers.signature import WebhookRejected, signature_header, verify

if TYPE_CHECKING:
    from payments.models import Payment, Refund

SIGNATURE_HEADER = "Sandbox-Signature"
INSTITUTION_NUMBER = "58091"  # the sandbox's 収納機関番号

# The sandbox's words -> ours.
_STATUS = {
    SandboxStatus.OPEN: PaymentStatus.PENDING,
    SandboxStatus.PROCESSING: PaymentStatus.PENDING,
    SandboxStatus.SUCCEEDED: PaymentStatus.SUCCEEDED,
    SandboxStatus.FAILED: PaymentStatus.FAILED,
    SandboxStatus.EXPIRED: PaymentStatus.EXPIRED,
    SandboxStatus.CANCELED: PaymentStatus.CANCELED,
}
_FINAL = {SandboxStatus.SUCCEEDED, SandboxStatus.FAILED, SandboxStatus.EXPIRED}


def sandbox_enabled() -> bool:
    return bool(getattr(settings, "PAYMENTS_SANDBOX_ENABLED", False))


def webhook_secret(provider_name: str) -> bytes:
    """PAYMENTS_WEBHOOK_SECRETS[name], or a value derived from SECRET_KEY (which
    the local settings make at random per installation, so no one can compute the
    demo's secret from the repository and forge a payment.succeeded)."""
    configured = (getattr(settings, "PAYMENTS_WEBHOOK_SECRETS", {}) or {}).get(provider_name, "")
    if configured:
        return str(configured).encode()
    return salted_hmac("payments.sandbox-webhook", provider_name).hexdigest().encode()


def _digits(count: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(count))


def _deadline(now: datetime) -> datetime:
    """The end (23:59:59, Japan time) of the day PAYMENTS_DEFERRED_DAYS from now."""
    local = timezone.localtime(now) + timedelta(days=settings.PAYMENTS_DEFERRED_DAYS)
    return local.replace(hour=23, minute=59, second=59, microsecond=0)


def _settle_due(tx: SandboxTransaction, now: datetime | None = None) -> None:
    """A delayed result is decided once its time has come."""
    now = now or timezone.now()
    if tx.status == SandboxStatus.PROCESSING and tx.settle_at and tx.settle_at <= now:
        tx.status = SandboxStatus.SUCCEEDED
        tx.save(update_fields=["status", "updated_at"])


def _status_of(tx: SandboxTransaction) -> ProviderStatus:
    return ProviderStatus(
        reference=tx.reference,
        status=_STATUS[tx.status],
        amount=tx.amount,
        refunded_amount=tx.refunded_amount,
        occurred_at=tx.updated_at,
        failure_reason="card_declined" if tx.status == SandboxStatus.FAILED else "",
    )


class SandboxProvider(PaymentProvider):
    """Card and QR-code payments on a hosted page inside the project."""

    name = "sandbox"
    label = _("Sandbox card and QR gateway (test)")
    methods = frozenset({PaymentMethod.CARD, PaymentMethod.QR_CODE})

    def enabled(self) -> bool:
        return sandbox_enabled()

    # --- starting -------------------------------------------------------------------

    def _transaction(self, payment: Payment, **defaults) -> SandboxTransaction:
        # Our order id makes starting idempotent, as a real gateway's idempotency key would.
        tx, _created = SandboxTransaction.objects.get_or_create(
            merchant_order=payment.public_id,
            defaults={
                "provider": self.name,
                "method": payment.method,
                "amount": payment.amount,
                "description": payment.description,
                **defaults,
            },
        )
        return tx

    def start(self, payment: Payment, *, return_url: str) -> StartResult:
        expires_at = timezone.now() + timedelta(minutes=settings.PAYMENTS_CARD_SESSION_MINUTES)
        tx = self._transaction(payment, return_url=return_url, expires_at=expires_at)
        return StartResult(
            reference=tx.reference,
            redirect_url=reverse("payments_sandbox:checkout", args=[tx.reference]),
            expires_at=tx.expires_at,
        )

    # --- webhooks ---------------------------------------------------------------------

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes) -> ProviderEvent:
        header = lowercase_headers(headers).get(SIGNATURE_HEADER.lower(), "")
        verify(
            webhook_secret(self.name),
            header,
            body,
            tolerance=settings.PAYMENTS_WEBHOOK_TOLERANCE_SECONDS,
        )
        try:
            document = json.loads(body.decode("utf-8"))
            if input_limits.problems_in(document):
                raise ValueError("text or numbers no store can hold")
            event_id = str(document["id"])[:100]
            event_type = str(document["type"])
            data = document["data"]
            created = input_limits.timestamp_from_epoch(document["created"])
            reference = str(data["reference"])
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
            raise WebhookRejected(
                _("The notification is not in the expected format."), code="payload_invalid"
            ) from error
        if event_type.startswith("refund."):
            refund = data.get("refund") or {}
            return ProviderEvent(
                event_id=event_id,
                event_type=event_type,
                reference=reference,
                kind="refund",
                status=str(refund.get("status", "")),
                amount=int(refund.get("amount", 0) or 0),
                occurred_at=created,
                refund_key=str(refund.get("key", "")),
                refund_reference=str(refund.get("id", "")),
                failure_reason=str(refund.get("failure_reason", ""))[:200],
                payload=document,
            )
        return ProviderEvent(
            event_id=event_id,
            event_type=event_type,
            reference=reference,
            kind="payment",
            status=str(data.get("status", "")),
            amount=int(data.get("amount", 0) or 0),
            occurred_at=created,
            failure_reason=str(data.get("failure_reason", ""))[:200],
            payload=document,
        )

    # --- the provider's own records -------------------------------------------------------

    def _find(self, payment: Payment) -> SandboxTransaction:
        tx = SandboxTransaction.objects.filter(reference=payment.provider_reference).first()
        if tx is None:
            tx = SandboxTransaction.objects.filter(merchant_order=payment.public_id).first()
        if tx is None:
            return SandboxTransaction(
                reference=payment.provider_reference,
                status=SandboxStatus.CANCELED,
                amount=0,
                updated_at=timezone.now(),
            )
        return tx

    def query_status(self, payment: Payment) -> ProviderStatus:
        tx = self._find(payment)
        if tx.pk:
            _settle_due(tx)
        return _status_of(tx)

    def cancel(self, payment: Payment) -> ProviderStatus:
        with transaction.atomic():
            tx = (
                SandboxTransaction.objects.select_for_update()
                .filter(merchant_order=payment.public_id)
                .first()
            )
            if tx is None:
                return ProviderStatus(
                    reference=payment.provider_reference,
                    status=PaymentStatus.CANCELED,
                    amount=payment.amount,
                )
            _settle_due(tx)
            if tx.status == SandboxStatus.OPEN:
                tx.status = SandboxStatus.CANCELED
                tx.notified = True
                tx.save(update_fields=["status", "notified", "updated_at"])
            return _status_of(tx)

    def refund(self, payment: Payment, refund: Refund) -> RefundResult:
        with transaction.atomic():
            tx = SandboxTransaction.objects.select_for_update().get(
                merchant_order=payment.public_id
            )
            for done in tx.refunds:
                if done["key"] == refund.public_id:
                    return RefundResult(reference=done["id"], status="succeeded")
            if tx.status != SandboxStatus.SUCCEEDED:
                return RefundResult(reference="", status="failed", failure_reason="not_paid")
            if tx.refunded_amount + refund.amount > tx.amount:
                return RefundResult(reference="", status="failed", failure_reason="exceeds_amount")
            reference = f"sbr_{secrets.token_hex(10)}"
            tx.refunds = [
                *tx.refunds,
                {"id": reference, "key": refund.public_id, "amount": refund.amount},
            ]
            tx.refunded_amount += refund.amount
            tx.save(update_fields=["refunds", "refunded_amount", "updated_at"])
            return RefundResult(reference=reference, status="succeeded")

    def list_transactions(self, *, since: datetime, until: datetime) -> list[ProviderTransaction]:
        found = []
        for tx in SandboxTransaction.objects.filter(
            provider=self.name, updated_at__gte=since, updated_at__lte=until
        ):
            _settle_due(tx)
            found.append(
                ProviderTransaction(
                    reference=tx.reference,
                    merchant_order=tx.merchant_order,
                    status=_STATUS[tx.status],
                    amount=tx.amount,
                    refunded_amount=tx.refunded_amount,
                    updated_at=tx.updated_at,
                    refunds={item["key"]: item["amount"] for item in tx.refunds},
                )
            )
        return found


class SandboxDeferredProvider(SandboxProvider):
    """Bank transfer (Pay-easy) and convenience-store payment with payment numbers
    and a deadline; the money arrives later, by webhook."""

    name = "sandbox_deferred"
    label = _("Sandbox bank-transfer and convenience-store gateway (test)")
    methods = frozenset({PaymentMethod.BANK_TRANSFER, PaymentMethod.CONVENIENCE_STORE})
    deferred = True

    def start(self, payment: Payment, *, return_url: str) -> StartResult:
        if payment.method == PaymentMethod.BANK_TRANSFER:
            numbers = [
                ("institution_number", "収納機関番号", "Institution number", INSTITUTION_NUMBER),
                ("payment_number", "納付番号", "Payment number", _digits(16)),
                ("confirmation_number", "確認番号", "Confirmation number", _digits(6)),
            ]
            where = "bank"
        else:
            numbers = [
                ("payment_number", "納付番号", "Payment number", _digits(13)),
                ("confirmation_number", "確認番号", "Confirmation number", _digits(4)),
            ]
            where = "store"
        instructions = {
            "where": where,
            "numbers": [
                {"key": key, "label_ja": ja, "label_en": en, "value": value}
                for key, ja, en, value in numbers
            ],
        }
        tx = self._transaction(
            payment,
            return_url=return_url,
            expires_at=_deadline(timezone.now()),
            numbers=instructions,
        )
        return StartResult(
            reference=tx.reference, instructions=tx.numbers, expires_at=tx.expires_at
        )


# --- The sandbox gateway's side: the payer acts, the gateway notifies ---------------------

CHOICES = ("succeed", "fail", "delay", "succeed_silently")


def _event(tx: SandboxTransaction, event_type: str) -> dict:
    return {
        "id": f"evt_{secrets.token_hex(12)}",
        "type": event_type,
        "created": int(timezone.now().timestamp()),
        "data": {
            "reference": tx.reference,
            "merchant_order": tx.merchant_order,
            "amount": tx.amount,
            "status": str(_STATUS[tx.status]),
            "failure_reason": "card_declined" if tx.status == SandboxStatus.FAILED else "",
        },
    }


def send_webhook(tx: SandboxTransaction, event_type: str) -> dict:
    """Sign an event and deliver it after the commit (a task), as the gateway would."""
    event = _event(tx, event_type)
    body = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    header = signature_header(webhook_secret(tx.provider), body.encode("utf-8"))
    # By name: the task module imports this one, never the reverse.
    enqueue("payments.tasks.deliver_sandbox_webhook", tx.provider, body, header)
    return event


def _locked(reference: str) -> SandboxTransaction:
    return SandboxTransaction.objects.select_for_update().get(reference=reference)


def checkout_decide(*, reference: str, choice: str) -> SandboxTransaction:
    """The payer's choice on the hosted page. Deciding twice changes nothing."""
    if choice not in CHOICES:
        raise ValueError(choice)
    with transaction.atomic():
        tx = _locked(reference)
        if tx.status != SandboxStatus.OPEN:
            return tx
        if choice == "delay":
            tx.status = SandboxStatus.PROCESSING
            tx.settle_at = timezone.now() + timedelta(
                seconds=settings.PAYMENTS_SANDBOX_DELAY_SECONDS
            )
            tx.save(update_fields=["status", "settle_at", "updated_at"])
            return tx
        tx.status = SandboxStatus.FAILED if choice == "fail" else SandboxStatus.SUCCEEDED
        tx.notified = True
        tx.save(update_fields=["status", "notified", "updated_at"])
        if choice != "succeed_silently":
            send_webhook(tx, "payment.failed" if choice == "fail" else "payment.succeeded")
        return tx


def deferred_pay(*, reference: str) -> SandboxTransaction:
    """The resident pays at the ATM, online banking or the store (simulated)."""
    with transaction.atomic():
        tx = _locked(reference)
        if tx.status != SandboxStatus.OPEN:
            return tx
        tx.status = SandboxStatus.SUCCEEDED
        tx.notified = True
        tx.save(update_fields=["status", "notified", "updated_at"])
        send_webhook(tx, "payment.succeeded")
        return tx


def deferred_expire(*, reference: str) -> SandboxTransaction:
    """The deadline passes unpaid (simulated now): the numbers stop working."""
    with transaction.atomic():
        tx = _locked(reference)
        if tx.status != SandboxStatus.OPEN:
            return tx
        tx.status = SandboxStatus.EXPIRED
        tx.expires_at = timezone.now()
        tx.notified = True
        tx.save(update_fields=["status", "expires_at", "notified", "updated_at"])
        send_webhook(tx, "payment.expired")
        return tx


def sandbox_results_release() -> int:
    """The gateway's beat: notify the delayed results due (nothing when the sandbox
    is off); returns how many."""
    if not sandbox_enabled():
        return 0
    return release_delayed()


def release_delayed(*, now: datetime | None = None) -> int:
    """Notify the delayed results whose time has come; returns how many."""
    now = now or timezone.now()
    released = 0
    pending = SandboxTransaction.objects.filter(
        notified=False,
        settle_at__isnull=False,
        settle_at__lte=now,
        status__in=[SandboxStatus.PROCESSING, SandboxStatus.SUCCEEDED],
    ).values_list("reference", flat=True)
    for reference in list(pending):
        with transaction.atomic():
            tx = _locked(reference)
            if tx.notified:
                continue
            _settle_due(tx, now)
            tx.notified = True
            tx.save(update_fields=["notified", "updated_at"])
            send_webhook(tx, "payment.succeeded")
            released += 1
    return released
