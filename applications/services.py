"""A resident's filing: start a draft, save it step by step, submit it (signed,
with a reference number, exactly once), withdraw it.

Rules enforced here, for pages and API alike:
- only the applicant touches their application; anyone else is told it does not exist;
- a draft keeps whatever was typed, valid or not, so nothing is lost;
- a draft is started and submitted only while the procedure takes applications
  (procedures.window); what was submitted goes on after the window closes;
- submitting validates every visible step with the form engine, freezes the answers,
  signs the canonical filing with the platform key and counts the case for the
  auditors, all in one transaction; a second submit returns the same application;
- the Individual Number is stored encrypted, in drafts and filings alike;
- the co-signers a draft's answers call for are named in the draft (kept as typed)
  and checked at submission; a filing that needs a co-signature waits for it
  (applications.cosigning, docs/cosignature.md).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.identity.selectors import verified_identity
from accounts.services import notify
from applications import cosigners, cosigning
from applications.hooks import case_counted, case_event
from applications.models import (
    Application,
    ApplicationRevision,
    ApplicationStatus,
    Attachment,
    CaseCount,
    Cosignature,
    CosignatureStatus,
)
from applications.processing_period import clock_resume, clock_start
from applications.purge import files_release, pending_files_remove
from applications.reference import new_reference
from applications.sensitive_answers import fingerprinted, protect, reveal
from applications.signed_claims import identity_claims, keyed_fingerprint
from applications.transitions import event_record, transition_check, transition_take
from applications.uploads import check_upload, virus_scan
from applications.workflow import state_after_submission
from audit.services import audit_record
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.signing import canonical_json, sha256_hex, sign_digest
from core.storage import STORAGE_ERRORS, StorageUnavailable
from core.tasks import enqueue
from procedures.fees import fee_amount
from procedures.form_engine import engine
from procedures.form_engine.engine import FormResult
from procedures.form_engine.fields import address_parts
from procedures.models import (
    IdentityLevel,
    Procedure,
    ProcedureStatus,
    ProcedureVersion,
    VersionState,
)
from procedures.window import window_require_open

# --- The signed filing --------------------------------------------------------------------

logger = logging.getLogger(__name__)


# --- Drafts -------------------------------------------------------------------------------


def _published_version(procedure: Procedure) -> ProcedureVersion:
    version = procedure.versions.filter(state=VersionState.PUBLISHED).first()
    if version is None or procedure.status != ProcedureStatus.ACTIVE:
        raise NotFound(_("This procedure is not open for applications."))
    return version


def _identity_checked(actor: Any, procedure: Procedure):
    """The actor's verified identity; required when the procedure asks for one."""
    identity = verified_identity(actor)
    if identity is None and procedure.identity_level == IdentityLevel.IDENTITY_VERIFIED:
        raise PermissionDenied(
            _(
                "This procedure needs a verified identity. Verify your identity with your "
                "digital ID first; it takes a minute and no visit."
            ),
            code="identity_required",
        )
    return identity


def prefill_value(spec: dict, identity) -> Any:
    """The verified value in the shape the field's type takes (a name field has
    family and given parts, and their readings when the provider gave one)."""
    source = spec.get("prefill")
    if source == "identity.full_name":
        if spec["type"] == "name":
            family, given = _two_parts(identity.full_name)
            value = {"family": family, "given": given}
            family_kana, given_kana = _two_parts(getattr(identity, "name_kana", ""))
            if family_kana and given_kana:
                value |= {"family_kana": family_kana, "given_kana": given_kana}
            return value
        return identity.full_name
    if source == "identity.name_kana":
        return getattr(identity, "name_kana", "") or None
    if source == "identity.birth_date":
        return identity.birth_date.isoformat()
    if source == "identity.address" and spec["type"] in ("text", "textarea"):
        return identity.address or None
    if source == "identity.address" and spec["type"] == "address":
        # Split into the field's parts; what cannot be recognised is left to the resident.
        parts = address_parts(identity.address) if identity.address else None
        return {part: value for part, value in parts.items() if value} if parts else None
    return None


