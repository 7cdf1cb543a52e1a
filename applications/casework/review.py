"""Reads for the staff's review of one application (the case file), shared by the
review page and the casework API so that both show the same things: the answers of
the current revision (the Individual Number masked), every signed revision with its
digest and signature checked again, what changed from one revision to the next,
the correction requests, the full timeline (staff-only steps included), internal
notes, files, issued documents, and what the viewer may do now.

Nothing here changes anything; the writes are in applications.casework.services."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, User
from accounts.permissions import Action, actor_may, organizations_where, roles_granting
from applications.casework.queue import is_overdue, staff_applications
from applications.cosigners import (
    CosignatureCheck,
    CosignatureRow,
    cosignature_check,
    cosignature_rows,
)
from applications.models import (
    Application,
    ApplicationEvent,
    ApplicationRevision,
    Attachment,
    CorrectionRequest,
    CosignatureStatus,
    InternalNote,
    IssuedDocument,
)
from applications.sensitive_answers import reveal
from applications.workflow import (
    ACTION_LABELS,
    Transition,
    actor_fits,
    available_transitions,
    failed_guards,
    workflow_of,
)
from core.errors import NotFound, ValidationFailed
from core.signing import canonical_json, sha256_hex, verify_digest
from procedures.form_engine import engine
from procedures.form_engine.html import AnswerRow, answer_rows, display_value
from procedures.form_engine.text import localized_text
from procedures.models import Procedure

# Files a browser can show safely in place; anything else is only downloaded.
PREVIEW_IMAGE_TYPES = frozenset({"image/png", "image/jpeg"})
PREVIEW_PDF_TYPES = frozenset({"application/pdf"})


def previewable(attachment: Attachment) -> bool:
    return attachment.content_type in PREVIEW_IMAGE_TYPES | PREVIEW_PDF_TYPES


@dataclass(frozen=True)
class RevisionCheck:
    """A signed revision, checked again now: does the stored filing still hash to
    its digest, and does the platform's signature over that digest verify?"""

    revision: ApplicationRevision
    digest_ok: bool
    signature_ok: bool

    @property
    def valid(self) -> bool:
        return self.digest_ok and self.signature_ok


@dataclass(frozen=True)
class FieldChange:
    key: str
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class RevisionChanges:
    before: int
    after: int
    changes: list[FieldChange]


@dataclass(frozen=True)
class BlockedAction:
    """An action the viewer's role allows but a guard refuses now (four eyes, ...)."""

    transition: Transition
    reasons: list[str]


@dataclass(frozen=True)
class AnswerSection:
    title: str
    rows: list[AnswerRow]


@dataclass(frozen=True)
class CosignatureEntry:
    """A co-signature request as the case file shows it, with its check when signed."""

    row: CosignatureRow
    check: CosignatureCheck | None

    @property
    def request(self):
        return self.row.request


@dataclass
class CaseFile:
    application: Application
    overdue: bool
    sections: list[AnswerSection]
    attachments: list[Attachment]
    revisions: list[RevisionCheck]
    changes: list[RevisionChanges]
    corrections: list[CorrectionRequest]
    events: list[ApplicationEvent]
    notes: list[InternalNote]
    documents: list[IssuedDocument]
    actions: list[Transition]
    blocked: list[BlockedAction]
    correctable_fields: list[dict[str, str]]
    may_assign: bool
    reviewers: list[User] = field(default_factory=list)
    # What the identity provider vouched for, as signed into the latest revision.
    verified_identity: dict | None = None
    cosignatures: list[CosignatureEntry] = field(default_factory=list)


# --- Revisions ----------------------------------------------------------------------------


def revision_check(revision: ApplicationRevision) -> RevisionCheck:
    return RevisionCheck(
        revision=revision,
        digest_ok=sha256_hex(canonical_json(revision.filing)) == revision.digest,
        signature_ok=verify_digest(revision.digest, revision.signature),
    )


