"""Taking one step of the workflow, the leaf every writer of an application shares:
the residents' services (submit, resubmit, withdraw), the casework services and the
documents (issuing the result closes the case).

- `transition_check`: the action exists from the current state in the version's
  workflow, the actor holds the part it needs, its guards hold and a comment is
  given where one is required; otherwise a clear error (409, or 403 when the guard
  is about who acts);
- `transition_take`: the (locked, checked) application moves on, with its timeline
  entry and its audit event in the caller's transaction;
- `event_record`: an entry of the application's timeline;
- `applicant_notify`: tell the resident, in their language, with a link.

It imports the models, the workflow, the audit log and the accounts' notifications,
never the services, casework, documents or tasks, so all of them may import it.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.services import notify
from applications.models import Application, ApplicationEvent, ApplicationStatus
from applications.retention import ENDING_STATES, case_end
from applications.workflow import ACTION_LABELS, GUARDS, Transition, actor_fits, workflow_of
from audit.services import audit_record
from core.errors import Conflict, PermissionDenied, ValidationFailed

# Guards that are about who acts (403), not about the state of the case (409).
_PERSONAL_GUARDS = {"assignee", "four_eyes"}

# Timeline and audit names that predate the engine, kept stable for API clients.
_EVENT_KINDS = {"withdraw": "withdrawn"}


def event_record(
    application: Application,
    actor: Any,
    kind: str,
    *,
    before: str = "",
    message: str = "",
    internal: bool = False,
) -> ApplicationEvent:
    """An entry of the application's timeline (its status now, and before)."""
    return ApplicationEvent.objects.create(
        application=application,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        kind=kind,
        from_status=before,
        to_status=application.status,
        message=message,
        internal=internal,
    )


def _status_label(status: str) -> str:
    return str(ApplicationStatus(status).label)


def _possible_actions(application: Application, actor: Any) -> list[Transition]:
    workflow = workflow_of(application.version)
    return [
        item
        for item in workflow.transitions_from(application.status)
        if actor_fits(item, application, actor)
    ]


def transition_check(locked: Application, actor: Any, action: str, comment: str) -> Transition:
    """The transition `action` takes from the application's state, when the actor
    may take it now (see the module's rules); a clear refusal otherwise."""
    workflow = workflow_of(locked.version)
    transition = workflow.find(action, locked.status)
    if transition is None:
        allowed = [item.label for item in _possible_actions(locked, actor)]
        message = _("“%(action)s” is not possible while the application is “%(status)s”.") % {
            "action": _label(action),
            "status": _status_label(locked.status),
        }
        if allowed:
            message += " " + _("Possible now: %(actions)s.") % {"actions": ", ".join(allowed)}
        raise Conflict(
            message,
            code="invalid_transition",
            details={
                "status": locked.status,
                "allowed_actions": [item.action for item in _possible_actions(locked, actor)],
            },
        )
    if not actor_fits(transition, locked, actor):
        raise PermissionDenied(
            _("Your role does not allow “%(action)s” for this application.")
            % {"action": transition.label},
            code="not_allowed",
        )
    for name in transition.guards:
        problem = GUARDS[name](locked, actor)
        if problem is not None:
            error = PermissionDenied if name in _PERSONAL_GUARDS else Conflict
            raise error(str(problem), code=name)
    if transition.comment_required and not comment.strip():
        raise ValidationFailed(
            details={"comment": [_("Give a reason or a message for this action.")]}
        )
    return transition


def _label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def transition_take(
    locked: Application, actor: Any, transition: Transition, comment: str = ""
) -> None:
    """Move the (locked, checked) application along a transition: status, timeline, audit."""
    before = locked.status
    kind = _EVENT_KINDS.get(transition.action, transition.action)
    locked.status = transition.target
    if locked.status in ENDING_STATES:
        case_end(locked, timezone.now())
    locked.save()
    event_record(
        locked,
        actor,
        kind,
        before=before,
        message=comment.strip(),
        internal=transition.internal,
    )
    audit_record(
        actor=actor,
        action=f"applications.{kind}",
        target=locked,
        data={"reference": locked.reference, "from": before, "to": locked.status},
    )


def _application_link(application: Application) -> str:
    return reverse("applications:detail", args=[application.pk])


def applicant_notify(
    application: Application, *, subject: Any, body: Any, params: dict | None = None
) -> None:
    """Tell the resident something about their application, in their language,
    with its reference, its procedure's title, who it was filed for (the
    applicant as filed, and the principal of a proxy filing) and a link to it.
    `params` fills the texts' own placeholders besides those."""
    named = gettext_lazy("Applicant: %(applicant)s")
    if application.on_behalf_of_name:
        named = format_lazy("{}\n{}", named, gettext_lazy("Filed on behalf of: %(principal)s"))
    notify(
        user=application.applicant,
        subject=subject,
        body=format_lazy("{}\n\n{}", body, named) if application.reference else body,
        params={
            "reference": application.reference,
            "procedure": lambda: application.procedure.title,
            "applicant": application.filed_name,
            "principal": application.on_behalf_of_name,
            **(params or {}),
        },
        link=_application_link(application),
    )
