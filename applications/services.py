"""A resident's filing: start a draft, save it step by step, submit it (signed,
with a reference number, exactly once), withdraw it.

Rules enforced here, for pages and API alike:
- only the applicant touches their application; anyone else is told it does not exist;
- a draft keeps whatever was typed, valid or not, so nothing is lost;
- submitting validates every visible step with the form engine, freezes the answers,
  signs the canonical filing with the platform key and counts the case for the
  auditors, all in one transaction; a second submit returns the same application;
- the Individual Number is stored encrypted, in drafts and filings alike.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from applications.models import (
    Application,
    ApplicationEvent,
    ApplicationStatus,
    Attachment,
    CaseCount,
)
from applications.reference import new_reference
from applications.uploads import check_upload, virus_scan
from audit.services import audit_record
from core.errors import Conflict, NotFound, ValidationFailed
from core.signing import canonical_json, decrypt_text, encrypt_text, sha256_hex, sign_digest
from procedures.forms import engine
from procedures.forms.engine import FormResult
from procedures.forms.fields import SENSITIVE_TYPES
from procedures.models import Procedure, ProcedureStatus, ProcedureVersion, VersionState

ENCRYPTED = "encrypted"


# --- Sensitive values ------------------------------------------------------------------


def _sensitive_keys(form: dict) -> set[str]:
    """Keys of sensitive fields, top-level or inside repeating groups (keys are
    unique in the whole form)."""
    keys = set()
    for _step, spec in engine.iter_fields(form):
        if spec["type"] in SENSITIVE_TYPES:
            keys.add(spec["key"])
        keys.update(sub["key"] for sub in spec.get("fields", []) if sub["type"] in SENSITIVE_TYPES)
    return keys


def _transform(answers: Any, keys: set[str], change) -> Any:
    """Apply `change` to the values of sensitive keys, inside group items too."""
    if not isinstance(answers, dict):
        return answers
    result = {}
    for key, value in answers.items():
        if key in keys:
            value = change(value)
        elif isinstance(value, list):
            value = [_transform(item, keys, change) for item in value]
        result[key] = value
    return result


def _encrypt(value: Any) -> Any:
    if value is None or value == "" or (isinstance(value, dict) and ENCRYPTED in value):
        return value
    if isinstance(value, bool | list | dict):
        value = json.dumps(value, ensure_ascii=False)
    return {ENCRYPTED: encrypt_text(str(value))}


def _decrypt(value: Any) -> Any:
    if isinstance(value, dict) and ENCRYPTED in value:
        return decrypt_text(str(value[ENCRYPTED])) or ""
    return value


def protect(form: dict, answers: dict) -> dict:
    """Answers as stored: sensitive values (whatever their JSON type) replaced by
    {"encrypted": token}."""
    return _transform(answers, _sensitive_keys(form), _encrypt)


def reveal(form: dict, stored: dict) -> dict:
    """Stored answers with sensitive values decrypted (for validation and editing)."""
    return _transform(stored, _sensitive_keys(form), _decrypt)


def _fingerprint(value: str) -> str:
    """A keyed digest standing in for a sensitive value in the signed filing."""
    return hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


# --- Drafts -------------------------------------------------------------------------------


def _published_version(procedure: Procedure) -> ProcedureVersion:
    version = procedure.versions.filter(state=VersionState.PUBLISHED).first()
    if version is None or procedure.status != ProcedureStatus.ACTIVE:
        raise NotFound(_("This procedure is not open for applications."))
    return version


def _event(
    application: Application, actor: Any, kind: str, *, before: str = "", message: str = ""
) -> None:
    ApplicationEvent.objects.create(
        application=application,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        kind=kind,
        from_status=before,
        to_status=application.status,
        message=message,
    )


def application_start(
    *,
    actor: Any,
    procedure: Procedure,
    on_behalf_of_name: str = "",
    on_behalf_of_relationship: str = "",
) -> Application:
    """Open a draft of the procedure's published version for the actor."""
    if not getattr(actor, "is_authenticated", False):
        raise NotFound()
    if on_behalf_of_name.strip() and not on_behalf_of_relationship.strip():
        raise ValidationFailed(
            details={"on_behalf_of_relationship": [_("Say how you are related to that person.")]}
        )
    version = _published_version(procedure)
    first_step = engine.steps(version.form)[0]["key"] if engine.steps(version.form) else ""
    with transaction.atomic():
        application = Application.objects.create(
            procedure=procedure,
            version=version,
            applicant=actor,
            current_step=first_step,
            on_behalf_of_name=on_behalf_of_name.strip()[:150],
            on_behalf_of_relationship=on_behalf_of_relationship.strip()[:100],
        )
        _event(application, actor, "draft_started")
        audit_record(
            actor=actor,
            action="applications.draft_started",
            target=application,
            data={"procedure": procedure.code, "version": version.number},
        )
    return application


