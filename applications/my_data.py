"""「自分のデータ」: everything the platform holds about a signed-in person, as one
ZIP archive (the disclosure right of the Act on the Protection of Personal
Information). The format is documented in docs/my-data.md.

- `my_data_document(user)` is the selector: the JSON document and the list of
  stored files to put beside it, read in a fixed number of queries however many
  applications the person has.
- `my_data_archive(actor=...)` is the service: it refuses a download over the
  hourly limit, writes the archive into a spooled temporary file (in memory up to
  `SPOOL_MAX_MEMORY`, on disk beyond, so memory does not grow with the files) and
  records the download in the audit log in the same transaction as the reads.

Only the person's own data: their account, identities, the applications they
filed (as the resident's pages show them: staff-only steps, internal notes and
recommendations are not there), the co-signatures they gave or declined on other
people's filings, their payments and their notifications. Staff
get their account and memberships, never the cases they work on. The Individual
Number leaves masked (last four digits), as on the pages; the identity
provider's subject identifier as its keyed digest. Files are read through the
storage API, so the object store (FILE_STORAGE=s3) works as the disk does.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import IO, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Prefetch
from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from accounts.identity.services import subject_digest
from accounts.models import IdentityVerification, Membership, Notification, User
from applications.models import (
    Application,
    ApplicationEvent,
    ApplicationRevision,
    ApplicationStatus,
    Attachment,
    CorrectionRequest,
    Cosignature,
    IssuedDocument,
)
from applications.selectors import resident_status_label
from applications.sensitive_answers import masked_answers
from audit.models import AuditEvent
from audit.services import audit_record
from core.errors import DomainError, PermissionDenied
from core.storage import STORAGE_ERRORS, StorageUnavailable
from payments.models import Payment, Refund
from procedures.form_engine import engine

logger = logging.getLogger(__name__)

FORMAT = "cityproc.my-data"
FORMAT_VERSION = 1
JSON_MEMBER = "my-data.json"
# applications.payment_handlers.KIND: what a payment for an application is for.
# Not imported: payment_handlers imports casework, whose API imports the
# residents' API, which imports this module (a loop the contracts refuse).
PAYMENT_SUBJECT_KIND = "application"
AUDIT_ACTION = "applications.my_data_downloaded"

# A download reads every file the person ever attached: ten an hour is plenty for
# a person and keeps a stolen session from turning it into a load generator.
DOWNLOADS_PER_HOUR = 10
LIMIT_WINDOW = timedelta(hours=1)
# Above this the archive being written moves from memory to a temporary file.
SPOOL_MAX_MEMORY = 8 * 1024 * 1024
COPY_CHUNK = 1024 * 1024


class MyDataLimitReached(DomainError):
    """The person has downloaded their data DOWNLOADS_PER_HOUR times within the
    last hour; `retry_after` says in how many seconds the next one is allowed."""

    code = "throttled"
    http_status = 429
    default_message = gettext_lazy("You have downloaded your data too often. Try again later.")

    def __init__(self, *, retry_after: int, available_at: datetime):
        self.retry_after = retry_after
        self.available_at = available_at
        super().__init__(
            _(
                "You have downloaded your data %(limit)d times in the last hour, the most "
                "allowed. You can download it again from %(time)s."
            )
            % {
                "limit": DOWNLOADS_PER_HOUR,
                "time": timezone.localtime(available_at).strftime("%H:%M"),
            }
        )


@dataclass(frozen=True)
class ArchivedFile:
    """A stored file to copy into the archive under `member`."""

    member: str
    file: Any  # a FieldFile: opened through the storage API
    modified: datetime


@dataclass(frozen=True)
class MyDataArchive:
    file: IO[bytes]  # positioned at the start; the caller closes it (FileResponse does)
    filename: str
    counts: dict[str, int]


# --- Reading ---------------------------------------------------------------------------


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _form_fields(form: dict) -> list[dict]:
    """The questions, so that answers keyed by field key can be read."""
    fields = []
    for _step, spec in engine.iter_fields(form):
        entry = {"key": spec["key"], "type": spec["type"], "label": spec.get("label")}
        if spec.get("fields"):
            entry["fields"] = [
                {"key": sub["key"], "type": sub["type"], "label": sub.get("label")}
                for sub in spec["fields"]
            ]
        fields.append(entry)
    return fields


_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')


def _safe_name(name: str, fallback: str) -> str:
    """A file name that stays inside its folder of the archive (no path, no
    control characters, nothing Windows refuses)."""
    name = PurePosixPath(name.replace("\\", "/")).name
    name = _UNSAFE.sub("_", name).strip().lstrip(".")
    return name[:120] or fallback


def _unique(member: str, taken: set[str]) -> str:
    """`member`, or `member (2)`, `(3)`... before its extension if already taken."""
    if member not in taken:
        taken.add(member)
        return member
    path = PurePosixPath(member)
    number = 2
    while True:
        candidate = str(path.with_name(f"{path.stem} ({number}){path.suffix}"))
        if candidate not in taken:
            taken.add(candidate)
            return candidate
        number += 1


def _folder(application: Application) -> str:
    return application.reference or f"draft-{application.pk}"


def _by(event_actor_id: int | None, user: User) -> str:
    if event_actor_id is None:
        return "system"
    return "you" if event_actor_id == user.pk else "office"


def _account(user: User, memberships: list[Membership]) -> dict:
    return {
        "email": user.email,
        "display_name": user.display_name,
        "language": user.preferred_language,
        "created_at": _time(user.date_joined),
        "email_verified_at": _time(user.email_verified_at),
        "last_login_at": _time(user.last_login),
        "active": user.is_active,
        "memberships": [
            {
                "organization": {
                    "code": membership.organization.code,
                    "name_ja": membership.organization.name_ja,
                    "name_en": membership.organization.name_en,
                },
                "role": membership.role,
                "role_label": membership.get_role_display(),
                "since": _time(membership.created_at),
            }
            for membership in memberships
        ],
    }


def _identity(verification: IdentityVerification) -> dict:
    return {
        "issuer": verification.issuer,
        # The same keyed digest as the audit log's, never the identifier itself.
        "subject_digest": subject_digest(issuer=verification.issuer, subject=verification.subject),
        "full_name": verification.full_name,
        "name_kana": verification.name_kana,
        "birth_date": verification.birth_date.isoformat(),
        "sex": verification.sex,
        "address": verification.address,
        "verified_at": _time(verification.verified_at),
    }


def _application(
    application: Application, user: User, files: list[ArchivedFile], taken: set[str]
) -> dict:
    form = application.version.form
    folder = _folder(application)
    attachments = []
    for attachment in application.attachments.all():
        member = _unique(
            f"attachments/{folder}/{_safe_name(attachment.original_name, attachment.public_id)}",
            taken,
        )
        if attachment.file.name:
            files.append(ArchivedFile(member, attachment.file, attachment.created_at))
        else:
            member = None  # the file itself is no longer kept
        attachments.append(
            {
                "id": attachment.public_id,
                "field": attachment.field_key,
                "name": attachment.original_name,
                "content_type": attachment.content_type,
                "size": attachment.size,
                "sha256": attachment.sha256,
                "scan_result": attachment.scan_result,
                "uploaded_at": _time(attachment.created_at),
                "removed_at": _time(attachment.removed_at),
                "file": member,
            }
        )
    documents = []
    for document in application.documents.all():
        member = _unique(
            f"documents/{folder}/{document.kind}-{document.verification_code}.pdf", taken
        )
        if document.pdf.name:
            files.append(ArchivedFile(member, document.pdf, document.created_at))
        else:
            member = None
        documents.append(
            {
                "kind": document.kind,
                "title": document.title,
                "verification_code": document.verification_code,
                "issued_at": _time(document.created_at),
                "pdf_sha256": document.pdf_digest,
                "content_sha256": document.content_digest,
                "signature": document.signature,
                "file": member,
            }
        )
    # The decision is the resident's once its result is issued, as on the status page.
    decided = application.status == ApplicationStatus.RESULT_ISSUED
    proxy = None
    if application.on_behalf_of_name:
        proxy = {
            "name": application.on_behalf_of_name,
            "relationship": application.on_behalf_of_relationship,
        }
    return {
        "id": application.pk,
        "reference": application.reference,
        "procedure": {
            "code": application.procedure.code,
            "title_ja": application.procedure.title_ja,
            "title_en": application.procedure.title_en,
        },
        "version": application.version.number,
        "status": application.status,
        "status_label": resident_status_label(application),
        "created_at": _time(application.created_at),
        "updated_at": _time(application.updated_at),
        "submitted_at": _time(application.submitted_at),
        "due_date": application.due_date.isoformat() if application.due_date else None,
        "decided_at": _time(application.decided_at) if decided else None,
        "decision": application.decision if decided and application.decision else None,
        "decision_reason": application.decision_reason if decided else "",
        "withdrawn_reason": application.withdrawn_reason,
        "fee_amount": application.fee_amount,
        "applicant_name": application.applicant_name,
        "on_behalf_of": proxy,
        "revision": application.revision,
        "submission_digest": application.submission_digest,
        "signature": application.signature,
        "fields": _form_fields(form),
        "answers_as_entered": masked_answers(form, application.answers),
        "answers_as_submitted": masked_answers(form, application.data),
        "revisions": [
            {
                "number": revision.number,
                "submitted_at": _time(revision.submitted_at),
                "digest": revision.digest,
                "signature": revision.signature,
                "answers": masked_answers(form, revision.data),
                "attachments": [
                    {key: item.get(key) for key in ("id", "field", "name", "sha256", "size")}
                    for item in (revision.filing or {}).get("attachments", [])
                ],
            }
            for revision in application.revisions.all()
        ],
        "timeline": [
            {
                "occurred_at": _time(event.occurred_at),
                "kind": event.kind,
                "label": event.get_kind_display(),
                "from_status": event.from_status,
                "to_status": event.to_status,
                "message": event.message,
                "by": _by(event.actor_id, user),
            }
            for event in application.events.all()
        ],
        "correction_requests": [
            {
                "requested_at": _time(correction.requested_at),
                "message": correction.message,
                "fields": correction.fields,
                "answered_at": _time(correction.answered_at),
                "response": correction.response,
                "revision": correction.revision,
            }
            for correction in application.corrections.all()
        ],
        "cosigners_named": {
            role: {"name": entry.get("name", ""), "email": entry.get("email", "")}
            for role, entry in (application.cosigner_answers or {}).items()
            if isinstance(entry, dict)
        },
        "cosignatures": [
            {
                "role": request.role,
                "required": request.required,
                "name": request.name,
                "email": request.email,
                "status": request.status,
                "status_label": request.get_status_display(),
                "requested_at": _time(request.requested_at),
                "expires_on": request.expires_on,
                "answered_at": _time(request.closed_at),
                "decline_reason": request.decline_reason,
                "replaced": request.superseded_at is not None,
                "revision": request.revision,
                "digest": request.digest,
                "signature": request.signature,
            }
            for request in application.cosignatures.all()
        ],
        "attachments": attachments,
        "documents": documents,
    }


def _cosignature_given(request: Cosignature) -> dict:
    """A co-signature this account gave (or declined) on someone else's filing."""
    return {
        "reference": request.application.reference,
        "procedure": {
            "code": request.application.procedure.code,
            "title_ja": request.application.procedure.title_ja,
            "title_en": request.application.procedure.title_en,
        },
        "role": request.role,
        "status": request.status,
        "status_label": request.get_status_display(),
        "answered_at": _time(request.closed_at),
        "decline_reason": request.decline_reason,
        "signed": request.document or None,
        "digest": request.digest,
        "signature": request.signature,
    }


