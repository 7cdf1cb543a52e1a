"""Delivering application events to back-office systems (docs/deliveries.md).

- Targets are managed by whoever may manage the procedure (`procedures.manage` in
  its organization); every change is audited.
- `deliveries_record` is the listener of applications' hooks: inside the
  transaction of the change, one Delivery per matching target, and the first
  attempt queued for after the commit.
- `delivery_attempt` makes one attempt. It leases the delivery in a short
  transaction, talks to the receiver with no row lock held, and records the
  attempt in another. Failures are retried on DELIVERY_RETRY_DELAYS (more than a
  day in all); after the last one the delivery is a dead letter.
- `due_deliveries_sweep` (beat, every minute) queues what is due: retries, and
  first attempts whose task never reached the broker.
- `dead_letter_replay` puts a dead letter back in the queue, with the same
  message id, so a receiver that got it before can drop the repeat."""

from __future__ import annotations

import ipaddress
import logging
import random
import socket
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.permissions import Action, actor_may, users_who_may
from accounts.services import notify
from audit.services import audit_record
from core.errors import Conflict, PermissionDenied, ValidationFailed
from core.signing import decrypt_text, encrypt_text
from core.tasks import enqueue
from deliveries import payloads, webhook_signature
from deliveries.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    DeliveryTarget,
    EventType,
    TargetKind,
)

logger = logging.getLogger(__name__)

DELIVER_TASK = "deliveries.tasks.deliver"
USER_AGENT = "CityProc-Deliveries/1 (Standard Webhooks)"


# --- Targets ---------------------------------------------------------------------------


def manage_check(actor: Any, procedure: Any) -> None:
    if not actor_may(actor, Action.MANAGE_PROCEDURES, procedure):
        raise PermissionDenied()