def _shown(spec: dict, value: Any, file_names: dict[str, str]) -> str:
    """An answer as a clerk reads it in a comparison (masked where sensitive)."""
    if value is None or value == "" or value == []:
        return ""
    if spec["type"] == "file" and isinstance(value, list):
        return "、".join(file_names.get(str(item), str(item)) for item in value)
    if spec["type"] == "group" and isinstance(value, list):
        items = []
        for number, item in enumerate(value, start=1):
            if not isinstance(item, dict):
                continue
            parts = [
                f"{localized_text(sub.get('label'))}: {display_value(sub, item.get(sub['key']))}"
                for sub in spec.get("fields", [])
                if item.get(sub["key"]) not in (None, "", [])
            ]
            items.append(f"{number}. " + ", ".join(parts))
        return " / ".join(items)
    return display_value(spec, value)


def revision_changes(
    form: dict, older: ApplicationRevision, newer: ApplicationRevision, file_names: dict[str, str]
) -> RevisionChanges:
    """The answers that differ between two revisions, in the form's order."""
    before, after = reveal(form, older.data or {}), reveal(form, newer.data or {})
    changes = []
    for _step, spec in engine.iter_fields(form):
        key = spec["key"]
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        shown_old, shown_new = _shown(spec, old, file_names), _shown(spec, new, file_names)
        if shown_old == shown_new:
            # Masked values can read the same although they differ.
            shown_new = _("%(value)s (changed)") % {"value": shown_new}
        changes.append(
            FieldChange(
                key=key,
                label=localized_text(spec.get("label")) or key,
                before=shown_old,
                after=shown_new,
            )
        )
    return RevisionChanges(before=older.number, after=newer.number, changes=changes)


# --- People and procedures ------------------------------------------------------------------


def reviewable_procedures(actor: Any) -> QuerySet[Procedure]:
    """The procedures whose applications the actor may review (for the queue's filter)."""
    return Procedure.objects.filter(
        owning_organization__in=organizations_where(actor, Action.REVIEW_APPLICATIONS)
    ).order_by("code")


def _ancestor_ids(path: str) -> list[int]:
    return [int(part) for part in path.strip("/").split("/") if part.isdigit()]


def _reviewers(condition: Q) -> QuerySet[User]:
    members = Membership.objects.filter(
        condition, role__in=roles_granting(Action.REVIEW_APPLICATIONS)
    ).values("user_id")
    return User.objects.filter(pk__in=members, is_active=True).order_by("display_name", "id")


def reviewers_of(application: Application) -> QuerySet[User]:
    """Who may review this application: holders of a reviewing role in its owning
    organization or one of that organization's ancestors."""
    path = application.procedure.owning_organization.path
    return _reviewers(Q(organization_id__in=_ancestor_ids(path)))


def reviewers_for_supervisor(actor: Any) -> QuerySet[User]:
    """Who a supervisor may give applications to: reviewers of the organizations
    where the supervisor assigns, their sub-organizations and their ancestors (the
    assignment service checks each application again)."""
    paths = list(
        organizations_where(actor, Action.ASSIGN_APPLICATIONS).values_list("path", flat=True)
    )
    if not paths:
        return User.objects.none()
    ancestors = {ident for path in paths for ident in _ancestor_ids(path)}
    condition = Q(organization_id__in=ancestors)
    for path in paths:
        condition |= Q(organization__path__startswith=path)
    return _reviewers(condition)


def may_assign_somewhere(actor: Any) -> bool:
    return actor_may(actor, Action.ASSIGN_APPLICATIONS)


def assignee_from(value: Any) -> User | None:
    """The person an assignment names by id (None: nobody). Whether they may
    review the application is the assignment service's to say."""
    if value is None:
        return None
    try:
        ident = int(value)
    except (TypeError, ValueError):
        ident = None
    person = User.objects.filter(pk=ident, is_active=True).first() if ident else None
    if person is None:
        raise ValidationFailed(details={"assignee": [_("Choose a person from the list.")]})
    return person