def _locked_own(actor: Any, application: Application) -> Application:
    locked = (
        Application.objects.select_for_update()
        .select_related("version", "procedure")
        .filter(pk=application.pk, applicant=actor)
        .first()
    )
    if locked is None:
        raise NotFound()
    return locked


def step_keys_of(form: dict) -> set[str]:
    return {step["key"] for step in engine.steps(form)}


def application_save_step(
    *, actor: Any, application: Application, step_key: str, answers: dict
) -> FormResult:
    """Store a step's answers as typed (even if invalid) and report that step's
    errors. Returns the engine's result for the whole draft, errors limited to
    the step."""
    with transaction.atomic():
        locked = _locked_own(actor, application)
        if not locked.is_draft:
            raise Conflict(
                _("This application was already submitted and can no longer be edited."),
                code="not_a_draft",
            )
        form = locked.version.form
        if step_key not in step_keys_of(form):
            raise NotFound()
        # File fields are answered by uploading (attachment_add), not by posting ids.
        step_fields = {
            spec["key"]
            for step in engine.steps(form)
            if step["key"] == step_key
            for spec in step["fields"]
            if spec["type"] != "file"
        }
        current = reveal(form, locked.answers)
        current.update({key: value for key, value in answers.items() if key in step_fields})
        locked.answers = protect(form, current)
        locked.current_step = step_key
        locked.save(update_fields=["answers", "current_step", "updated_at"])
    return engine.validate(form, current, only_steps=[step_key])


# --- Attachments ------------------------------------------------------------------------


def _file_spec(form: dict, field_key: str) -> dict:
    for _step, spec in engine.iter_fields(form):
        if spec["key"] == field_key and spec["type"] == "file":
            return spec
    raise NotFound()


def _sync_file_answer(application: Application, field_key: str) -> None:
    """The answer of a file field is the list of its attachments' public ids."""
    ids = list(
        application.attachments.filter(field_key=field_key).values_list("public_id", flat=True)
    )
    answers = dict(application.answers)
    if ids:
        answers[field_key] = ids
    else:
        answers.pop(field_key, None)
    application.answers = answers
    application.save(update_fields=["answers", "updated_at"])


def attachment_add(*, actor: Any, application: Application, field_key: str, upload) -> Attachment:
    """Keep an uploaded file for a file field of a draft, after checking its size,
    type, real content and (when configured) scanning it for viruses."""
    with transaction.atomic():
        locked = _locked_own(actor, application)
        if not locked.is_draft:
            raise Conflict(_("Files can only be added to a draft."), code="not_a_draft")
        spec = _file_spec(locked.version.form, field_key)
        checked = check_upload(upload, spec)
        already = locked.attachments.filter(field_key=field_key).count()
        if already >= spec.get("max_files", 1):
            message = _("Upload at most %(count)d files.") % {"count": spec.get("max_files", 1)}
            raise ValidationFailed(message, details={field_key: [message]})
        if virus_scan(upload) == "infected":
            message = _("The file “%(name)s” contains a virus and was not kept.") % {
                "name": checked.name
            }
            audit_record(actor=actor, action="applications.upload_infected", target=locked)
            raise ValidationFailed(message, details={field_key: [message]})
        digest = hashlib.sha256()
        upload.seek(0)
        for chunk in iter(lambda: upload.read(65536), b""):
            digest.update(chunk)
        upload.seek(0)
        attachment = Attachment(
            application=locked,
            field_key=field_key,
            original_name=checked.name,
            content_type=checked.content_type,
            size=checked.size,
            sha256=digest.hexdigest(),
            scan_result="skipped" if not getattr(settings, "CLAMAV_SOCKET", "") else "clean",
            uploaded_by=actor,
        )
        attachment.file.save(checked.name, upload, save=False)
        try:
            attachment.save()
            _sync_file_answer(locked, field_key)
            audit_record(
                actor=actor,
                action="applications.attachment_added",
                target=locked,
                data={"field": field_key, "sha256": attachment.sha256, "size": attachment.size},
            )
        except Exception:
            attachment.file.storage.delete(attachment.file.name)  # no orphan on disk
            raise
    return attachment


def attachment_remove(*, actor: Any, application: Application, public_id: str) -> None:
    with transaction.atomic():
        locked = _locked_own(actor, application)
        if not locked.is_draft:
            raise Conflict(_("Files can only be removed from a draft."), code="not_a_draft")
        attachment = locked.attachments.filter(public_id=public_id).first()
        if attachment is None:
            raise NotFound()
        field_key = attachment.field_key
        stored = attachment.file.name
        attachment.delete()
        _sync_file_answer(locked, field_key)
        audit_record(
            actor=actor,
            action="applications.attachment_removed",
            target=locked,
            data={"field": field_key, "sha256": attachment.sha256},
        )
        storage = attachment.file.storage
        transaction.on_commit(lambda: storage.delete(stored))


def application_check(application: Application) -> FormResult:
    """Validate the whole draft as it stands (the check-your-answers page)."""
    form = application.version.form
    return engine.validate(form, reveal(form, application.answers))