def _payment(payment: Payment, references: dict[int, str]) -> dict:
    reference = None
    if payment.subject_kind == PAYMENT_SUBJECT_KIND:
        reference = references.get(payment.subject_id)
    numbers = (payment.instructions or {}).get("numbers", [])
    return {
        "id": payment.public_id,
        "application": reference,
        "description": payment.description,
        "amount": payment.amount,
        "refunded_amount": payment.refunded_amount,
        "method": payment.method,
        "method_label": payment.get_method_display(),
        "status": payment.status,
        "status_label": payment.get_status_display(),
        "provider": payment.provider,
        "provider_reference": payment.provider_reference,
        # The numbers to pay with (Pay-easy, convenience store); never the
        # provider's hosted links, which act as keys.
        "payment_numbers": [
            {key: item.get(key) for key in ("key", "label_ja", "label_en", "value")}
            for item in numbers
            if isinstance(item, dict)
        ],
        "created_at": _time(payment.created_at),
        "expires_at": _time(payment.expires_at),
        "paid_at": _time(payment.succeeded_at),
        "closed_at": _time(payment.closed_at),
        "failure_reason": payment.failure_reason,
        "refunds": [
            {
                "id": refund.public_id,
                "amount": refund.amount,
                "reason": refund.reason,
                "status": refund.status,
                "status_label": refund.get_status_display(),
                "requested_at": _time(refund.created_at),
                "completed_at": _time(refund.completed_at),
            }
            for refund in payment.refunds.all()
        ],
    }


