"""Payments, refunds, provider webhooks and reconciliation.

A payment is for a *subject*: "an application with id N" (`subject_kind`,
`subject_id`). Payments never import the subject's model; the app that owns the
subject registers a resolver and a settlement handler (payments/registry.py).
Amounts are whole yen.

The last model, `SandboxTransaction`, is not ours in the business sense: it is the
sandbox gateway's own ledger, what a real provider keeps on its side, so that
querying the provider and reconciling against it work offline.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel


def new_public_id() -> str:
    return uuid.uuid4().hex


class PaymentMethod(models.TextChoices):
    """The online methods a fee may list (procedures' `fee.methods`). Cash and
    revenue stamps are not methods of this platform at all."""

    CARD = "card", _("Credit or debit card")
    QR_CODE = "qr_code", _("QR code payment")
    BANK_TRANSFER = "bank_transfer", _("Bank transfer (Pay-easy)")
    CONVENIENCE_STORE = "convenience_store", _("Convenience store")


# For documents, which are bilingual by design (Japanese first) and use no gettext.
METHOD_NAMES = {
    PaymentMethod.CARD: ("クレジットカード・デビットカード", "Credit or debit card"),
    PaymentMethod.QR_CODE: ("QRコード決済", "QR code payment"),
    PaymentMethod.BANK_TRANSFER: ("銀行振込（ペイジー）", "Bank transfer (Pay-easy)"),
    PaymentMethod.CONVENIENCE_STORE: ("コンビニエンスストア払い", "Convenience store"),
}


class PaymentStatus(models.TextChoices):
    CREATED = "created", _("Being prepared")
    PENDING = "pending", _("Waiting for payment")
    SUCCEEDED = "succeeded", _("Paid")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")
    CANCELED = "canceled", _("Canceled")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded")


S = PaymentStatus
# At most one of these per subject (a partial unique constraint).
OPEN_STATUSES = frozenset({S.CREATED, S.PENDING})
# The money was received and not all of it was given back: the fee is paid.
SETTLED_STATUSES = frozenset({S.SUCCEEDED, S.PARTIALLY_REFUNDED})
UNPAID_FINAL_STATUSES = frozenset({S.FAILED, S.EXPIRED, S.CANCELED})

# How far along a payment is. A status reported by a provider is applied only
# when it ranks higher than the current one, so events arriving out of order are
# harmless: a late "failed" or "pending" never overrides "succeeded", while a
# "succeeded" after "failed" or "expired" (the money did arrive) is recorded.
# Refund states are reached only through refunds, never through payment events.
STATUS_RANK = {
    S.CREATED: 0,
    S.PENDING: 1,
    S.FAILED: 2,
    S.EXPIRED: 2,
    S.CANCELED: 2,
    S.SUCCEEDED: 3,
    S.PARTIALLY_REFUNDED: 4,
    S.REFUNDED: 4,
}


class Payment(TimeStampedModel):
    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)
    subject_kind = models.CharField(_("paid for (kind)"), max_length=30)
    subject_id = models.PositiveBigIntegerField(_("paid for (id)"))
    payer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("payer"),
        on_delete=models.PROTECT,
        related_name="payments",
    )
    # The organization the fee is paid to: whose staff may refund it.
    organization = models.ForeignKey(
        "accounts.Organization",
        verbose_name=_("organization"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    description = models.CharField(_("description"), max_length=200)
    amount = models.PositiveIntegerField(_("amount (yen)"))
    # Refunds requested or done; never more than the amount (a check constraint).
    refunded_amount = models.PositiveIntegerField(_("refunded (yen)"), default=0)
    method = models.CharField(_("method"), max_length=20, choices=PaymentMethod.choices)
    provider = models.CharField(_("provider"), max_length=30)
    provider_reference = models.CharField(_("provider reference"), max_length=64, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.CREATED
    )
    idempotency_key = models.CharField(max_length=100, blank=True)
    # SHA-256 of the canonical request: the same key with another request is a conflict.
    request_digest = models.CharField(max_length=64, blank=True)
    # The provider's hosted payment page (card, QR code).
    redirect_url = models.CharField(max_length=500, blank=True)
    # Payment numbers for deferred methods (納付番号 and the like).
    instructions = models.JSONField(default=dict, blank=True)
    expires_at = models.DateTimeField(_("deadline"), null=True, blank=True)
    succeeded_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.CharField(max_length=200, blank=True)
    provider_status = models.CharField(max_length=20, blank=True)
    provider_updated_at = models.DateTimeField(null=True, blank=True)
    last_queried_at = models.DateTimeField(null=True, blank=True)
    # When the subject's app confirmed it handled the settlement; until then the
    # sweep (and the reconciliation) dispatch it again.
    settlement_done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        indexes = [
            models.Index(fields=["subject_kind", "subject_id"]),
            models.Index(fields=["status", "expires_at"]),
            models.Index(fields=["provider", "updated_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["subject_kind", "subject_id"],
                condition=Q(status__in=["created", "pending"]),
                name="payment_one_open_per_subject",
            ),
            models.UniqueConstraint(
                fields=["payer", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="payment_idempotency_key_unique",
            ),
            models.UniqueConstraint(
                fields=["provider", "provider_reference"],
                condition=~Q(provider_reference=""),
                name="payment_provider_reference_unique",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=F("amount")),
                name="payment_refunds_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.description} ¥{self.amount:,} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_settled(self) -> bool:
        return self.status in SETTLED_STATUSES

    @property
    def refundable_amount(self) -> int:
        if not self.is_settled:
            return 0
        return self.amount - self.refunded_amount

    @property
    def is_deferred(self) -> bool:
        return self.method in (PaymentMethod.BANK_TRANSFER, PaymentMethod.CONVENIENCE_STORE)


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", _("Awaiting the provider")
    SUCCEEDED = "succeeded", _("Refunded")
    FAILED = "failed", _("Failed")


class Refund(TimeStampedModel):
    """Money given back, in whole or in part, by staff allowed to refund, with a
    reason. While requested, its amount is already counted in the payment's
    `refunded_amount`, so two refunds at once can never exceed the payment."""

    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.PositiveIntegerField(_("amount (yen)"))
    reason = models.TextField(_("reason"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=RefundStatus.choices, default=RefundStatus.REQUESTED
    )
    provider_reference = models.CharField(max_length=64, blank=True)
    failure_reason = models.CharField(max_length=200, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"refund ¥{self.amount:,} of {self.payment_id} ({self.status})"


class WebhookOutcome(models.TextChoices):
    APPLIED = "applied", _("Applied")
    IGNORED = "ignored", _("Ignored (older than the current state)")
    UNKNOWN_PAYMENT = "unknown_payment", _("Unknown payment")


class WebhookEvent(models.Model):
    """Each provider event, once: the unique (provider, event id) pair is inserted
    in the same transaction as the change it causes, so a redelivered event (or
    200 deliveries at once) changes nothing a second time."""

    provider = models.CharField(max_length=30)
    event_id = models.CharField(max_length=100)
    event_type = models.CharField(max_length=50)
    received_at = models.DateTimeField(auto_now_add=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="webhook_events"
    )
    payload = models.JSONField(default=dict)
    outcome = models.CharField(max_length=20, choices=WebhookOutcome.choices)

    class Meta:
        ordering = ["received_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"], name="webhook_event_once_per_provider"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_id} {self.event_type}"


class ReconciliationRun(models.Model):
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    checked = models.PositiveIntegerField(default=0)
    repaired = models.PositiveIntegerField(default=0)
    mismatches = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"reconciliation {self.started_at:%Y-%m-%d %H:%M}"


class IssueKind(models.TextChoices):
    MISSED_WEBHOOK = "missed_webhook", _("Missed notification (repaired)")
    AMOUNT_MISMATCH = "amount_mismatch", _("Amounts differ")
    STATUS_MISMATCH = "status_mismatch", _("Paid here, not at the provider")
    UNKNOWN_TRANSACTION = "unknown_transaction", _("Transaction unknown here")
    MISSING_AT_PROVIDER = "missing_at_provider", _("Payment unknown to the provider")
    REFUND_MISMATCH = "refund_mismatch", _("Refunds differ")
    DUPLICATE_PAYMENT = "duplicate_payment", _("Paid twice")


class ReconciliationIssue(models.Model):
    """A difference between the provider's records and ours. Repaired ones are
    closed at once and kept for the record; the others stay open, one row per
    provider reference and kind, until a later run finds the two sides agree."""

    run = models.ForeignKey(
        ReconciliationRun, null=True, on_delete=models.CASCADE, related_name="+"
    )
    last_run = models.ForeignKey(
        ReconciliationRun, null=True, on_delete=models.SET_NULL, related_name="issues"
    )
    provider = models.CharField(max_length=30)
    provider_reference = models.CharField(max_length=64, blank=True)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="issues"
    )
    kind = models.CharField(max_length=30, choices=IssueKind.choices)
    ours = models.JSONField(default=dict)
    theirs = models.JSONField(default=dict)
    repaired = models.BooleanField(default=False)
    detected_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-detected_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_reference", "kind"],
                condition=Q(resolved_at__isnull=True),
                name="reconciliation_issue_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.provider}:{self.provider_reference}"


# --- The sandbox gateway's own ledger ---------------------------------------------------


def new_sandbox_reference() -> str:
    return f"sbx_{secrets.token_hex(12)}"


class SandboxStatus(models.TextChoices):
    OPEN = "open", _("Unpaid")
    PROCESSING = "processing", _("Processing")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")
    CANCELED = "canceled", _("Canceled")


class SandboxTransaction(TimeStampedModel):
    """What the sandbox provider records on its side (only with
    PAYMENTS_SANDBOX_ENABLED). `merchant_order` is our payment's public id."""

    reference = models.CharField(max_length=64, unique=True, default=new_sandbox_reference)
    provider = models.CharField(max_length=30)
    merchant_order = models.CharField(max_length=32, unique=True)
    method = models.CharField(max_length=20)
    amount = models.PositiveIntegerField()
    description = models.CharField(max_length=200)
    status = models.CharField(
        max_length=20, choices=SandboxStatus.choices, default=SandboxStatus.OPEN
    )
    # A delayed result: decided (succeeded) at this time, notified then.
    settle_at = models.DateTimeField(null=True, blank=True)
    # Whether the result was already sent by webhook.
    notified = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    numbers = models.JSONField(default=dict, blank=True)
    return_url = models.CharField(max_length=500, blank=True)
    refunded_amount = models.PositiveIntegerField(default=0)
    # [{"id": "<refund reference>", "key": "<our refund id>", "amount": 100}]
    refunds = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.reference} {self.status}"