def _two_parts(full: str) -> tuple[str, str]:
    """Family and given name from "山田 太郎" (a space, or an ideographic one)."""
    family, _space, given = full.strip().partition(" ")
    if not given:
        family, _space, given = full.strip().partition("\u3000")
    return family, given.strip()


def _prefilled(form: dict, identity) -> dict:
    """Answers taken from the verified identity, for the fields that ask for them."""
    if identity is None:
        return {}
    answers = {}
    for _step, spec in engine.iter_fields(form):
        value = prefill_value(spec, identity)
        if value:
            answers[spec["key"]] = value
    return answers


def application_start(
    *,
    actor: Any,
    procedure: Procedure,
    on_behalf_of_name: str = "",
    on_behalf_of_relationship: str = "",
) -> Application:
    """Open a draft of the procedure's published version for the actor, while the
    procedure takes applications (its application window; filing on behalf of
    someone else included). A procedure that requires a verified identity needs
    one first; its name, date of birth and address prefill the fields that ask
    for them."""
    if not getattr(actor, "is_authenticated", False):
        raise NotFound()
    if on_behalf_of_name.strip() and not on_behalf_of_relationship.strip():
        raise ValidationFailed(
            details={"on_behalf_of_relationship": [_("Say how you are related to that person.")]}
        )
    version = _published_version(procedure)
    window_require_open(procedure, submitting=False)
    identity = _identity_checked(actor, procedure)
    first_step = engine.steps(version.form)[0]["key"] if engine.steps(version.form) else ""
    with transaction.atomic():
        application = Application.objects.create(
            procedure=procedure,
            version=version,
            applicant=actor,
            answers=protect(version.form, _prefilled(version.form, identity)),
            current_step=first_step,
            on_behalf_of_name=on_behalf_of_name.strip()[:150],
            on_behalf_of_relationship=on_behalf_of_relationship.strip()[:100],
        )
        event_record(application, actor, "draft_started")
        audit_record(
            actor=actor,
            action="applications.draft_started",
            target=application,
            data={"procedure": procedure.code, "version": version.number},
        )
    return application


def _locked_own(actor: Any, application: Application | int) -> Application:
    """The actor's own application (or the one with this id), loaded and row-locked
    (only that row: residents filing for the same procedure at once must not queue
    behind each other), with its procedure and pinned version; its applicant is
    the actor, so not read again."""
    if not getattr(actor, "is_authenticated", False):
        raise NotFound()
    try:
        locked = (
            Application.objects.select_for_update(of=("self",))
            .select_related("procedure", "version")
            .get(pk=application if isinstance(application, int) else application.pk)
        )
    except Application.DoesNotExist as error:
        raise NotFound() from error
    if locked.applicant_id != actor.pk:
        raise NotFound()
    locked.applicant = actor
    return locked


def step_keys_of(form: dict) -> set[str]:
    return {step["key"] for step in engine.steps(form)}


def correction_step_keys(application: Application) -> set[str]:
    """While a correction is due, the steps holding the fields to correct are open
    again; the rest of the filing stays as submitted."""
    correction = application.open_correction
    if correction is None:
        return set()
    wanted = set(correction.fields)
    return {
        step["key"]
        for step in engine.steps(application.version.form)
        if any(spec["key"] in wanted for spec in step["fields"])
    }


def editable_step_keys(application: Application) -> set[str]:
    if application.is_draft:
        return step_keys_of(application.version.form)
    return correction_step_keys(application)


def _editable(locked: Application) -> None:
    if not locked.is_editable:
        raise Conflict(
            _("This application was already submitted and can no longer be edited."),
            code="not_a_draft",
        )


def application_save_step(
    *, actor: Any, application: Application, step_key: str, answers: dict
) -> FormResult:
    """Store a step's answers as typed (even if invalid) and report that step's
    errors. Returns the engine's result for the whole draft, errors limited to
    the step. While a correction is due, only the steps it names can change."""
    with transaction.atomic():
        locked = _locked_own(actor, application)
        _editable(locked)
        form = locked.version.form
        if step_key not in editable_step_keys(locked):
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
        application.current_attachments.filter(field_key=field_key).values_list(
            "public_id", flat=True
        )
    )
    answers = dict(application.answers)
    if ids:
        answers[field_key] = ids
    else:
        answers.pop(field_key, None)
    application.answers = answers
    application.save(update_fields=["answers", "updated_at"])