def address_problem(url: str) -> str | None:
    """Why a webhook address is refused, or None. HTTPS only (DELIVERY_ALLOW_HTTP
    lifts it for tests and local systems), and no address on this machine or a
    private network unless DELIVERY_ALLOW_PRIVATE_ADDRESSES says so: a department
    must not be able to make the platform call its own internals."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return _("Enter an address that starts with https://.")
    if parts.scheme == "http" and not settings.DELIVERY_ALLOW_HTTP:
        return _("Enter an address that starts with https://.")
    if parts.username or parts.password:
        return _("Do not put a user name or password in the address.")
    if settings.DELIVERY_ALLOW_PRIVATE_ADDRESSES:
        return None
    try:
        found = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443)}
    except (OSError, UnicodeError):
        return _("This address could not be found.")
    for address in found:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global:
            return _("This address is on a private network, which deliveries may not reach.")
    return None


def target_fields_clean(kind: str, name: str, url: str, email: str, events: Iterable[str]) -> dict:
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("Enter a name.")]
    elif len(name) > 100:
        errors["name"] = [_("Use at most 100 characters.")]
    if kind not in TargetKind.values:
        errors["kind"] = [_("Choose a webhook or an e-mail address.")]
    url = (url or "").strip() if kind == TargetKind.WEBHOOK else ""
    email = (email or "").strip() if kind == TargetKind.EMAIL else ""
    if kind == TargetKind.WEBHOOK:
        problem = address_problem(url) if url else _("Enter the webhook address.")
        if problem:
            errors["url"] = [problem]
        elif len(url) > 500:
            errors["url"] = [_("Use at most 500 characters.")]
    if kind == TargetKind.EMAIL:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = [_("Enter a valid e-mail address.")]
    chosen = [event for event in EventType.values if event in set(events or ())]
    if not chosen:
        errors["events"] = [_("Choose at least one event.")]
    elif set(events) - set(EventType.values):
        errors["events"] = [_("Choose events from the list.")]
    if errors:
        raise ValidationFailed(details=errors)
    return {"name": name, "kind": kind, "url": url, "email": email, "events": chosen}


def target_create(
    *,
    actor: Any,
    procedure: Any,
    kind: str,
    name: str,
    url: str = "",
    email: str = "",
    events: Iterable[str] = (),
) -> tuple[DeliveryTarget, str]:
    """Attach a delivery target to a procedure. Returns the target and, for a
    webhook, its new signing secret: shown to the department this once."""
    manage_check(actor, procedure)
    fields = target_fields_clean(kind, name, url, email, list(events))
    secret = webhook_signature.new_secret() if kind == TargetKind.WEBHOOK else ""
    try:
        with transaction.atomic():
            target = DeliveryTarget.objects.create(
                procedure=procedure,
                secret_encrypted=encrypt_text(secret) if secret else "",
                **fields,
            )
            audit_record(
                actor=actor,
                action="deliveries.target_created",
                target=target,
                data={"procedure": procedure.code, "kind": kind, "events": fields["events"]},
            )
    except IntegrityError:
        raise ValidationFailed(
            details={"name": [_("This procedure already has a target with this name.")]}
        ) from None
    return target, secret


def target_update(
    *,
    actor: Any,
    target: DeliveryTarget,
    name: str,
    url: str = "",
    email: str = "",
    events: Iterable[str] = (),
    active: bool = True,
) -> DeliveryTarget:
    """Change a target's name, address, events or whether it is active. Its kind
    and its secret stay (rotate the secret with `target_secret_rotate`)."""
    manage_check(actor, target.procedure)
    fields = target_fields_clean(target.kind, name, url, email, list(events))
    try:
        with transaction.atomic():
            locked = DeliveryTarget.objects.select_for_update().get(pk=target.pk)
            before = {"url": locked.url, "email": locked.email, "events": locked.events}
            for name_, value in fields.items():
                setattr(locked, name_, value)
            locked.active = bool(active)
            locked.save()
            audit_record(
                actor=actor,
                action="deliveries.target_updated",
                target=locked,
                data={
                    "changed": sorted(k for k in before if before[k] != getattr(locked, k)),
                    "active": locked.active,
                },
            )
    except IntegrityError:
        raise ValidationFailed(
            details={"name": [_("This procedure already has a target with this name.")]}
        ) from None
    return locked


def target_secret_rotate(*, actor: Any, target: DeliveryTarget) -> str:
    """A new signing secret for a webhook target. The previous one keeps signing
    beside it for DELIVERY_SECRET_OVERLAP_HOURS, so the receiver can switch over
    without refusing a delivery. Returns the new secret (shown once)."""
    manage_check(actor, target.procedure)
    if target.kind != TargetKind.WEBHOOK:
        raise Conflict(_("Only webhooks have a signing secret."), code="not_a_webhook")
    secret = webhook_signature.new_secret()
    with transaction.atomic():
        locked = DeliveryTarget.objects.select_for_update().get(pk=target.pk)
        locked.previous_secret_encrypted = locked.secret_encrypted
        locked.previous_secret_until = timezone.now() + timedelta(
            hours=settings.DELIVERY_SECRET_OVERLAP_HOURS
        )
        locked.secret_encrypted = encrypt_text(secret)
        locked.save(
            update_fields=[
                "secret_encrypted",
                "previous_secret_encrypted",
                "previous_secret_until",
                "updated_at",
            ]
        )
        audit_record(actor=actor, action="deliveries.secret_rotated", target=locked)
    return secret


def _secrets_in_use(target: DeliveryTarget, now: datetime) -> list[str]:
    current = decrypt_text(target.secret_encrypted) if target.secret_encrypted else None
    found = [current] if current else []
    if (
        target.previous_secret_encrypted
        and target.previous_secret_until
        and target.previous_secret_until > now
    ):
        previous = decrypt_text(target.previous_secret_encrypted)
        if previous:
            found.append(previous)
    return found


# --- Recording events --------------------------------------------------------------------


def deliveries_record(*, application: Any, event_type: str, revision: int) -> list[Delivery]:
    """One Delivery per active target of the application's procedure that wants
    this event, in the caller's transaction; the first attempts are queued after
    its commit. An event recorded twice (a retried task) stays one delivery."""
    now = timezone.now()
    made = []
    targets = DeliveryTarget.objects.filter(procedure_id=application.procedure_id, active=True)
    for target in targets:
        if event_type not in target.events:
            continue
        delivery, created = Delivery.objects.get_or_create(
            target=target,
            application=application,
            event_type=event_type,
            revision=revision,
            defaults={"occurred_at": now, "next_attempt_at": now},
        )
        if created:
            made.append(delivery)
            enqueue(DELIVER_TASK, delivery.pk)
    return made


EVENTS = {
    "submitted": EventType.SUBMITTED,
    "corrected": EventType.CORRECTED,
    "decided": EventType.DECIDED,
    "withdrawn": EventType.WITHDRAWN,
}


def on_case_event(*, application: Any, event: str, revision: int) -> None:
    """Listener of applications.hooks.case_event (subscribed in deliveries/apps.py)."""
    deliveries_record(application=application, event_type=EVENTS[event], revision=revision)


# --- Attempts ---------------------------------------------------------------------------


def _max_attempts() -> int:
    return len(settings.DELIVERY_RETRY_DELAYS) + 1


def retry_delay(attempt_number: int) -> timedelta:
    """How long to wait after failed attempt number `attempt_number` (1-based):
    the schedule's delay, with up to 10% added at random so that many deliveries
    failing together do not all come back at the same second."""
    base = settings.DELIVERY_RETRY_DELAYS[attempt_number - 1]
    return timedelta(seconds=base * (1 + random.random() * 0.1))  # noqa: S311 (not security)


def _lease(delivery_id: int, now: datetime) -> tuple[Delivery, int] | None:
    with transaction.atomic():
        delivery = (
            # Only the delivery's row: locking the joined target row too would make a
            # concurrent attempt at another delivery to the same target skip this one.
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("target")
            .filter(pk=delivery_id, state=DeliveryState.PENDING)
            .first()
        )
        if delivery is None:
            return None
        if delivery.leased_until and delivery.leased_until > now:
            return None  # another worker is on it
        if delivery.next_attempt_at and delivery.next_attempt_at > now:
            return None  # not due yet (an early or duplicate task)
        delivery.attempts += 1
        delivery.leased_until = now + timedelta(seconds=settings.DELIVERY_TIMEOUT_SECONDS * 2 + 30)
        delivery.save(update_fields=["attempts", "leased_until"])
        return delivery, delivery.attempts


def _send_webhook(delivery: Delivery, now: datetime) -> tuple[bool, int | None, str]:
    target = delivery.target
    problem = None if settings.DELIVERY_ALLOW_PRIVATE_ADDRESSES else address_problem(target.url)
    if problem:
        return False, None, "address refused"
    signing_secrets = _secrets_in_use(target, now)
    if not signing_secrets:
        return False, None, "no signing secret"
    body = payloads.event_body(delivery)
    headers = webhook_signature.signed_headers(
        signing_secrets, message_id=delivery.message_id, timestamp=int(now.timestamp()), body=body
    )
    headers |= {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    try:
        response = requests.post(
            target.url,
            data=body,
            headers=headers,
            timeout=settings.DELIVERY_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except requests.RequestException as error:
        return False, None, type(error).__name__
    response.close()
    if 200 <= response.status_code < 300:
        return True, response.status_code, ""
    return False, response.status_code, f"HTTP {response.status_code}"


EVENT_SUBJECTS = {
    EventType.SUBMITTED: "提出",
    EventType.CORRECTED: "補正",
    EventType.DECIDED: "決定",
    EventType.WITHDRAWN: "取下げ",
}


def _send_email(delivery: Delivery) -> tuple[bool, int | None, str]:
    body = payloads.event_body(delivery)
    application = delivery.application
    subject = (
        f"[CityProc] {EVENT_SUBJECTS[delivery.event_type]} {application.reference} "
        f"({delivery.event_type})"
    )
    text = (
        "CityProc からの自動送信です。添付の JSON は署名付きの申請データです"
        "（署名: Ed25519、対象: RFC 8785 正規化 JSON の SHA-256）。\n"
        "This is an automatic delivery from CityProc. The attached JSON carries the signed "
        "filing (Ed25519 over the SHA-256 of its RFC 8785 canonical JSON).\n\n"
        f"Message id: {delivery.message_id}\n"
    )
    message = EmailMessage(
        subject,
        text,
        settings.DEFAULT_FROM_EMAIL,
        [delivery.target.email],
        headers={"X-CityProc-Message-Id": delivery.message_id},
    )
    message.attach(f"{application.reference}-{delivery.event_type}.json", body, "application/json")
    try:
        message.send(fail_silently=False)
    except (OSError, ConnectionError) as error:
        return False, None, type(error).__name__
    except Exception as error:  # smtplib's errors are many; each means "not sent"
        if type(error).__module__.startswith("smtplib"):
            return False, None, type(error).__name__
        raise
    return True, None, ""


def delivery_attempt(*, delivery_id: int) -> str:
    """Make one attempt at a due delivery. Returns what happened: "delivered",
    "retry", "dead" or "skipped" (not due, delivered, or another worker has it)."""
    now = timezone.now()
    leased = _lease(delivery_id, now)
    if leased is None:
        return "skipped"
    delivery, number = leased
    started = time.monotonic()
    if delivery.target.kind == TargetKind.WEBHOOK:
        succeeded, status_code, error = _send_webhook(delivery, now)
    else:
        succeeded, status_code, error = _send_email(delivery)
    duration_ms = int((time.monotonic() - started) * 1000)
    return _record_attempt(delivery.pk, number, now, duration_ms, succeeded, status_code, error)


def _record_attempt(
    delivery_id: int,
    number: int,
    started_at: datetime,
    duration_ms: int,
    succeeded: bool,
    status_code: int | None,
    error: str,
) -> str:
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().select_related("target").get(pk=delivery_id)
        DeliveryAttempt.objects.create(
            delivery=delivery,
            replay=delivery.replays,
            number=number,
            started_at=started_at,
            duration_ms=duration_ms,
            succeeded=succeeded,
            status_code=status_code,
            error=error[:200],
        )
        delivery.leased_until = None
        if succeeded:
            delivery.state = DeliveryState.DELIVERED
            delivery.delivered_at = timezone.now()
            delivery.next_attempt_at = None
            outcome = "delivered"
        elif number >= _max_attempts():
            delivery.state = DeliveryState.DEAD
            delivery.dead_at = timezone.now()
            delivery.next_attempt_at = None
            audit_record(
                action="deliveries.dead_lettered",
                target=delivery,
                data={
                    "target": delivery.target_id,
                    "event": delivery.event_type,
                    "attempts": number,
                    "last_error": error[:200],
                },
            )
            _tell_managers(delivery, error)
            outcome = "dead"
        else:
            delivery.next_attempt_at = timezone.now() + retry_delay(number)
            outcome = "retry"
        delivery.save(
            update_fields=["state", "delivered_at", "dead_at", "next_attempt_at", "leased_until"]
        )
    logger.info(
        "delivery attempt",
        extra={
            "delivery": delivery_id,
            "attempt": number,
            "outcome": outcome,
            "status_code": status_code,
            "error": error[:80],
        },
    )
    return outcome


def _tell_managers(delivery: Delivery, error: str) -> None:
    """Those who manage the procedure learn of a dead letter (in the app and by
    e-mail, after the commit), with a link to the failures."""
    procedure = delivery.target.procedure
    for manager in users_who_may(Action.MANAGE_PROCEDURES, procedure.owning_organization):
        notify(
            user=manager,
            subject=gettext_lazy("Delivery failed: %(reference)s to %(target)s"),
            body=gettext_lazy(
                "%(procedure)s: the event %(event)s could not be delivered to %(target)s "
                "after every retry (last error: %(error)s). Send it again once the "
                "system works."
            ),
            params={
                "reference": delivery.application.reference,
                "target": delivery.target.name,
                "procedure": lambda: procedure.title,
                "event": lambda: str(EventType(delivery.event_type).label),
                "error": error or "—",
            },
            link=reverse("deliveries:dead_letters"),
        )


def due_deliveries_sweep(*, limit: int = 500) -> int:
    """Queue an attempt for every pending delivery that is due and not leased."""
    now = timezone.now()
    due = list(
        Delivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now)
        .exclude(leased_until__gt=now)
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    for delivery_id in due:
        enqueue(DELIVER_TASK, delivery_id)
    return len(due)


def dead_letter_replay(*, actor: Any, delivery: Delivery) -> Delivery:
    """Send a dead letter again from the start of the retry schedule, with its
    original message id (receivers drop what they have already seen)."""
    manage_check(actor, delivery.target.procedure)
    with transaction.atomic():
        locked = Delivery.objects.select_for_update().select_related("target").get(pk=delivery.pk)
        if locked.state != DeliveryState.DEAD:
            raise Conflict(_("Only a failed delivery can be sent again."), code="not_a_dead_letter")
        if not locked.target.active:
            raise Conflict(
                _("This target is switched off. Switch it on before sending again."),
                code="target_inactive",
            )
        locked.state = DeliveryState.PENDING
        locked.attempts = 0
        locked.replays += 1
        locked.dead_at = None
        locked.next_attempt_at = timezone.now()
        locked.save(update_fields=["state", "attempts", "replays", "dead_at", "next_attempt_at"])
        audit_record(
            actor=actor,
            action="deliveries.replayed",
            target=locked,
            data={"target": locked.target_id, "event": locked.event_type, "replay": locked.replays},
        )
        enqueue(DELIVER_TASK, locked.pk)
    return locked
