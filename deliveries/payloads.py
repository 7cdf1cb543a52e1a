"""What a delivery carries: the event in the Standard Webhooks payload shape
(`type`, `timestamp`, `data`), with the signed filing in the open format and the
files as short-lived links (deliveries/file_links.py).

The body is built again for each attempt, so its links are always fresh; what it
says about the application does not change between attempts, because it is read
from the event's own filing revision and the decision recorded with it."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from applications.models import (
    Application,
    ApplicationRevision,
    Cosignature,
    CosignatureStatus,
    DocumentKind,
)
from deliveries import file_links
from deliveries.models import Delivery, EventType

SIGNATURE_SCHEME = "Ed25519 over the SHA-256 of the RFC 8785 canonical JSON of `filing`"


def _revision(delivery: Delivery) -> ApplicationRevision | None:
    return (
        ApplicationRevision.objects.filter(
            application_id=delivery.application_id, number=delivery.revision
        )
        .only("filing", "digest", "signature", "submitted_at", "number")
        .first()
    )


def _attachments(delivery: Delivery, application: Application) -> list[dict[str, Any]]:
    rows = application.attachments.filter(removed_at__isnull=True).order_by("created_at", "id")
    return [
        {
            "id": attachment.public_id,
            "field": attachment.field_key,
            "name": attachment.original_name,
            "content_type": attachment.content_type,
            "size": attachment.size,
            "sha256": attachment.sha256,
            **file_links.link(delivery, "attachment", attachment.pk),
        }
        for attachment in rows
    ]


def _documents(delivery: Delivery, application: Application) -> list[dict[str, Any]]:
    return [
        {
            "kind": document.kind,
            "title": document.title,
            "verification_code": document.verification_code,
            "sha256": document.pdf_digest,
            **file_links.link(delivery, "document", document.pk),
        }
        for document in application.documents.order_by("created_at", "id")
    ]


def _cosignatures(application: Application) -> list[dict[str, Any]]:
    """The signed co-signatures (docs/cosignature.md): each its own document, signed
    like the filing, and naming the filing's digest."""
    return [
        {
            "role": item.role,
            "document": item.document,
            "digest": item.digest,
            "signature": item.signature,
        }
        for item in Cosignature.objects.filter(
            application=application, status=CosignatureStatus.SIGNED, superseded_at__isnull=True
        ).order_by("closed_at", "id")
    ]


def event_payload(delivery: Delivery) -> dict[str, Any]:
    application = (
        Application.objects.select_related("procedure", "version")
        .only(
            "reference",
            "status",
            "revision",
            "submitted_at",
            "decision",
            "decided_at",
            "decision_reason",
            "withdrawn_reason",
            "procedure__code",
            "version__number",
        )
        .get(pk=delivery.application_id)
    )
    revision = _revision(delivery)
    data: dict[str, Any] = {
        "application": {
            "reference": application.reference,
            "procedure": application.procedure.code,
            "procedure_version": application.version.number,
            "revision": delivery.revision,
            "status": application.status,
        },
        "filing": revision.filing if revision else None,
        "filing_digest": revision.digest if revision else None,
        "filing_signature": revision.signature if revision else None,
        "signature_scheme": SIGNATURE_SCHEME,
        "attachments": _attachments(delivery, application),
        "documents": _documents(delivery, application),
    }
    if cosignatures := _cosignatures(application):
        data["cosignatures"] = cosignatures
    if delivery.event_type == EventType.DECIDED:
        data["decision"] = {
            "outcome": application.decision,
            "decided_at": application.decided_at,
            "reason": application.decision_reason,
            "document_issued": any(
                document["kind"] == DocumentKind.DECISION for document in data["documents"]
            ),
        }
    if delivery.event_type == EventType.WITHDRAWN:
        data["withdrawal"] = {"reason": application.withdrawn_reason}
    return {"type": delivery.event_type, "timestamp": delivery.occurred_at, "data": data}


def event_body(delivery: Delivery) -> bytes:
    return json.dumps(
        event_payload(delivery), cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")