def _filing_document(application: Application, data: dict, moment) -> dict:
    form = application.version.form
    sensitive = _sensitive_keys(form)
    return {
        "procedure": application.procedure.code,
        "version": application.version.number,
        "reference": application.reference,
        "applicant": {"id": application.applicant_id, "name": application.applicant.display_name},
        "on_behalf_of": {
            "name": application.on_behalf_of_name,
            "relationship": application.on_behalf_of_relationship,
        },
        "answers": {
            key: {"sha256-hmac": _fingerprint(value)}
            if key in sensitive and isinstance(value, str)
            else value
            for key, value in data.items()
        },
        "attachments": [
            {
                "id": item.public_id,
                "field": item.field_key,
                "name": item.original_name,
                "sha256": item.sha256,
                "size": item.size,
            }
            for item in application.attachments.all()
        ],
        "submitted_at": moment.isoformat(),
    }


def _count_case(procedure: Procedure, day: date) -> None:
    month = day.replace(day=1)
    updated = CaseCount.objects.filter(procedure=procedure, month=month).update(
        online_filings=F("online_filings") + 1
    )
    if not updated:
        try:
            with transaction.atomic():
                CaseCount.objects.create(procedure=procedure, month=month, online_filings=1)
        except IntegrityError:  # another submission created the row first
            CaseCount.objects.filter(procedure=procedure, month=month).update(
                online_filings=F("online_filings") + 1
            )


def _issue_receipt_task():
    # Imported late: the task module imports the documents module, which uses this one.
    from applications.tasks import issue_receipt

    return issue_receipt


def application_submit(*, actor: Any, application: Application, declaration: bool) -> Application:
    """Submit a draft: the resident declares the answers true (this consent and the
    platform's signature replace a seal). Submitting twice, from a double click, a
    retry or two tabs, returns the one application already submitted."""
    if not declaration:
        raise ValidationFailed(
            details={"declaration": [_("Confirm the declaration to submit the application.")]}
        )
    with transaction.atomic():
        locked = _locked_own(actor, application)
        if not locked.is_draft:
            return locked  # already submitted: the same application, no second filing
        form = locked.version.form
        result = engine.validate(form, reveal(form, locked.answers))
        if not result.is_valid:
            raise ValidationFailed(
                _("Some answers are missing or not valid. Correct them before submitting."),
                details=result.errors,
            )
        moment = timezone.now()
        for _attempt in range(5):
            reference = new_reference()
            if not Application.objects.filter(reference=reference).exists():
                break
        locked.reference = reference
        locked.data = protect(form, result.data)
        locked.status = ApplicationStatus.SUBMITTED
        locked.submitted_at = moment
        document = _filing_document(locked, result.data, moment)
        locked.submission_digest = sha256_hex(canonical_json(document))
        locked.signature = sign_digest(locked.submission_digest)
        locked.save()
        _event(locked, actor, "submitted", before=ApplicationStatus.DRAFT)
        _count_case(locked.procedure, timezone.localdate(moment))
        # The receipt (受付票) is rendered by a worker once the filing is committed.
        application_id = locked.pk
        transaction.on_commit(lambda: _issue_receipt_task().delay(application_id))
        audit_record(
            actor=actor,
            action="applications.submitted",
            target=locked,
            data={
                "reference": reference,
                "procedure": locked.procedure.code,
                "digest": locked.submission_digest,
            },
        )
    return locked


def application_withdraw(*, actor: Any, application: Application, reason: str) -> Application:
    """The resident withdraws before a decision, giving a reason."""
    if not reason.strip():
        raise ValidationFailed(details={"reason": [_("Give a reason for withdrawing.")]})
    with transaction.atomic():
        locked = _locked_own(actor, application)
        if locked.status == ApplicationStatus.WITHDRAWN:
            return locked
        if not locked.can_withdraw:
            raise Conflict(
                _("This application can no longer be withdrawn (status: %(status)s).")
                % {"status": locked.get_status_display()},
                code="cannot_withdraw",
            )
        before = locked.status
        locked.status = ApplicationStatus.WITHDRAWN
        locked.withdrawn_reason = reason.strip()[:2000]
        locked.save(update_fields=["status", "withdrawn_reason", "updated_at"])
        _event(locked, actor, "withdrawn", before=before, message=locked.withdrawn_reason)
        audit_record(
            actor=actor,
            action="applications.withdrawn",
            target=locked,
            data={"reference": locked.reference, "from": before},
        )
    return locked


def application_discard_draft(*, actor: Any, application: Application) -> None:
    """Delete a draft the resident no longer wants (never a submitted one)."""
    with transaction.atomic():
        locked = _locked_own(actor, application)
        if not locked.is_draft:
            raise Conflict(_("Only drafts can be deleted."), code="not_a_draft")
        audit_record(actor=actor, action="applications.draft_discarded", target=locked)
        locked.delete()