def _notification(notification: Notification) -> dict:
    return {
        "subject": notification.subject,
        "body": notification.body,
        "link": notification.link,
        "sent_at": _time(notification.created_at),
        "read_at": _time(notification.read_at),
        "emailed_at": _time(notification.emailed_at),
    }


def my_data_document(user: User) -> tuple[dict, list[ArchivedFile]]:
    """What the platform holds about `user`, as the JSON document of the archive,
    and the stored files to put beside it. The same number of queries for one
    application as for a hundred (everything below an application is prefetched)."""
    memberships = list(
        Membership.objects.filter(user=user)
        .select_related("organization")
        .order_by("organization__path", "role")
    )
    identities = list(IdentityVerification.objects.filter(user=user).order_by("verified_at", "id"))
    applications = list(
        Application.objects.filter(applicant=user)
        .select_related("procedure", "version")
        .order_by("created_at", "id")
        .prefetch_related(
            Prefetch(
                "events",
                # The resident's timeline: staff-only steps are not theirs to see.
                queryset=ApplicationEvent.objects.filter(internal=False).order_by(
                    "occurred_at", "id"
                ),
            ),
            Prefetch("revisions", queryset=ApplicationRevision.objects.order_by("number")),
            Prefetch(
                "corrections", queryset=CorrectionRequest.objects.order_by("requested_at", "id")
            ),
            Prefetch("attachments", queryset=Attachment.objects.order_by("created_at", "id")),
            Prefetch("documents", queryset=IssuedDocument.objects.order_by("created_at", "id")),
            Prefetch("cosignatures", queryset=Cosignature.objects.order_by("requested_at", "id")),
        )
    )
    given = list(
        Cosignature.objects.filter(signer=user)
        .select_related("application__procedure")
        .order_by("closed_at", "id")
    )
    payments = list(
        Payment.objects.filter(payer=user)
        .order_by("created_at", "id")
        .prefetch_related(Prefetch("refunds", queryset=Refund.objects.order_by("created_at", "id")))
    )
    notifications = list(Notification.objects.filter(user=user).order_by("created_at", "id"))

    files: list[ArchivedFile] = []
    taken: set[str] = {JSON_MEMBER}
    references = {application.pk: application.reference for application in applications}
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "generated_at": _time(timezone.now()),
        # The language of the *_label members (the requester's).
        "language": (get_language() or "ja")[:2],
        "account": _account(user, memberships),
        "identity_verifications": [_identity(item) for item in identities],
        "applications": [
            _application(application, user, files, taken) for application in applications
        ],
        "cosignatures_given": [_cosignature_given(item) for item in given],
        "payments": [_payment(payment, references) for payment in payments],
        "notifications": [_notification(item) for item in notifications],
    }
    return document, files


