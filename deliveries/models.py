"""Delivery of filings and decisions to a department's own systems (docs/deliveries.md).

A department attaches delivery targets to a procedure: a signed HTTP webhook
(Standard Webhooks) or an e-mail to its mailbox. Each event of an application
(submitted, corrected, decided, withdrawn) becomes one Delivery per target whose
events include it, recorded in the transaction of the change itself. Delivery runs
after the commit and is retried with backoff for more than a day; every attempt is
kept, and what finally fails is a dead letter a department admin can replay."""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel


class TargetKind(models.TextChoices):
    WEBHOOK = "webhook", _("Signed webhook (HTTPS)")
    EMAIL = "email", _("E-mail to a mailbox")


class EventType(models.TextChoices):
    SUBMITTED = "application.submitted", _("Application submitted")
    CORRECTED = "application.corrected", _("Corrected (resubmitted)")
    DECIDED = "application.decided", _("Decision taken")
    WITHDRAWN = "application.withdrawn", _("Application withdrawn")


class DeliveryTarget(TimeStampedModel):
    """Where a procedure's events go. The webhook's signing secret is stored
    encrypted (core.signing) and shown to the department once, when it is made."""

    procedure = models.ForeignKey(
        "procedures.Procedure",
        on_delete=models.CASCADE,
        related_name="delivery_targets",
        verbose_name=_("procedure"),
    )
    name = models.CharField(_("system name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=TargetKind.choices)
    url = models.URLField(_("webhook address"), max_length=500, blank=True)
    email = models.EmailField(_("mailbox"), blank=True)
    secret_encrypted = models.TextField(_("signing secret (encrypted)"), blank=True)
    # After a rotation the previous secret signs too, until this moment, so the
    # receiver can switch without missing a delivery.
    previous_secret_encrypted = models.TextField(blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    events = models.JSONField(_("events"), default=list)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("delivery target")
        verbose_name_plural = _("delivery targets")
        ordering = ["procedure_id", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["procedure", "name"], name="deliveries_target_name_unique_per_procedure"
            ),
            models.CheckConstraint(
                condition=(Q(kind=TargetKind.WEBHOOK) & ~Q(url="") & Q(email=""))
                | (Q(kind=TargetKind.EMAIL) & ~Q(email="") & Q(url="")),
                name="deliveries_target_has_its_address",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def event_labels(self) -> list[str]:
        return [EventType(event).label for event in self.events if event in EventType.values]

    @property
    def owning_organization(self):
        return self.procedure.owning_organization


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Waiting to be delivered")
    DELIVERED = "delivered", _("Delivered")
    DEAD = "dead", _("Failed (dead letter)")


def new_message_id() -> str:
    # Standard Webhooks' webhook-id: stable across retries and replays, so a
    # receiver that has seen it can drop the repeat.
    return f"msg_{secrets.token_hex(16)}"


class Delivery(models.Model):
    """One event for one target. `message_id` never changes, whatever the number
    of attempts or replays."""

    target = models.ForeignKey(DeliveryTarget, on_delete=models.PROTECT, related_name="deliveries")
    application = models.ForeignKey(
        "applications.Application", on_delete=models.PROTECT, related_name="deliveries"
    )
    event_type = models.CharField(max_length=40, choices=EventType.choices)
    # The application's revision (filing version) the event is about.
    revision = models.PositiveIntegerField()
    message_id = models.CharField(max_length=40, unique=True, default=new_message_id)
    occurred_at = models.DateTimeField()
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # While an attempt is under way (no row lock is held during the HTTP call or
    # the SMTP conversation): another worker leaves it alone until then.
    leased_until = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    dead_at = models.DateTimeField(null=True, blank=True)
    replays = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-id"]
        constraints = [
            # One delivery per event, target and filing version: an event announced
            # twice (a retried transaction, a replayed task) is still one delivery.
            models.UniqueConstraint(
                fields=["target", "application", "event_type", "revision"],
                name="deliveries_one_per_event_and_target",
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state="pending"),
                name="deliveries_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.message_id}"


class DeliveryAttempt(models.Model):
    """One try: when, how long, and what the receiver answered."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    succeeded = models.BooleanField(default=False)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    # The kind of failure only (e.g. "ConnectTimeout", "HTTP 503"), never the
    # receiver's answer, which could echo personal data back.
    error = models.CharField(max_length=200, blank=True)
    replay = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["delivery_id", "replay", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["delivery", "replay", "number"], name="deliveries_attempt_number_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}"