def _file_field_open(locked: Application, field_key: str) -> None:
    """Files change in a draft, or, while a correction is due, in the fields it names."""
    if locked.is_draft:
        return
    correction = locked.open_correction
    if correction is None or field_key not in correction.fields:
        raise Conflict(
            _("Files can only be changed in a draft or in the fields a correction names."),
            code="not_a_draft",
        )


def attachment_add(*, actor: Any, application: Application, field_key: str, upload) -> Attachment:
    """Keep an uploaded file for a file field of a draft, after checking its size,
    type, real content and (when configured) scanning it for viruses."""
    with transaction.atomic():
        locked = _locked_own(actor, application)
        _file_field_open(locked, field_key)
        spec = _file_spec(locked.version.form, field_key)
        checked = check_upload(upload, spec)
        already = locked.current_attachments.filter(field_key=field_key).count()
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
        try:
            attachment.file.save(checked.name, upload, save=False)
        except STORAGE_ERRORS as failure:
            # The kind of failure only: the file's name may be personal.
            logger.warning("upload not stored: %s", type(failure).__name__)
            raise StorageUnavailable(
                details={field_key: [StorageUnavailable.default_message]}
            ) from None
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
        attachment = locked.current_attachments.filter(public_id=public_id).first()
        if attachment is None:
            raise NotFound()
        field_key = attachment.field_key
        _file_field_open(locked, field_key)
        stored = attachment.file.name
        in_a_filing = locked.revision > 0 and any(
            item.get("id") == public_id
            for revision in locked.revisions.all()
            for item in revision.filing.get("attachments", [])
        )
        if in_a_filing:
            # A signed revision lists this file: keep it for the history.
            attachment.removed_at = timezone.now()
            attachment.save(update_fields=["removed_at", "updated_at"])
        else:
            attachment.delete()
        _sync_file_answer(locked, field_key)
        audit_record(
            actor=actor,
            action="applications.attachment_removed",
            target=locked,
            data={"field": field_key, "sha256": attachment.sha256},
        )
        if not in_a_filing:
            storage = attachment.file.storage
            transaction.on_commit(lambda: storage.delete(stored))


def application_check(application: Application) -> FormResult:
    """Validate the whole draft as it stands (the check-your-answers page), with the
    co-signers its answers call for ("cosigners.<role>.name" / ".email")."""
    form = application.version.form
    result = engine.validate(form, reveal(form, application.answers))
    if application.is_draft:
        roles = cosigners.applicable_roles(application.version, result.data)
        for path, problems in cosigners.cosigner_errors(application, roles).items():
            for problem in problems:
                result.add(path, problem)
    return result


def _filing_attachments(application: Application) -> list[dict]:
    form = application.version.form
    if not any(spec["type"] == "file" for _step, spec in engine.iter_fields(form)):
        return []  # files are only attached to file fields: no query for a form without one
    return [
        {
            "id": item.public_id,
            "field": item.field_key,
            "name": item.original_name,
            "sha256": item.sha256,
            "size": item.size,
        }
        for item in application.current_attachments
    ]


def filed_applicant_name(application: Application, data: dict, identity) -> str:
    """The applicant's name as the filing states it. Filing for oneself: the answer
    of the field the verified name fills (or, failing that, the first name field),
    else the verified name, else the account's name. A proxy filing's applicant is
    the person filing (verified, or the account), the principal being on_behalf_of."""
    if not application.on_behalf_of_name:
        specs = [spec for _step, spec in engine.iter_fields(application.version.form)]
        named = [spec for spec in specs if spec.get("prefill") == "identity.full_name"]
        named += [spec for spec in specs if spec["type"] == "name" and spec not in named]
        for spec in named:
            value = data.get(spec["key"])
            if isinstance(value, dict):
                value = " ".join(part for part in (value.get("family"), value.get("given")) if part)
            if isinstance(value, str) and value.strip():
                return value.strip()[:200]
    if identity is not None and identity.full_name:
        return identity.full_name[:200]
    return application.applicant.display_name[:200]


