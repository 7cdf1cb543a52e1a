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
from datetime import date
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from applications.models import Application, ApplicationEvent, ApplicationStatus, CaseCount
from applications.reference import new_reference
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
    return {
        spec["key"] for _step, spec in engine.iter_fields(form) if spec["type"] in SENSITIVE_TYPES
    }


def protect(form: dict, answers: dict) -> dict:
    """Answers as stored: sensitive values replaced by {"encrypted": token}."""
    keys = _sensitive_keys(form)
    return {
        key: {ENCRYPTED: encrypt_text(value)}
        if key in keys and isinstance(value, str) and value
        else value
        for key, value in answers.items()
    }


def reveal(form: dict, stored: dict) -> dict:
    """Stored answers with sensitive values decrypted (for validation and editing)."""
    keys = _sensitive_keys(form)
    revealed = {}
    for key, value in stored.items():
        if key in keys and isinstance(value, dict) and ENCRYPTED in value:
            value = decrypt_text(value[ENCRYPTED]) or ""
        revealed[key] = value
    return revealed


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
        step_fields = {
            spec["key"]
            for step in engine.steps(form)
            if step["key"] == step_key
            for spec in step["fields"]
        }
        current = reveal(form, locked.answers)
        current.update({key: value for key, value in answers.items() if key in step_fields})
        locked.answers = protect(form, current)
        locked.current_step = step_key
        locked.save(update_fields=["answers", "current_step", "updated_at"])
    return engine.validate(form, current, only_steps=[step_key])


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
