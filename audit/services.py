"""Writing to, and verifying, the tamper-evident audit log."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import rfc8785
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from audit.models import AuditChainHead, AuditEvent
from core import request_context

GENESIS_HASH = "0" * 64


def _normalize(data: Any) -> Any:
    """What a JSONField gives back when read: dates and decimals become strings."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_digest(
    *,
    previous_hash: str,
    sequence: int,
    occurred_at: datetime,
    actor_id: int | None,
    action: str,
    target_type: str,
    target_id: str,
    data: Any,
    request_id: str,
    ip_address: str | None,
) -> str:
    canonical = rfc8785.dumps(
        {
            "sequence": sequence,
            "occurred_at": _timestamp(occurred_at),
            "actor_id": actor_id,
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "data": data,
            "request_id": request_id,
            "ip_address": ip_address,
        }
    )
    return hashlib.sha256(previous_hash.encode("ascii") + canonical).hexdigest()


def _locked_head() -> AuditChainHead:
    """The chain head, locked for this transaction. Created on first use from the
    last event (or the genesis hash), which also survives a test-database flush."""
    try:
        return AuditChainHead.objects.select_for_update().get(pk=1)
    except AuditChainHead.DoesNotExist:
        last = AuditEvent.objects.order_by("-sequence").first()
        try:
            with transaction.atomic():
                AuditChainHead.objects.create(
                    pk=1,
                    sequence=last.sequence if last else 0,
                    hash=last.hash if last else GENESIS_HASH,
                )
        except IntegrityError:
            pass  # another writer created it first; lock theirs
        return AuditChainHead.objects.select_for_update().get(pk=1)


def audit_record(
    *,
    actor: Any = None,
    action: str,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str | int = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. Call it inside the transaction of the change it records,
    so that the change and its audit row commit or roll back together."""
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or target.pk
    actor_id = actor.pk if actor is not None and getattr(actor, "is_authenticated", False) else None
    context = request_context.current()
    payload = _normalize(data or {})
    occurred_at = timezone.now()

    with transaction.atomic():
        head = _locked_head()
        sequence = head.sequence + 1
        digest = event_digest(
            previous_hash=head.hash,
            sequence=sequence,
            occurred_at=occurred_at,
            actor_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            data=payload,
            request_id=context.request_id,
            ip_address=context.ip_address,
        )
        event = AuditEvent.objects.create(
            sequence=sequence,
            occurred_at=occurred_at,
            actor_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            data=payload,
            request_id=context.request_id,
            ip_address=context.ip_address,
            previous_hash=head.hash,
            hash=digest,
        )
        head.sequence, head.hash = sequence, digest
        head.save(update_fields=["sequence", "hash"])
    return event


@dataclass(frozen=True)
class ChainVerification:
    ok: bool
    checked: int
    broken_sequence: int | None = None
    reason: str = ""


def audit_chain_verify(*, batch_size: int = 2000) -> ChainVerification:
    """Walk the whole chain in order and report the first row that does not fit."""
    expected_sequence = 1
    previous_hash = GENESIS_HASH
    checked = 0
    events = AuditEvent.objects.order_by("sequence").values(
        "sequence",
        "occurred_at",
        "actor_id",
        "action",
        "target_type",
        "target_id",
        "data",
        "request_id",
        "ip_address",
        "previous_hash",
        "hash",
    )
    for row in events.iterator(chunk_size=batch_size):
        sequence = row["sequence"]
        if sequence != expected_sequence:
            return ChainVerification(
                False, checked, expected_sequence, f"row {expected_sequence} is missing"
            )
        if row["previous_hash"] != previous_hash:
            return ChainVerification(
                False, checked, sequence, "previous hash does not match the row before"
            )
        recomputed = event_digest(
            previous_hash=previous_hash,
            sequence=sequence,
            occurred_at=row["occurred_at"],
            actor_id=row["actor_id"],
            action=row["action"],
            target_type=row["target_type"],
            target_id=row["target_id"],
            data=row["data"],
            request_id=row["request_id"],
            ip_address=row["ip_address"],
        )
        if recomputed != row["hash"]:
            return ChainVerification(False, checked, sequence, "content does not match its hash")
        previous_hash = row["hash"]
        expected_sequence += 1
        checked += 1

    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.sequence, head.hash) != (checked, previous_hash):
        return ChainVerification(
            False,
            checked,
            checked + 1,
            f"rows after {checked} are missing (head at {head.sequence})",
        )
    return ChainVerification(True, checked)
