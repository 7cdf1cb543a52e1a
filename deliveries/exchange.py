"""A procedure's delivery targets in the exchange format (the "deliveries" member
of docs/form-format.md), through procedures' exchange hooks.

Export writes each target's name, kind, address and events, never a secret.
Import matches targets by name and is careful, because a document may come from
another city: a new target is created switched off (and a webhook's secret is a
new one that nobody has seen: rotate it to get one), and a target whose address
changes is switched off, until a department admin has checked it and switched it
on. Targets the document does not name are left as they are."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from audit.services import audit_record
from core.errors import ValidationFailed
from core.signing import encrypt_text
from deliveries import webhook_signature
from deliveries.models import DeliveryTarget, TargetKind
from deliveries.services import manage_check, target_fields_clean
from procedures.form_engine.definition import Problem
from procedures.services import DefinitionInvalid


def targets_export(*, procedure: Any, document: dict) -> None:
    targets = [
        _entry(target)
        for target in DeliveryTarget.objects.filter(procedure=procedure).order_by("id")
    ]
    if targets:
        document["deliveries"] = targets


def _entry(target: DeliveryTarget) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": target.name, "kind": target.kind}
    if target.kind == TargetKind.WEBHOOK:
        entry["url"] = target.url
    else:
        entry["email"] = target.email
    entry["events"] = list(target.events)
    return entry


def targets_import(*, actor: Any, procedure: Any, document: dict) -> None:
    entries = document.get("deliveries")
    if not entries:
        return
    if actor is not None:
        manage_check(actor, procedure)
    existing = {target.name: target for target in procedure.delivery_targets.select_for_update()}
    problems: list[Problem] = []
    cleaned: list[dict] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        path = f"deliveries.{index}"
        name = entry["name"].strip()
        if name in seen:
            problems.append(Problem(f"{path}.name", _("Two targets have this name.")))
            continue
        seen.add(name)
        try:
            fields = target_fields_clean(
                entry["kind"],
                entry["name"],
                entry.get("url", ""),
                entry.get("email", ""),
                entry["events"],
            )
        except ValidationFailed as refused:
            for field, messages in (refused.details or {}).items():
                problems += [Problem(f"{path}.{field}", message) for message in messages]
            continue
        known = existing.get(fields["name"])
        if known is not None and known.kind != fields["kind"]:
            problems.append(
                Problem(
                    f"{path}.kind",
                    _("The target with this name is of another kind; give this one another name."),
                )
            )
            continue
        cleaned.append(fields)
    if problems:
        raise DefinitionInvalid(problems)
    with transaction.atomic():
        for fields in cleaned:
            known = existing.get(fields["name"])
            if known is None:
                _create_switched_off(actor, procedure, fields)
            else:
                _update(actor, known, fields)


def _create_switched_off(actor: Any, procedure: Any, fields: dict) -> None:
    secret = webhook_signature.new_secret() if fields["kind"] == TargetKind.WEBHOOK else ""
    target = DeliveryTarget.objects.create(
        procedure=procedure,
        secret_encrypted=encrypt_text(secret) if secret else "",
        active=False,
        **fields,
    )
    audit_record(
        actor=actor,
        action="deliveries.target_created",
        target=target,
        data={
            "procedure": procedure.code,
            "kind": target.kind,
            "events": target.events,
            "imported": True,
        },
    )


def _update(actor: Any, target: DeliveryTarget, fields: dict) -> None:
    before = {"url": target.url, "email": target.email, "events": target.events}
    for name, value in fields.items():
        setattr(target, name, value)
    changed = sorted(key for key in before if before[key] != getattr(target, key))
    if not changed:
        return
    if "url" in changed or "email" in changed:
        target.active = False  # a new address is checked before anything goes there
    target.save()
    audit_record(
        actor=actor,
        action="deliveries.target_updated",
        target=target,
        data={"changed": changed, "active": target.active, "imported": True},
    )