def _counts(document: dict, files: list[ArchivedFile]) -> dict[str, int]:
    """How much the archive holds (what the audit event records: no personal data)."""
    applications = document["applications"]
    return {
        "memberships": len(document["account"]["memberships"]),
        "identity_verifications": len(document["identity_verifications"]),
        "applications": len(applications),
        "attachments": sum(len(item["attachments"]) for item in applications),
        "documents": sum(len(item["documents"]) for item in applications),
        "payments": len(document["payments"]),
        "notifications": len(document["notifications"]),
        "files": len(files),
    }


# --- Writing ---------------------------------------------------------------------------


def _check_limit(user: User, now: datetime) -> None:
    """At most DOWNLOADS_PER_HOUR downloads in any hour, counted in the audit log
    (which records every download anyway, and which every process shares)."""
    recent = list(
        AuditEvent.objects.filter(
            action=AUDIT_ACTION, actor_id=user.pk, occurred_at__gt=now - LIMIT_WINDOW
        )
        .order_by("-occurred_at")
        .values_list("occurred_at", flat=True)[:DOWNLOADS_PER_HOUR]
    )
    if len(recent) < DOWNLOADS_PER_HOUR:
        return
    available_at = recent[-1] + LIMIT_WINDOW
    retry_after = max(1, int((available_at - now).total_seconds()) + 1)
    raise MyDataLimitReached(retry_after=retry_after, available_at=available_at)


