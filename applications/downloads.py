"""File responses for attachments and issued documents, the same for the
resident's pages, the staff pages and the API: always a download (never rendered
inline by the browser), with the type as checked at upload and no sniffing."""

from __future__ import annotations

from django.http import FileResponse

from applications.models import Application, Attachment, IssuedDocument


def _download(file, *, filename: str, content_type: str) -> FileResponse:
    response = FileResponse(
        file.open("rb"), as_attachment=True, filename=filename, content_type=content_type
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