def _filing_document(application: Application, data: dict, moment, identity) -> dict:
    form = application.version.form
    return {
        "procedure": application.procedure.code,
        "version": application.version.number,
        "reference": application.reference,
        "applicant": {
            "id": application.applicant_id,
            "name": application.applicant_name,
            "account_name": application.applicant.display_name,
            "verified_identity": identity_claims(identity),
        },
        "on_behalf_of": {
            "name": application.on_behalf_of_name,
            "relationship": application.on_behalf_of_relationship,
        },
        # Sensitive values only as keyed fingerprints, inside repeating groups too.
        "answers": fingerprinted(form, data, keyed_fingerprint),
        "attachments": _filing_attachments(application),
        "revision": application.revision,
        "submitted_at": moment.isoformat(),
    }


def _count_case(procedure: Procedure, day: date) -> None:
    month = day.replace(day=1)
    case_counted.announce(procedure=procedure, month=month)
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


def _sign_revision(locked: Application, result_data: dict, moment, identity) -> ApplicationRevision:
    """Freeze the validated answers as the next signed revision of the filing: the
    canonical JSON of procedure version, answers, attachment digests, applicant and
    time, whose SHA-256 digest the platform key signs."""
    form = locked.version.form
    locked.revision += 1
    locked.data = protect(form, result_data)
    locked.applicant_name = filed_applicant_name(locked, result_data, identity)
    document = _filing_document(locked, result_data, moment, identity)
    locked.submission_digest = sha256_hex(canonical_json(document))
    locked.signature = sign_digest(locked.submission_digest)
    return ApplicationRevision.objects.create(
        application=locked,
        number=locked.revision,
        data=locked.data,
        filing=document,
        digest=locked.submission_digest,
        signature=locked.signature,
        submitted_at=moment,
    )


# --- Co-signers -------------------------------------------------------------------------


def cosigners_save(*, actor: Any, application: Application, values: dict) -> dict:
    """Keep the co-signers a draft names, as typed (valid or not: nothing is lost),
    and return the problems of those its answers call for (applications.cosigners),
    by path ("cosigners.spouse.email"). `values`: {role key: {"name", "email"}}."""
    with transaction.atomic():
        locked = _locked_own(actor, application)
        if not locked.is_draft:
            raise Conflict(
                _("This application was already submitted and can no longer be edited."),
                code="not_a_draft",
            )
        kept = dict(locked.cosigner_answers or {})
        for role in cosigners.roles_of(locked.version):
            entry = values.get(role.key) if isinstance(values, dict) else None
            if isinstance(entry, dict):
                kept[role.key] = {
                    "name": cosigners.typed(entry.get("name"), cosigners.NAME_MAX),
                    "email": cosigners.typed(entry.get("email"), cosigners.EMAIL_MAX),
                }
        locked.cosigner_answers = kept
        locked.save(update_fields=["cosigner_answers", "updated_at"])
    form = locked.version.form
    roles = cosigners.applicable_roles(locked.version, reveal(form, locked.answers))
    return cosigners.cosigner_errors(locked, roles)


def _cosigners_validated(locked: Application, data: dict) -> list[tuple]:
    """(role, name, e-mail) of everyone the draft names for the roles its answers
    call for; the submission is refused while one is missing or not valid."""
    roles = cosigners.applicable_roles(locked.version, data)
    problems = cosigners.cosigner_errors(locked, roles)
    if problems:
        raise ValidationFailed(
            _("Name the co-signers this application needs before submitting."),
            details=problems,
        )
    named = []
    for role in roles:
        person = cosigners.named_of(locked, role.key)
        if person["email"]:
            named.append((role, person["name"], person["email"]))
    return named


