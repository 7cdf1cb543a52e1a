"""File responses for attachments and issued documents, the same for the
resident's pages, the staff pages and the API: always a download (never rendered
inline by the browser), with the type as checked at upload and no sniffing."""

from __future__ import annotations

import logging

from django.http import FileResponse

from applications.models import Application, Attachment, IssuedDocument
from core.storage import STORAGE_ERRORS, StorageUnavailable

logger = logging.getLogger(__name__)


def _download(file, *, filename: str, content_type: str) -> FileResponse:
    # Opened and read from here, before the answer starts: a store that cannot be
    # reached is a clear 503 (core/storage.py), not a stream that breaks halfway.
    try:
        handle = file.open("rb")
        handle.read(1)
        handle.seek(0)
    except STORAGE_ERRORS as failure:
        logger.warning("file not read from the store: %s", type(failure).__name__)
        raise StorageUnavailable() from None
    response = FileResponse(
        handle, as_attachment=True, filename=filename, content_type=content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def attachment_response(attachment: Attachment, *, inline: bool = False) -> FileResponse:
    response = _download(
        attachment.file, filename=attachment.original_name, content_type=attachment.content_type
    )
    if inline:
        # Staff preview images and PDFs in place; the CSP of the page still applies.
        response["Content-Disposition"] = response["Content-Disposition"].replace(
            "attachment", "inline", 1
        )
    return response


def document_response(application: Application, document: IssuedDocument) -> FileResponse:
    return _download(
        document.pdf,
        filename=f"{application.reference}-{document.kind}.pdf",
        content_type="application/pdf",
    )