def _zip_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    local = timezone.localtime(moment)
    return max(local.year, 1980), local.month, local.day, local.hour, local.minute, local.second


def _copy_into(archive: zipfile.ZipFile, item: ArchivedFile) -> None:
    """Copy one stored file into the archive in chunks (never whole in memory).
    Stored uncompressed: PDFs and images are compressed already."""
    info = zipfile.ZipInfo(item.member, date_time=_zip_time(item.modified))
    info.compress_type = zipfile.ZIP_STORED
    try:
        with item.file.open("rb") as source, archive.open(info, "w", force_zip64=True) as target:
            shutil.copyfileobj(source, target, COPY_CHUNK)
    except STORAGE_ERRORS as failure:
        logger.warning("file not read from the store: %s", type(failure).__name__)
        raise StorageUnavailable() from None


def _write_archive(target: IO[bytes], document: dict, files: list[ArchivedFile]) -> None:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(JSON_MEMBER, date_time=_zip_time(timezone.now()))
        info.compress_type = zipfile.ZIP_DEFLATED
        body = json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
        archive.writestr(info, body.encode("utf-8") + b"\n")
        for item in files:
            _copy_into(archive, item)


def my_data_filename(moment: datetime | None = None) -> str:
    day = timezone.localdate(moment) if moment is not None else timezone.localdate()
    return f"cityproc-my-data-{day:%Y%m%d}.zip"


def my_data_archive(*, actor: Any) -> MyDataArchive:
    """The signed-in actor's own data as one ZIP archive (my-data.json, their
    attachments and their issued documents).

    Only the actor's own data, whoever they are (staff get their account and
    memberships, never the cases they work on). At most DOWNLOADS_PER_HOUR an hour
    (MyDataLimitReached). Each download is audited, with counts only, in the
    transaction that read the data; a file the store cannot give back fails the
    whole download (StorageUnavailable) and nothing is recorded."""
    if not getattr(actor, "is_authenticated", False):
        raise PermissionDenied()
    # Not a `with`: the file outlives this call; the response closes it once sent.
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_MEMORY, suffix=".zip")  # noqa: SIM115
    try:
        with transaction.atomic():
            now = timezone.now()
            _check_limit(actor, now)
            document, files = my_data_document(actor)
            _write_archive(spool, document, files)
            counts = _counts(document, files)
            # Last, so that the audit chain's head is locked only for the commit.
            audit_record(actor=actor, action=AUDIT_ACTION, target=actor, data={"counts": counts})
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return MyDataArchive(file=spool, filename=my_data_filename(now), counts=counts)


def my_data_response(archive: MyDataArchive) -> FileResponse:
    """The archive as a download, the same for the page and the API: never shown
    inline, never cached, no sniffing."""
    response = FileResponse(
        archive.file, as_attachment=True, filename=archive.filename, content_type="application/zip"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