def cosigner_replace(
    *, actor: Any, application: Application, role_key: str, name: str, email: str
) -> Cosignature:
    """While the case waits for its co-signatures, the applicant names someone else
    for a role (or the same person again: a fresh link), when its request was
    declined, ran out, or went to a wrong address. A signed co-signature stays."""
    with transaction.atomic():
        locked = _locked_own(actor, application)
        role = cosigners.role_of(locked.version, role_key)
        if role is None:
            raise NotFound()
        if locked.status != ApplicationStatus.COSIGNATURE_PENDING:
            raise Conflict(
                _("Co-signers can be changed only while the application waits for them."),
                code="not_waiting_for_cosigners",
            )
        current = (
            locked.cosignatures.select_for_update()
            .filter(role=role.key, superseded_at__isnull=True)
            .first()
        )
        if current is not None and current.status == CosignatureStatus.SIGNED:
            raise Conflict(_("This co-signer has already signed."), code="already_signed")
        name = cosigners.typed(name, cosigners.NAME_MAX)
        email = cosigners.typed(email, cosigners.EMAIL_MAX)
        taken = {
            address.lower()
            for address in locked.cosignatures.filter(superseded_at__isnull=True)
            .exclude(role=role.key)
            .exclude(status=CosignatureStatus.CANCELLED)
            .values_list("email", flat=True)
        }
        problems = cosigners.person_errors(
            name, email, required=True, applicant_email=actor.email, taken=taken, prefix=""
        )
        if problems:
            raise ValidationFailed(details=problems)
        moment = timezone.now()
        if current is not None:
            if current.status == CosignatureStatus.PENDING:
                current.status = CosignatureStatus.CANCELLED
                current.closed_at = moment
            current.superseded_at = moment
            current.save(update_fields=["status", "closed_at", "superseded_at"])
        locked.cosigner_answers = {
            **(locked.cosigner_answers or {}),
            role.key: {"name": name, "email": email},
        }
        locked.save(update_fields=["cosigner_answers", "updated_at"])
        (request,) = cosigning.requests_make(locked, actor, [(role, name, email)], moment)
    return request


def _declared(declaration: bool) -> None:
    if not declaration:
        raise ValidationFailed(
            details={"declaration": [_("Confirm the declaration to submit the application.")]}
        )


def _validated(locked: Application) -> FormResult:
    form = locked.version.form
    result = engine.validate(form, reveal(form, locked.answers))
    if not result.is_valid:
        raise ValidationFailed(
            _("Some answers are missing or not valid. Correct them before submitting."),
            details=result.errors,
        )
    return result


# A new reference number is unique (a partial unique constraint); one that is taken
# already (about 1 in 85,000 at 10 million filings) fails the submission's UPDATE,
# and the submission is made again with another number.
REFERENCE_CONSTRAINT = "application_reference_unique"
REFERENCE_ATTEMPTS = 5
# What a submission changes on the application row (not the answers: a smaller UPDATE).
SUBMITTED_FIELDS = [
    "reference",
    "submitted_at",
    "fee_amount",
    "revision",
    "data",
    "applicant_name",
    "submission_digest",
    "signature",
    "status",
    "clock_started_on",
    "due_date",
    "updated_at",
]


def _reference_taken(error: IntegrityError) -> bool:
    constraint = getattr(getattr(error.__cause__, "diag", None), "constraint_name", None)
    # PostgreSQL names the constraint; SQLite names the column.
    return constraint == REFERENCE_CONSTRAINT or "applications_application.reference" in str(error)


def application_submit(
    *, actor: Any, application: Application | int, declaration: bool
) -> Application:
    """Submit a draft: the resident declares the answers true (this consent and the
    platform's signature replace a seal). Submitting twice, from a double click, a
    retry or two tabs, returns the one application already submitted. Outside the
    procedure's application window the draft is refused as it is (409
    procedure_closed or procedure_not_yet_open), kept for when it opens again. A
    fee due before review sends the filing to payment first; otherwise the
    processing period starts now.

    `application` may be the draft or its id: it is loaded again, locked, in the
    submission's transaction either way (the API passes the id and saves a query)."""
    _declared(declaration)
    attempts = REFERENCE_ATTEMPTS
    while True:
        try:
            return _submit(actor, application)
        except IntegrityError as error:
            attempts -= 1
            if not attempts or not _reference_taken(error):
                raise


