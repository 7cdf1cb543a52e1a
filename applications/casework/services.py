"""Taking workflow actions, and the staff side of casework.

`workflow_act` is the one way an application changes state after submission, for
staff, residents and the platform alike, from pages, the API and tasks:
- it locks the application row, so two people acting at once cannot both succeed
  (the second sees the new state and gets a clear error);
- the action must exist from the current state in the version's workflow, the
  actor must hold the part it needs in the owning organization, and its guards
  must hold (four eyes, assignee, fee paid, decision document issued);
- every transition is written to the timeline and the audit log in the same
  transaction, with actor, from, to and comment; side effects run on commit.

One step of the workflow (check, take, timeline, telling the resident) is
applications.transitions; the processing period is applications.processing_period.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from accounts.permissions import Action, actor_may, organizations_where
from accounts.services import notify
from applications.hooks import case_event
from applications.models import (
    Application,
    ApplicationStatus,
    CorrectionRequest,
    Decision,
    InternalNote,
)
from applications.processing_period import clock_start
from applications.transitions import (
    applicant_notify,
    event_record,
    transition_check,
    transition_take,
)
from audit.services import audit_record
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.tasks import enqueue
from procedures.form_engine import engine

S = ApplicationStatus


def locked_application(application_id: int) -> Application:
    application = (
        Application.objects.select_for_update(of=("self",))
        .select_related("procedure__owning_organization", "version", "applicant")
        .filter(pk=application_id)
        .first()
    )
    if application is None:
        raise NotFound()
    return application


def staff_may_see(actor: Any, application: Application) -> bool:
    return actor_may(actor, Action.REVIEW_APPLICATIONS, application.procedure)


def _may_see(actor: Any, application: Application) -> bool:
    if actor is None:
        return True  # the platform itself
    if application.applicant_id == getattr(actor, "pk", None):
        return True
    return staff_may_see(actor, application)


# --- Workflow actions ---------------------------------------------------------------------


def _case_link(application: Application) -> str:
    return reverse("casework:case", args=[application.pk])


def workflow_act(
    *,
    actor: Any,
    application: Application,
    action: str,
    comment: str = "",
    fields: Iterable[str] = (),
) -> Application:
    """Take a workflow action on an application (see the module's rules). Actions
    with their own services (resubmit, withdraw) are refused here."""
    if action in ("resubmit", "withdraw"):
        raise Conflict(_("Use the resident's own page for this action."), code="invalid_transition")
    comment = (comment or "").strip()[:4000]
    with transaction.atomic():
        locked = locked_application(application.pk)
        if not _may_see(actor, locked):
            raise NotFound()
        transition = transition_check(locked, actor, action, comment)
        now = timezone.now()
        if action == "claim":
            if locked.assignee_id is None:
                locked.assignee = actor
                locked.assigned_at = now
        elif action == "request_correction":
            _open_correction(locked, actor, comment, list(fields), now)
        elif action in ("recommend_approval", "recommend_rejection"):
            locked.recommendation = (
                Decision.APPROVE if action == "recommend_approval" else Decision.REJECT
            )
            locked.recommended_by = actor
            locked.recommendation_reason = comment
        elif action == "return_to_review":
            locked.recommendation = ""
            locked.recommended_by = None
            locked.recommendation_reason = ""
        elif action in ("approve", "reject"):
            locked.decision = Decision.APPROVE if action == "approve" else Decision.REJECT
            locked.decided_by = actor
            locked.decided_at = now
            locked.decision_reason = comment
            enqueue("applications.tasks.issue_decision", locked.pk)
        elif action == "payment_settled":
            clock_start(locked, now)
        transition_take(locked, actor, transition, comment)
        if action in ("approve", "reject"):
            case_event.announce(application=locked, event="decided", revision=locked.revision)
    return locked


def _open_correction(
    locked: Application, actor: Any, message: str, fields: list[str], moment: datetime
) -> CorrectionRequest:
    known = {spec["key"] for _step, spec in engine.iter_fields(locked.version.form)}
    chosen = [key for key in dict.fromkeys(fields) if key]
    if not chosen:
        raise ValidationFailed(
            details={"fields": [_("Choose the answers the resident must correct.")]}
        )
    unknown = [key for key in chosen if key not in known]
    if unknown:
        raise ValidationFailed(
            details={"fields": [_("Unknown fields: %(fields)s") % {"fields": ", ".join(unknown)}]}
        )
    correction = CorrectionRequest.objects.create(
        application=locked,
        requested_by=actor,
        requested_at=moment,
        message=message,
        fields=chosen,
    )
    applicant_notify(
        locked,
        subject=gettext_lazy("Please correct your application %(reference)s"),
        body=gettext_lazy(
            "The office reviewing your application (%(procedure)s) asks you to correct some "
            "answers. Open the application to read the message and send your corrections. "
            "The processing period is paused until you do."
        ),
    )
    return correction


# --- Assignment ---------------------------------------------------------------------------


def _assignable(assignee: User, application: Application) -> bool:
    return assignee.is_active and actor_may(
        assignee, Action.REVIEW_APPLICATIONS, application.procedure
    )


def application_assign(
    *, actor: Any, application: Application, assignee: User | None
) -> Application:
    """A supervisor (assign permission in the owning organization) gives an open
    application to a reviewer of that organization, or takes it off anyone's desk."""
    with transaction.atomic():
        locked = locked_application(application.pk)
        if not staff_may_see(actor, locked):
            raise NotFound()
        if not actor_may(actor, Action.ASSIGN_APPLICATIONS, locked.procedure):
            raise PermissionDenied(
                _("Only a supervisor may assign applications."), code="not_allowed"
            )
        if locked.status in (S.DRAFT, S.WITHDRAWN, S.RESULT_ISSUED):
            raise Conflict(
                _("A closed application cannot be assigned (status: %(status)s).")
                % {"status": locked.get_status_display()},
                code="closed",
            )
        if assignee is not None and not _assignable(assignee, locked):
            raise ValidationFailed(
                details={
                    "assignee": [_("This person cannot review applications of this procedure.")]
                }
            )
        if locked.assignee_id == getattr(assignee, "pk", None):
            return locked
        before = locked.assignee
        locked.assignee = assignee
        locked.assigned_at = timezone.now() if assignee else None
        locked.save(update_fields=["assignee", "assigned_at", "updated_at"])
        event_record(
            locked,
            actor,
            "assigned",
            before=locked.status,
            message=assignee.display_name if assignee else "",
            internal=True,
        )
        audit_record(
            actor=actor,
            action="applications.assigned",
            target=locked,
            data={
                "reference": locked.reference,
                "from": getattr(before, "pk", None),
                "to": getattr(assignee, "pk", None),
            },
        )
        if assignee is not None and assignee != actor:
            notify(
                user=assignee,
                subject=gettext_lazy("Application %(reference)s was assigned to you"),
                body=gettext_lazy("%(procedure)s: the application is now on your desk."),
                params={"reference": locked.reference, "procedure": lambda: locked.procedure.title},
                link=_case_link(locked),
            )
    return locked


def applications_bulk_assign(
    *, actor: Any, applications: Iterable[Application], assignee: User | None
) -> list[Application]:
    """Assign several applications at once; all or nothing."""
    with transaction.atomic():
        return [
            application_assign(actor=actor, application=item, assignee=assignee)
            for item in applications
        ]


def claimable(actor: Any) -> QuerySet[Application]:
    """What `claim next` chooses from: waiting in the queue, on nobody else's desk,
    of procedures the actor may review."""
    return Application.objects.filter(
        Q(assignee__isnull=True) | Q(assignee=actor),
        status__in=[S.SUBMITTED, S.RESUBMITTED],
        procedure__owning_organization__in=organizations_where(actor, Action.REVIEW_APPLICATIONS),
    )


def application_claim_next(*, actor: Any, procedure_code: str = "") -> Application | None:
    """Claim the most urgent waiting application (earliest due date, then the
    earliest filed). Rows another clerk is claiming right now are skipped, not
    waited for, so two clerks never get the same one (FOR UPDATE SKIP LOCKED)."""
    with transaction.atomic():
        candidates = claimable(actor)
        if procedure_code:
            candidates = candidates.filter(procedure__code=procedure_code)
        chosen = (
            candidates.select_for_update(skip_locked=True, of=("self",))
            .order_by("due_date", "submitted_at", "id")
            .values_list("pk", flat=True)
            .first()
        )
        if chosen is None:
            return None
        return workflow_act(actor=actor, application=Application(pk=chosen), action="claim")


# --- Notes ----------------------------------------------------------------------------------


def note_add(*, actor: Any, application: Application, text: str) -> InternalNote:
    """An internal note among staff; the resident never sees it."""
    text = (text or "").strip()
    if not text:
        raise ValidationFailed(details={"text": [_("Write the note first.")]})
    with transaction.atomic():
        locked = locked_application(application.pk)
        if not staff_may_see(actor, locked):
            raise NotFound()
        note = InternalNote.objects.create(application=locked, author=actor, text=text[:4000])
        audit_record(
            actor=actor,
            action="applications.note_added",
            target=locked,
            data={"reference": locked.reference, "note": note.pk},
        )
    return note
