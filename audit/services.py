"""Writing to, and verifying, the tamper-evident audit log."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import rfc8785
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from audit.models import AuditChainHead, AuditEvent
from core import request_context
from core.db import insert_returning_pk

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
    ip_digest: str = "",
) -> str:
    content = {
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
    if ip_digest:  # events before the digest existed hash as they did
        content["ip_digest"] = ip_digest
    canonical = rfc8785.dumps(content)
    return hashlib.sha256(previous_hash.encode("ascii") + canonical).hexdigest()


def _quoted(model: type[models.Model], *names: str) -> list[str]:
    return [connection.ops.quote_name(model._meta.get_field(name).column) for name in names]


def _head_sql() -> tuple[str, str]:
    """SQL that reads the head, locking it, and SQL that advances it (parameters:
    sequence, hash). Names from the models' metadata; values are parameters."""
    table = connection.ops.quote_name(AuditChainHead._meta.db_table)
    pk, sequence, digest = _quoted(AuditChainHead, "id", "sequence", "hash")
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    read = f"SELECT {sequence}, {digest} FROM {table} WHERE {pk} = 1{lock}"  # noqa: S608
    advance = f"UPDATE {table} SET {sequence} = %s, {digest} = %s WHERE {pk} = 1"  # noqa: S608
    return read, advance


def _locked_head() -> tuple[int, str]:
    """The chain head's sequence and hash, the row locked for this transaction.
    Created on first use from the last event (or the genesis hash), which also
    survives a test-database flush."""
    read, _advance = _head_sql()
    with connection.cursor() as cursor:
        cursor.execute(read)
        row = cursor.fetchone()
    if row is not None:
        return row[0], row[1]
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
    with connection.cursor() as cursor:
        cursor.execute(read)
        sequence, digest = cursor.fetchone()
    return sequence, digest


def _append(event: AuditEvent) -> None:
    """INSERT the event and advance the head to it: on PostgreSQL in one statement
    (a data-modifying WITH), elsewhere in two. Written out rather than through the
    ORM, because every audited change of the platform runs it."""
    _read, advance = _head_sql()
    insert_returning_pk(event, then=(advance, [event.sequence, event.hash]))


def address_digest(ip_address: str | None) -> str:
    """The client's address as a keyed digest (HMAC-SHA256 with a key derived from
    SECRET_KEY): the log can tell that two events came from one address, and holds
    no address, so nothing personal in it ever needs erasing (docs/retention.md)."""
    if not ip_address:
        return ""
    return salted_hmac("audit.ip_address", ip_address, algorithm="sha256").hexdigest()


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
    ip_digest = address_digest(context.ip_address)
    occurred_at = timezone.now()

    # No savepoint: nothing here is caught and retried, so a failure rolls back the
    # caller's whole transaction anyway; a savepoint would cost two round trips.
    with transaction.atomic(savepoint=False):
        previous_sequence, previous_hash = _locked_head()
        sequence = previous_sequence + 1
        event = AuditEvent(
            sequence=sequence,
            occurred_at=occurred_at,
            actor_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            data=payload,
            request_id=context.request_id,
            ip_address=None,
            ip_digest=ip_digest,
            previous_hash=previous_hash,
        )
        event.hash = event_digest(
            previous_hash=previous_hash,
            sequence=sequence,
            occurred_at=occurred_at,
            actor_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=event.target_id,
            data=payload,
            request_id=context.request_id,
            ip_address=None,
            ip_digest=ip_digest,
        )
        _append(event)
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
        "ip_digest",
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
            ip_digest=row["ip_digest"],
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