def _submit(actor: Any, application: Application | int) -> Application:
    with transaction.atomic():
        locked = _locked_own(actor, application)
        if not locked.is_draft:
            return locked  # already submitted: the same application, no second filing
        moment = timezone.now()
        # The moment the filing is stamped with is the one the window is checked at.
        window_require_open(locked.procedure, submitting=True, at=moment)
        identity = _identity_checked(actor, locked.procedure)
        result = _validated(locked)
        named = _cosigners_validated(locked, result.data)
        reference = new_reference()
        locked.reference = reference
        locked.submitted_at = moment
        locked.fee_amount = fee_amount(locked.version.fee, result.data)
        _sign_revision(locked, result.data, moment, identity)
        awaiting = any(role.required for role, _name, _email in named)
        locked.status = state_after_submission(locked, awaiting_cosignatures=awaiting)
        if locked.status == ApplicationStatus.SUBMITTED:
            clock_start(locked, moment)
        locked.save(update_fields=SUBMITTED_FIELDS)
        event_record(locked, actor, "submitted", before=ApplicationStatus.DRAFT)
        _count_case(locked.procedure, timezone.localdate(moment))
        requests = cosigning.requests_make(locked, actor, named, moment)
        if awaiting:
            # Not complete yet: the office, its systems and the receipt wait for the
            # co-signatures (applications.cosigning.complete_if_done).
            cosigning.waiting_notify(locked, requests)
        else:
            case_event.announce(application=locked, event="submitted", revision=locked.revision)
            # The receipt (受付票) is rendered by a worker once the filing is committed.
            enqueue("applications.tasks.issue_receipt", locked.pk)
        audit_record(
            actor=actor,
            action="applications.submitted",
            target=locked,
            data={
                "reference": reference,
                "procedure": locked.procedure.code,
                "digest": locked.submission_digest,
                "fee": locked.fee_amount,
            },
        )
    return locked


def application_resubmit(
    *, actor: Any, application: Application, declaration: bool, note: str = ""
) -> Application:
    """Answer the open correction request: the corrected filing is validated as a
    whole and signed as a new revision (the earlier one is kept), the processing
    period resumes without the days it waited, and the reviewer is told. Sending
    twice returns the application already resubmitted."""
    _declared(declaration)
    with transaction.atomic():
        locked = _locked_own(actor, application)
        if locked.status == ApplicationStatus.RESUBMITTED:
            return locked
        transition = transition_check(locked, actor, "resubmit", "")
        correction = locked.open_correction
        result = _validated(locked)
        moment = timezone.now()
        revision = _sign_revision(locked, result.data, moment, verified_identity(actor))
        if correction is not None:
            correction.answered_at = moment
            correction.response = (note or "").strip()[:2000]
            correction.revision = revision.number
            correction.save(update_fields=["answered_at", "response", "revision"])
            clock_resume(locked, correction, moment)
        transition_take(locked, actor, transition, (note or "").strip()[:2000])
        case_event.announce(application=locked, event="corrected", revision=locked.revision)
        if locked.assignee is not None:
            notify(
                user=locked.assignee,
                subject=gettext_lazy("Corrections received for %(reference)s"),
                body=gettext_lazy(
                    "The resident sent the corrections you asked for (%(procedure)s). "
                    "The application is back in your queue."
                ),
                params={"reference": locked.reference, "procedure": lambda: locked.procedure.title},
                link=reverse("casework:case", args=[locked.pk]),
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
        transition = transition_check(locked, actor, "withdraw", reason)
        locked.withdrawn_reason = reason.strip()[:2000]
        complete = locked.status != ApplicationStatus.COSIGNATURE_PENDING
        cosigning.requests_cancel(locked, timezone.now())
        transition_take(locked, actor, transition, locked.withdrawn_reason)
        if complete:
            # The department's systems never heard of a filing still waiting for
            # its co-signatures: nothing to withdraw there.
            case_event.announce(application=locked, event="withdrawn", revision=locked.revision)
    return locked


def application_discard_draft(*, actor: Any, application: Application) -> None:
    """Delete a draft the resident no longer wants (never a submitted one)."""
    with transaction.atomic():
        locked = _locked_own(actor, application)
        if not locked.is_draft:
            raise Conflict(_("Only drafts can be deleted."), code="not_a_draft")
        audit_record(actor=actor, action="applications.draft_discarded", target=locked)
        files_release([locked])  # its attachments' files go once the row has gone
        locked.delete()
    pending_files_remove()
