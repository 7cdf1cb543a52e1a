"""The retention purge: a case whose period has run out (core.retention) becomes a
tombstone, and legal holds keep a case out of it.

What a tombstone keeps: the reference, the procedure and its version, the status
and dates (filed, decided, ended, kept until, purged), the fee and the payments'
amounts (accounting records have their own period), and the digests and signatures
of the filing's revisions, of its co-signatures and of the documents, so that
/verify/ can still say what was signed and when. Everything else is removed:
answers, the applicant's, the principal's and the co-signers' names and addresses
(and what the co-signers signed), reasons and messages, notes, correction texts, attachments
and documents (their files from the store), the payments' instructions, and the
resident's notifications about the case (with the e-mails not yet sent).

Exactly once and safe: each batch locks its cases (FOR UPDATE SKIP LOCKED, so two
purges running at once take different cases) and commits before any file goes;
the files to remove are recorded in the same transaction (PendingFileRemoval) and
removed after it, so a crash in between leaves rows that the next run removes, and
never a file removed for a case that is still there."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Notification
from accounts.permissions import Action, actor_may
from accounts.services import notify
from applications.models import (
    Application,
    ApplicationEvent,
    ApplicationRevision,
    ApplicationStatus,
    Attachment,
    CorrectionRequest,
    Cosignature,
    CosignerEmail,
    InternalNote,
    IssuedDocument,
    LegalHold,
    PendingFileRemoval,
)
from applications.sensitive_answers import erase_individual_numbers
from audit.services import audit_record
from core.errors import PermissionDenied, ValidationFailed
from core.retention import japan_day
from payments.models import Payment

logger = logging.getLogger(__name__)


@dataclass
class PurgeSummary:
    purged: int = 0
    files: int = 0
    by_procedure: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False


def purge_due(today: date | None = None):
    """Ended cases whose last day is before today (Japan's), not purged, not held."""
    today = today or japan_day(timezone.now())
    held = LegalHold.objects.filter(application=OuterRef("pk"), released_at__isnull=True)
    return Application.objects.filter(kept_until__lt=today, purged_at__isnull=True).exclude(
        Exists(held)
    )


def retention_purge_run(
    *,
    dry_run: bool = False,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> PurgeSummary:
    """Purge every case that is due, batch by batch; or, with dry_run, count them."""
    summary = PurgeSummary(dry_run=dry_run)
    if dry_run:
        for code in purge_due().values_list("procedure__code", flat=True)[:limit]:
            summary.by_procedure[code] = summary.by_procedure.get(code, 0) + 1
            summary.purged += 1
        return summary
    batch = settings.RETENTION_PURGE_BATCH
    while limit is None or summary.purged < limit:
        size = batch if limit is None else min(batch, limit - summary.purged)
        done = _purge_batch(size, summary)
        if not done:
            break
        if progress is not None:
            progress(done)
    summary.files += pending_files_remove()
    return summary


def _purge_batch(size: int, summary: PurgeSummary) -> int:
    now = timezone.now()
    with transaction.atomic():
        cases = list(
            purge_due()
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("procedure")
            .order_by("kept_until", "id")[:size]
        )
        for case in cases:
            _tombstone(case, now)
            code = case.procedure.code
            summary.by_procedure[code] = summary.by_procedure.get(code, 0) + 1
        summary.purged += len(cases)
    # The files go only once the database says the cases are tombstones.
    summary.files += pending_files_remove()
    return len(cases)


def _tombstone(case: Application, now) -> None:
    files_release([case])
    attachments = Attachment.objects.filter(application=case).delete()[0]
    documents = IssuedDocument.objects.filter(application=case).update(content={}, pdf="")
    ApplicationRevision.objects.filter(application=case).update(data={}, filing={})
    ApplicationEvent.objects.filter(application=case).update(message="")
    CorrectionRequest.objects.filter(application=case).update(message="", response="", fields=[])
    # Who the co-signers were goes; what was signed, and when, stays checkable.
    CosignerEmail.objects.filter(cosignature__application=case).delete()
    Cosignature.objects.filter(application=case).update(
        name="", email="", token_sealed="", decline_reason="", document={}
    )
    InternalNote.objects.filter(application=case).delete()
    Payment.objects.filter(subject_kind="application", subject_id=case.pk).update(
        instructions={}, redirect_url=""
    )
    Notification.objects.filter(
        user_id=case.applicant_id, link=f"/applications/{case.pk}/"
    ).delete()
    Application.objects.filter(pk=case.pk).update(
        answers={},
        data={},
        current_step="",
        applicant_name="",
        cosigner_answers={},
        on_behalf_of_name="",
        on_behalf_of_relationship="",
        withdrawn_reason="",
        recommendation_reason="",
        decision_reason="",
        purged_at=now,
    )
    audit_record(
        actor=None,
        action="applications.purged",
        target=case,
        data={
            "reference": case.reference,
            "procedure": case.procedure.code,
            "kept_until": case.kept_until.isoformat(),
            "attachments": attachments,
            "documents": documents,
        },
    )


def pending_files_remove(limit: int = 1000) -> int:
    """Remove the files recorded for removal (after their rows' commit), each row
    only once its file is gone or was never there; a store that is down leaves the
    rest for the next run."""
    removed = 0
    for pending in PendingFileRemoval.objects.order_by("id")[:limit]:
        try:
            default_storage.delete(pending.name)
        except Exception:
            logger.warning("retention: the file store refused a removal; retried later")
            break
        pending.delete()
        removed += 1
    return removed


# --- Drafts never submitted ------------------------------------------------------------


def files_release(applications) -> None:
    """Record the stored files of these applications (attachments, issued PDFs) for
    removal after the commit: their rows are about to go or let go of them."""
    names = [
        *Attachment.objects.filter(application__in=applications).values_list("file", flat=True),
        *IssuedDocument.objects.filter(application__in=applications).values_list("pdf", flat=True),
    ]
    PendingFileRemoval.objects.bulk_create(
        [PendingFileRemoval(name=name) for name in names if name]
    )


def drafts_delete(drafts: list[Application], *, audit_action: str = "") -> None:
    """Delete these drafts with their attachments (files removed after the commit)
    and the notifications that link to them; audited per draft when asked."""
    if not drafts:
        return
    files_release(drafts)
    for draft in drafts:
        if audit_action:
            audit_record(
                actor=None,
                action=audit_action,
                target=draft,
                data={"procedure": draft.procedure_id},
            )
    Notification.objects.filter(
        link__in=[f"/applications/{draft.pk}/" for draft in drafts],
        user_id__in={draft.applicant_id for draft in drafts},
    ).delete()
    Application.objects.filter(pk__in=[draft.pk for draft in drafts]).delete()


@dataclass
class DraftsSummary:
    reminded: int = 0
    deleted: int = 0


def drafts_expiry_run(*, limit: int = 500) -> DraftsSummary:
    """Remind the owners of drafts that will expire in DRAFT_REMINDER_DAYS (once
    per last change), and delete the drafts unchanged for DRAFT_EXPIRY_DAYS, with
    their attachments (files removed after the commit) and the reminders."""
    now = timezone.now()
    expiry = timedelta(days=settings.DRAFT_EXPIRY_DAYS)
    notice = timedelta(days=settings.DRAFT_REMINDER_DAYS)
    summary = DraftsSummary()
    drafts = Application.objects.filter(status=ApplicationStatus.DRAFT)
    with transaction.atomic():
        unreminded = Q(draft_reminded_at__isnull=True) | Q(draft_reminded_at__lt=F("updated_at"))
        due = (
            drafts.filter(
                unreminded, updated_at__lte=now - expiry + notice, updated_at__gt=now - expiry
            )
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("procedure", "applicant")
            .order_by("updated_at")[:limit]
        )
        for draft in due:
            notify(
                user=draft.applicant,
                subject=gettext_lazy("Your draft will be deleted on %(day)s"),
                body=gettext_lazy(
                    "Your draft of %(procedure)s has not been sent. Unsent drafts are kept for "
                    "%(days)s days after their last change: this one will be deleted on "
                    "%(day)s. Send it, or save any of its steps to keep it another %(days)s days."
                ),
                params={
                    "procedure": lambda draft=draft: draft.procedure.title,
                    "day": draft.draft_expires_on.isoformat(),
                    "days": settings.DRAFT_EXPIRY_DAYS,
                },
                link=f"/applications/{draft.pk}/",
            )
            summary.reminded += 1
        # update() leaves updated_at alone: a reminder is not a change of the draft.
        Application.objects.filter(pk__in=[draft.pk for draft in due]).update(draft_reminded_at=now)
    with transaction.atomic():
        expired = list(
            drafts.filter(updated_at__lte=now - expiry)
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("updated_at")[:limit]
        )
        drafts_delete(expired, audit_action="applications.draft_expired")
        summary.deleted = len(expired)
    pending_files_remove()
    return summary


# --- Individual Numbers ----------------------------------------------------------------


def individual_numbers_erase_due(*, limit: int = 1000) -> int:
    """Erase the Individual Numbers the procedures no longer need (the My Number Act
    forbids keeping them longer): in the answers as entered and as submitted and in
    every revision, the encrypted values are replaced by the day of the erasure.
    Each case once (locked, skipping those another run holds). Returns how many
    cases were erased."""
    today = japan_day(timezone.now())
    now = timezone.now()
    erased_cases = 0
    with transaction.atomic():
        due = (
            Application.objects.filter(
                individual_numbers_erase_on__lte=today,
                individual_numbers_erased_at__isnull=True,
                purged_at__isnull=True,
            )
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("version")
            .prefetch_related("revisions")
            .order_by("individual_numbers_erase_on", "id")[:limit]
        )
        for case in due:
            form = case.version.form
            day = today.isoformat()
            case.answers, in_answers = erase_individual_numbers(form, case.answers, day)
            case.data, in_data = erase_individual_numbers(form, case.data, day)
            case.individual_numbers_erased_at = now
            case.save(update_fields=["answers", "data", "individual_numbers_erased_at"])
            in_revisions = 0
            for revision in case.revisions.all():
                revision.data, count = erase_individual_numbers(form, revision.data, day)
                if count:
                    revision.save(update_fields=["data"])
                    in_revisions += count
            audit_record(
                actor=None,
                action="applications.individual_numbers_erased",
                target=case,
                data={"reference": case.reference, "values": in_answers + in_data + in_revisions},
            )
            erased_cases += 1
    return erased_cases


# --- Legal holds -----------------------------------------------------------------------


def _may_hold(actor, application: Application) -> None:
    if not actor_may(actor, Action.MANAGE_PROCEDURES, application.procedure):
        raise PermissionDenied()


def legal_hold_place(*, actor, application: Application, reason: str) -> LegalHold:
    """Keep a case out of the purge (litigation, an open complaint) until released."""
    _may_hold(actor, application)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(details={"reason": [_("Give the reason for the hold.")]})
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        if locked.purged_at is not None:
            raise ValidationFailed(details={"reason": [_("This case was already purged.")]})
        hold = LegalHold.objects.create(application=locked, reason=reason[:2000], placed_by=actor)
        audit_record(
            actor=actor,
            action="applications.legal_hold_placed",
            target=locked,
            data={"reference": locked.reference, "hold": hold.pk},
        )
    return hold


def legal_hold_release(*, actor, hold: LegalHold, reason: str = "") -> LegalHold:
    """Release an open hold, with a reason; releasing a released one changes nothing."""
    _may_hold(actor, hold.application)
    if not (reason or "").strip():
        raise ValidationFailed(details={"reason": [_("Give the reason for the release.")]})
    with transaction.atomic():
        locked = LegalHold.objects.select_for_update().get(pk=hold.pk)
        if locked.released_at is None:
            locked.released_at = timezone.now()
            locked.released_by = actor
            locked.release_reason = (reason or "").strip()[:2000]
            locked.save(update_fields=["released_at", "released_by", "release_reason"])
            audit_record(
                actor=actor,
                action="applications.legal_hold_released",
                target=locked.application,
                data={"reference": locked.application.reference, "hold": locked.pk},
            )
    return locked
