"""Reads of the deliveries app, filtered to what the actor may see."""

from __future__ import annotations

from django.http import FileResponse

from applications.downloads import attachment_response, document_response
from applications.models import Attachment, IssuedDocument
from deliveries import file_links
from deliveries.models import Delivery


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
