"""Reads of the deliveries app, filtered to what the actor may see."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from django.http import FileResponse

from accounts.permissions import Action, organizations_where
from applications.downloads import attachment_response, document_response
from applications.models import Attachment, IssuedDocument
from core.errors import NotFound
from deliveries import file_links
from deliveries.models import Delivery, DeliveryAttempt, DeliveryState, DeliveryTarget
from procedures.selectors import managed_procedure


def linked_file_response(token: str) -> FileResponse | None:
    """The file a delivery link names, or None: the token must be genuine and
    unexpired, its delivery's target active, and the file one of the delivery's
    own application (an attachment not removed, or an issued document)."""
    linked = file_links.linked_file(token)
    if linked is None:
        return None
    delivery = (
        Delivery.objects.select_related("target", "application")
        .filter(pk=linked.delivery_id, target__active=True)
        .first()
    )
    if delivery is None:
        return None
    if linked.kind == "attachment":
        attachment = Attachment.objects.filter(
            pk=linked.object_id, application_id=delivery.application_id, removed_at__isnull=True
        ).first()
        return attachment_response(attachment) if attachment else None
    document = IssuedDocument.objects.filter(
        pk=linked.object_id, application_id=delivery.application_id
    ).first()
    return document_response(delivery.application, document) if document else None


def managed_targets(actor: Any, code: str) -> tuple[Any, QuerySet[DeliveryTarget]]:
    """The procedure `code` the actor manages, and its targets; "not found" for
    anyone else."""
    procedure = managed_procedure(actor, code)
    return procedure, procedure.delivery_targets.order_by("name", "id")


def managed_target(actor: Any, code: str, target_id: int) -> DeliveryTarget:
    _procedure, targets = managed_targets(actor, code)
    target = targets.filter(pk=target_id).select_related("procedure").first()
    if target is None:
        raise NotFound()
    return target


def target_deliveries(target: DeliveryTarget, *, limit: int = 20) -> QuerySet[Delivery]:
    """The target's latest deliveries, each with its reference and attempt count."""
    return (
        target.deliveries.select_related("application")
        .only(
            "event_type",
            "message_id",
            "state",
            "attempts",
            "replays",
            "occurred_at",
            "delivered_at",
            "dead_at",
            "next_attempt_at",
            "target_id",
            "application__reference",
        )
        .annotate(last_error=_last_error())
        .order_by("-id")[:limit]
    )


def _last_error():
    return Subquery(
        DeliveryAttempt.objects.filter(delivery=OuterRef("pk"), succeeded=False)
        .order_by("-started_at", "-id")
        .values("error")[:1]
    )


def managed_deliveries(actor: Any, *, state: str | None = None) -> QuerySet[Delivery]:
    """Deliveries of the procedures the actor manages, newest first (optionally in
    one state), each with its last error."""
    found = Delivery.objects.filter(
        target__procedure__owning_organization__in=organizations_where(
            actor, Action.MANAGE_PROCEDURES
        )
    )
    if state:
        found = found.filter(state=state)
    return (
        found.select_related("target__procedure", "application")
        .annotate(last_error=_last_error())
        .order_by("-id")
    )


def managed_delivery(actor: Any, delivery_id: int) -> Delivery:
    found = managed_deliveries(actor).filter(pk=delivery_id).first()
    if found is None:
        raise NotFound()
    return found


def dead_letters(actor: Any) -> QuerySet[Delivery]:
    """Deliveries that finally failed, for the procedures the actor manages."""
    return managed_deliveries(actor, state=DeliveryState.DEAD).order_by("-dead_at", "-id")


def dead_letter(actor: Any, delivery_id: int) -> Delivery:
    found = dead_letters(actor).filter(pk=delivery_id).first()
    if found is None:
        raise NotFound()
    return found