def staff_applications_by_ids(actor: Any, ids: Iterable[Any]) -> list[Application]:
    """The named applications, in id order (so that locks are always taken in the
    same order); one the actor may not see makes the whole request "not found"."""
    try:
        wanted = {int(ident) for ident in ids}
    except (TypeError, ValueError) as error:
        raise NotFound() from error
    found = list(
        staff_applications(actor)
        .filter(pk__in=wanted)
        .select_related("procedure", "applicant", "assignee")
        .order_by("pk")
    )
    if len(found) != len(wanted):
        raise NotFound(_("Some of the chosen applications were not found."))
    return found


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


# --- The case file ------------------------------------------------------------------------


def correctable_fields(form: dict) -> list[dict[str, str]]:
    """The answers a correction request may name (the form's top-level fields)."""
    return [
        {
            "key": spec["key"],
            "label": localized_text(spec.get("label")) or spec["key"],
            "step": localized_text(step.get("title")),
        }
        for step, spec in engine.iter_fields(form)
    ]


def _sections(application: Application) -> list[AnswerSection]:
    form = application.version.form
    data = reveal(form, application.data or {})
    return [
        AnswerSection(title=localized_text(step.get("title")), rows=answer_rows(form, step, data))
        for step in engine.visible_steps(form, data)
    ]


def _blocked(application: Application, actor: Any) -> list[BlockedAction]:
    workflow = workflow_of(application.version)
    blocked = []
    for transition in workflow.transitions_from(application.status):
        if not actor_fits(transition, application, actor):
            continue
        reasons = failed_guards(transition, application, actor)
        if reasons:
            blocked.append(BlockedAction(transition=transition, reasons=reasons))
    return blocked


def _corrections(application: Application, form: dict) -> list[CorrectionRequest]:
    corrections = list(application.corrections.select_related("requested_by"))
    labels = {item["key"]: item["label"] for item in correctable_fields(form)}
    for correction in corrections:
        correction.field_labels = [labels.get(key, key) for key in correction.fields]
    return corrections


def case_file(actor: Any, application: Application) -> CaseFile:
    """Everything the review page and the case API show about one application the
    actor may see (found with applications.casework.queue.case_for_staff)."""
    form = application.version.form
    attachments = list(application.attachments.select_related("uploaded_by"))
    file_names = {item.public_id: item.original_name for item in attachments}
    revisions = list(application.revisions.all())
    may_assign = actor_may(actor, Action.ASSIGN_APPLICATIONS, application.procedure)
    return CaseFile(
        application=application,
        overdue=is_overdue(application, timezone.localdate()),
        sections=_sections(application),
        attachments=attachments,
        revisions=[revision_check(item) for item in revisions],
        changes=[
            revision_changes(form, older, newer, file_names) for older, newer in pairwise(revisions)
        ],
        corrections=_corrections(application, form),
        events=list(application.events.select_related("actor")),
        notes=list(application.notes.select_related("author")),
        documents=list(application.documents.all()),
        actions=available_transitions(application, actor),
        blocked=_blocked(application, actor),
        correctable_fields=correctable_fields(form),
        may_assign=may_assign,
        reviewers=list(reviewers_of(application)) if may_assign else [],
        verified_identity=(
            revisions[-1].filing.get("applicant", {}).get("verified_identity")
            if revisions
            else None
        ),
        cosignatures=_cosignatures(application, revisions),
    )


def _cosignatures(
    application: Application, revisions: list[ApplicationRevision]
) -> list[CosignatureEntry]:
    """Every co-signature request of the case, each signed one checked again against
    the digest of the revision it was asked for."""
    digests = {revision.number: revision.digest for revision in revisions}
    return [
        CosignatureEntry(
            row=row,
            check=cosignature_check(row.request, digests.get(row.request.revision))
            if row.request.status == CosignatureStatus.SIGNED
            else None,
        )
        for row in cosignature_rows(application)
    ]
