"""The workflow engine: one engine for every procedure, the workflow itself is data.

A procedure version's `workflow` section either names a preset (`approval`:
`four_eyes` or `single`, combined with when the fee is due) or lists its own
`transitions`. Each transition says from which states an action may be taken,
the state it leads to, who may take it and which guards must hold:

    {"action": "approve", "from": ["recommended"], "to": "approved",
     "by": "approver", "guards": ["four_eyes"]}

`by` is one of `applicant` (the resident who filed), `reviewer` (staff allowed to
review applications in the owning organization), `approver` (staff allowed to
decide) or `system` (the platform itself: payments settling, results issued).

A filing that needs co-signatures waits in `cosignature_pending` first: from there
the platform takes `cosignatures_complete` once every required co-signer has signed
(into the workflow where a complete filing goes: `submitted`, or `payment_pending`
when the fee is due before review, as for a submission without co-signers), or
`cosignatures_lapsed` when a declined or expired request was not replaced in time;
the applicant may `withdraw` (applications.cosigning, docs/cosignature.md).

The actions are a fixed vocabulary, because each one has a meaning the services
implement (a correction request opens a 補正, a decision issues a document); which
of them a procedure uses, from where to where, by whom and under which guards,
is the procedure's to say.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.permissions import Action, actor_may
from applications.models import (
    Application,
    ApplicationStatus,
    CosignatureStatus,
    Decision,
    DocumentKind,
)
from core.retention import japan_day

S = ApplicationStatus

APPLICANT, REVIEWER, APPROVER, SYSTEM = "applicant", "reviewer", "approver", "system"
ACTORS = (APPLICANT, REVIEWER, APPROVER, SYSTEM)

# What each action means to people, for buttons and error messages.
ACTION_LABELS: dict[str, Any] = {
    "cosignatures_complete": _("All co-signatures received"),
    "cosignatures_lapsed": _("Close: co-signature not obtained"),
    "payment_settled": _("Fee paid"),
    "claim": _("Start review"),
    "request_correction": _("Request a correction"),
    "resubmit": _("Submit corrections"),
    "recommend_approval": _("Recommend approval"),
    "recommend_rejection": _("Recommend rejection"),
    "return_to_review": _("Return for review"),
    "approve": _("Approve"),
    "reject": _("Reject"),
    "issue_result": _("Issue the result"),
    "withdraw": _("Withdraw"),
}
ACTIONS = frozenset(ACTION_LABELS)


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[str]
    target: str
    by: str
    guards: tuple[str, ...] = ()
    # A comment is the reason or message the action needs (rejection, correction).
    comment_required: bool = False
    # Staff-only steps do not appear on the resident's timeline.
    internal: bool = False

    @property
    def label(self) -> str:
        return str(ACTION_LABELS[self.action])


@dataclass(frozen=True)
class Workflow:
    name: str
    transitions: tuple[Transition, ...]
    fee_due: str = "before_review"
    extra: dict = field(default_factory=dict, compare=False)

    def transitions_from(self, status: str) -> list[Transition]:
        return [item for item in self.transitions if status in item.sources]

    def find(self, action: str, status: str) -> Transition | None:
        return next((item for item in self.transitions_from(status) if item.action == action), None)

    def has_action(self, action: str) -> bool:
        return any(item.action == action for item in self.transitions)


# --- Guards -------------------------------------------------------------------------------
# A guard returns None when it holds, or the message that says why it does not.

GuardCheck = Callable[[Application, Any], Any]

# Registered by the payments app at start-up: does a settled payment cover the
# fee of this application? (applications never imports payments' models).
_payment_checks: list[Callable[[Application], bool]] = []


def register_payment_check(check: Callable[[Application], bool]) -> None:
    if check not in _payment_checks:
        _payment_checks.append(check)


def fee_settled(application: Application) -> bool:
    if application.fee_amount == 0:
        return True
    return any(check(application) for check in _payment_checks)


def _guard_assignee(application: Application, actor: Any) -> Any:
    if application.assignee_id is None or application.assignee_id == getattr(actor, "pk", None):
        return None
    return _("This application is assigned to someone else.")


def _guard_four_eyes(application: Application, actor: Any) -> Any:
    if application.recommended_by_id is not None and application.recommended_by_id == getattr(
        actor, "pk", None
    ):
        return _("You recommended this decision, so another person must take it (four eyes).")
    return None


def _guard_payment_settled(application: Application, actor: Any) -> Any:
    if application.decision == Decision.REJECT:
        return None  # no fee is collected for a refusal
    if fee_settled(application):
        return None
    return _("The fee has not been paid yet.")


def _guard_decision_document(application: Application, actor: Any) -> Any:
    if application.documents.filter(kind=DocumentKind.DECISION).exists():
        return None
    return _("The decision document has not been generated yet.")


def _current_required(application: Application):
    return application.cosignatures.filter(required=True, superseded_at__isnull=True)


def _guard_cosignatures_complete(application: Application, actor: Any) -> Any:
    if _current_required(application).exclude(status=CosignatureStatus.SIGNED).exists():
        return _("A required co-signer has not signed yet.")
    return None


def _guard_cosignature_lapsed(application: Application, actor: Any) -> Any:
    lapsed = _current_required(application).filter(
        status__in=[CosignatureStatus.DECLINED, CosignatureStatus.EXPIRED],
        replace_by__lt=japan_day(timezone.now()),
    )
    if lapsed.exists():
        return None
    return _("No declined or expired co-signature is past the day to name someone else.")


GUARDS: dict[str, GuardCheck] = {
    "assignee": _guard_assignee,
    "four_eyes": _guard_four_eyes,
    "payment_settled": _guard_payment_settled,
    "decision_document": _guard_decision_document,
    "cosignatures_complete": _guard_cosignatures_complete,
    "cosignature_lapsed": _guard_cosignature_lapsed,
}


# --- Presets ------------------------------------------------------------------------------

_OPEN = frozenset(
    {
        S.SUBMITTED,
        S.COSIGNATURE_PENDING,
        S.PAYMENT_PENDING,
        S.UNDER_REVIEW,
        S.CORRECTION_REQUESTED,
        S.RESUBMITTED,
        S.RECOMMENDED,
    }
)


def _t(action, sources, target, by, guards=(), *, comment=False, internal=False) -> Transition:
    return Transition(
        action=action,
        sources=frozenset(sources),
        target=target,
        by=by,
        guards=tuple(guards),
        comment_required=comment,
        internal=internal,
    )


_COMMON = (
    _t(
        "cosignatures_complete",
        [S.COSIGNATURE_PENDING],
        S.SUBMITTED,
        SYSTEM,
        ["cosignatures_complete"],
    ),
    _t(
        "cosignatures_lapsed",
        [S.COSIGNATURE_PENDING],
        S.WITHDRAWN,
        SYSTEM,
        ["cosignature_lapsed"],
        comment=True,
    ),
    _t("payment_settled", [S.PAYMENT_PENDING], S.SUBMITTED, SYSTEM, ["payment_settled"]),
    _t("claim", [S.SUBMITTED, S.RESUBMITTED], S.UNDER_REVIEW, REVIEWER, ["assignee"]),
    _t(
        "request_correction",
        [S.UNDER_REVIEW],
        S.CORRECTION_REQUESTED,
        REVIEWER,
        ["assignee"],
        comment=True,
    ),
    _t("resubmit", [S.CORRECTION_REQUESTED], S.RESUBMITTED, APPLICANT),
    _t(
        "issue_result",
        [S.APPROVED, S.REJECTED],
        S.RESULT_ISSUED,
        SYSTEM,
        ["payment_settled", "decision_document"],
    ),
    _t("withdraw", _OPEN, S.WITHDRAWN, APPLICANT, comment=True),
)

_FOUR_EYES = (
    _t(
        "recommend_approval",
        [S.UNDER_REVIEW],
        S.RECOMMENDED,
        REVIEWER,
        ["assignee"],
        internal=True,
    ),
    _t(
        "recommend_rejection",
        [S.UNDER_REVIEW],
        S.RECOMMENDED,
        REVIEWER,
        ["assignee"],
        comment=True,
        internal=True,
    ),
    _t(
        "return_to_review",
        [S.RECOMMENDED],
        S.UNDER_REVIEW,
        APPROVER,
        ["four_eyes"],
        comment=True,
        internal=True,
    ),
    _t("approve", [S.RECOMMENDED], S.APPROVED, APPROVER, ["four_eyes"]),
    _t("reject", [S.RECOMMENDED], S.REJECTED, APPROVER, ["four_eyes"], comment=True),
)

_SINGLE = (
    _t("approve", [S.UNDER_REVIEW], S.APPROVED, REVIEWER, ["assignee"]),
    _t("reject", [S.UNDER_REVIEW], S.REJECTED, REVIEWER, ["assignee"], comment=True),
)

PRESETS = {"four_eyes": _COMMON + _FOUR_EYES, "single": _COMMON + _SINGLE}


def transitions_from_definition(items: list[dict]) -> tuple[Transition, ...]:
    return tuple(
        _t(
            item["action"],
            item["from"],
            item["to"],
            item["by"],
            item.get("guards", []),
            comment=bool(item.get("comment_required", False)),
            internal=bool(item.get("internal", False)),
        )
        for item in items
    )


def workflow_of(version: Any) -> Workflow:
    """The workflow a procedure version declares (its own transitions, or a preset)."""
    definition = version.definition.get("workflow", {}) or {}
    fee_due = (version.definition.get("fee") or {}).get("due", "before_review")
    if definition.get("transitions"):
        return Workflow(
            name="custom",
            transitions=transitions_from_definition(definition["transitions"]),
            fee_due=fee_due,
        )
    approval = definition.get("approval", "four_eyes")
    return Workflow(
        name=approval, transitions=PRESETS.get(approval, PRESETS["four_eyes"]), fee_due=fee_due
    )


# --- Who may act --------------------------------------------------------------------------


def actor_fits(transition: Transition, application: Application, actor: Any) -> bool:
    """Does the actor hold the part the transition needs (not yet its guards)?"""
    if transition.by == SYSTEM:
        return actor is None
    if actor is None or not getattr(actor, "is_authenticated", False):
        return False
    if transition.by == APPLICANT:
        return application.applicant_id == actor.pk
    action = Action.DECIDE_APPLICATIONS if transition.by == APPROVER else Action.REVIEW_APPLICATIONS
    return actor_may(actor, action, application.procedure)


def failed_guards(transition: Transition, application: Application, actor: Any) -> list[str]:
    problems = []
    for name in transition.guards:
        problem = GUARDS[name](application, actor)
        if problem is not None:
            problems.append(str(problem))
    return problems


def available_transitions(application: Application, actor: Any) -> list[Transition]:
    """The actions the actor can take now: the right part and every guard holding."""
    workflow = workflow_of(application.version)
    return [
        item
        for item in workflow.transitions_from(application.status)
        if actor_fits(item, application, actor) and not failed_guards(item, application, actor)
    ]


def state_after_submission(application: Application, *, awaiting_cosignatures: bool = False) -> str:
    """Where a filing goes when submitted: to wait for its co-signatures, straight to
    the queue, or first to payment when the fee is due before review. A filing whose
    co-signatures come in later goes where this says then (cosignatures_complete)."""
    if awaiting_cosignatures:
        return S.COSIGNATURE_PENDING
    workflow = workflow_of(application.version)
    if (
        application.fee_amount > 0
        and workflow.fee_due == "before_review"
        and workflow.has_action("payment_settled")
        and not fee_settled(application)
    ):
        return S.PAYMENT_PENDING
    return S.SUBMITTED
