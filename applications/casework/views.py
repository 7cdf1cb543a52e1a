"""The clerks' pages: the queue (filters, counts, claim next, bulk assign) and the
review page of one application (the case file and its action forms). Each POST
calls one service of applications.casework.services; refusals are shown on the page (an
error summary linked to the field, or a message), never as a server error.

Staff reach these pages only after their second factor (StaffTwoFactorMiddleware);
an application outside the clerk's organizations does not exist for them (404)."""

from __future__ import annotations

from typing import Any

from csp.constants import SELF
from csp.decorators import csp_replace
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST, require_safe

from accounts.permissions import Action, actor_may
from applications.casework import queue, retention, review
from applications.casework.queue import (
    ASSIGNEES,
    SORTS,
    Queue,
    case_for_staff,
    filters_from_query,
    reviewable_procedures,
)
from applications.casework.services import (
    application_assign,
    application_claim_next,
    applications_bulk_assign,
    note_add,
    workflow_act,
)
from applications.downloads import attachment_response, document_response
from applications.models import ApplicationStatus
from core.errors import DomainError, NotFound, ValidationFailed

S = ApplicationStatus
QUEUE_STATES = [(status, label) for status, label in S.choices if status != S.DRAFT]
SORT_LABELS = {
    "due": gettext_lazy("Due date, earliest first"),
    "submitted": gettext_lazy("Submitted, oldest first"),
    "-submitted": gettext_lazy("Submitted, newest first"),
}
ASSIGNEE_LABELS = {
    "anyone": gettext_lazy("All applications"),
    "me": gettext_lazy("Assigned to me"),
    "unassigned": gettext_lazy("Not assigned to anyone"),
}
# The id of the input each filter's error points at (the error summary's links).
FILTER_INPUTS = {
    "procedure": "filter-procedure",
    "status": f"filter-status-{S.SUBMITTED}",
    "assignee": "filter-assignee",
    "overdue": "filter-overdue",
    "due_within": "filter-due-within",
    "submitted_from": "filter-submitted-from",
    "submitted_to": "filter-submitted-to",
    "q": "filter-q",
    "sort": "filter-sort",
}
FILTER_LABELS = {
    "procedure": gettext_lazy("Procedure"),
    "status": gettext_lazy("State"),
    "assignee": gettext_lazy("Assigned to"),
    "due_within": gettext_lazy("Due within (business days)"),
    "submitted_from": gettext_lazy("Submitted between"),
    "submitted_to": gettext_lazy("Submitted between"),
    "q": gettext_lazy("Reference number or applicant's name"),
    "sort": gettext_lazy("Sort by"),
}
FILTER_DEFAULTS = {
    "procedure": "",
    "assignee": "anyone",
    "overdue": False,
    "due_within": "",
    "submitted_from": "",
    "submitted_to": "",
    "q": "",
    "sort": "due",
}
# What the comment box of each action is for.
COMMENT_LABELS = {
    "request_correction": gettext_lazy("Message to the resident"),
    "recommend_rejection": gettext_lazy("Reason for the recommendation"),
    "return_to_review": gettext_lazy("Reason for returning it"),
    "reject": gettext_lazy("Reason for the refusal"),
}
COMMENT_HELP = {
    "request_correction": gettext_lazy(
        "The resident reads this message. Say what to correct and why."
    ),
    "recommend_approval": gettext_lazy("Only staff see this comment."),
    "recommend_rejection": gettext_lazy("Only staff see this reason."),
    "return_to_review": gettext_lazy("Only staff see this reason."),
    "approve": gettext_lazy("The resident sees this comment in the history of the application."),
    "reject": gettext_lazy("Written on the notice of refusal the resident receives."),
}
WARNING_ACTIONS = frozenset({"reject", "recommend_rejection"})


def _require_reviewer(request: HttpRequest) -> None:
    if not actor_may(request.user, Action.REVIEW_APPLICATIONS):
        raise HttpForbidden


def _case(request: HttpRequest, pk: Any):
    try:
        return case_for_staff(request.user, pk)
    except NotFound as error:
        raise Http404 from error


def _query(params: QueryDict, **changes: Any) -> str:
    """The query string with some parameters replaced (a list), or dropped (None)."""
    query = params.copy()
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        elif isinstance(value, list):
            query.setlist(key, value)
        else:
            query[key] = value
    return query.urlencode()


def _queue_url(query: str = "") -> str:
    """The queue with a query string (re-encoded: it came back from a form)."""
    url = reverse("casework:queue")
    query = QueryDict(query).urlencode() if query else ""
    return f"{url}?{query}" if query else url


def _problems(failure: DomainError) -> list[tuple[str, str]]:
    """(field, message) pairs of a refusal; the field is "" for the whole request."""
    details = failure.details
    # Only a validation failure's details name fields; a conflict's are for machines.
    if isinstance(failure, ValidationFailed) and isinstance(details, dict) and details:
        return [
            (str(name), str(problem))
            for name, problems in details.items()
            for problem in (problems if isinstance(problems, list) else [problems])
        ]
    return [("", str(failure.message))]


def _message_failure(request: HttpRequest, failure: DomainError) -> None:
    for _field, problem in _problems(failure):
        messages.error(request, problem)


# --- The queue ------------------------------------------------------------------------------


@login_required
@require_safe
def queue_view(request: HttpRequest) -> HttpResponse:
    _require_reviewer(request)
    actor = request.user
    params = request.GET
    errors: dict[str, list[str]] = {}
    counts: dict[str, int] = {}
    page = None
    reviewed = None
    try:
        reviewed = Queue(actor, filters_from_query(params))
        page, counts = reviewed.page_and_counts(params.get("cursor", ""), queue.PAGE_SIZE)
    except ValidationFailed as failure:
        for name, problem in _problems(failure):
            errors.setdefault(name or "cursor", []).append(problem)
        if reviewed is not None:
            # The filters were fine, only the cursor was not: the counts still show.
            counts = reviewed.counts()
    chosen_states = params.getlist("status")
    may_assign = review.may_assign_somewhere(actor)
    error_links = [
        {
            "text": f"{FILTER_LABELS[name]}: {problem}" if name in FILTER_LABELS else problem,
            "anchor": FILTER_INPUTS.get(name, ""),
        }
        for name, problems in errors.items()
        for problem in problems
    ]
    values = {
        "procedure": params.get("procedure", ""),
        "assignee": params.get("assignee", "anyone") or "anyone",
        "overdue": params.get("overdue") in ("1", "true", "on", "yes"),
        "due_within": params.get("due_within", ""),
        "submitted_from": params.get("submitted_from", ""),
        "submitted_to": params.get("submitted_to", ""),
        "q": params.get("q", ""),
        "sort": params.get("sort", "due") or "due",
    }
    context = {
        "values": values,
        # The filter form stays folded away until a filter differs from the default.
        "filtered": bool(chosen_states)
        or any(values[name] != default for name, default in FILTER_DEFAULTS.items()),
        "field_errors": errors,
        "error_links": error_links,
        "bad_cursor": "cursor" in errors,
        "first_page_url": _queue_url(_query(params, cursor=None)),
        # Looked up once with the queue (its rows name their procedure from this list).
        "procedures": reviewed.procedures if reviewed is not None else reviewable_procedures(actor),
        "states": [
            {
                "value": status,
                "label": label,
                "checked": status in chosen_states,
                "count": counts.get(status, 0),
                "url": _queue_url(_query(params, status=[status], cursor=None)),
            }
            for status, label in QUEUE_STATES
        ],
        "has_counts": bool(counts),
        "assignees": [(value, ASSIGNEE_LABELS[value]) for value in ASSIGNEES],
        "sorts": [(value, SORT_LABELS[value]) for value in SORTS],
        "rows": page.items if page else [],
        "next_url": _queue_url(_query(params, cursor=page.next_cursor))
        if page and page.next_cursor
        else "",
        "is_later_page": bool(params.get("cursor")),
        "query": _query(params, cursor=None),
        "may_assign": may_assign,
        "reviewers": list(review.reviewers_for_supervisor(actor)) if may_assign else [],
    }
    return render(request, "casework/queue.html", context, status=400 if errors else 200)


@login_required
@require_POST
def claim_next_view(request: HttpRequest) -> HttpResponse:
    """Take the most urgent waiting application (of one procedure, if chosen)."""
    _require_reviewer(request)
    try:
        application = application_claim_next(
            actor=request.user, procedure_code=request.POST.get("procedure", "").strip()
        )
    except DomainError as failure:
        _message_failure(request, failure)
        return redirect(_queue_url(request.POST.get("query", "")))
    if application is None:
        messages.info(request, _("No application is waiting to be claimed."))
        return redirect(_queue_url(request.POST.get("query", "")))
    messages.success(
        request,
        _("You claimed %(reference)s. The review has started.")
        % {"reference": application.reference},
    )
    return redirect("casework:case", pk=application.pk)


@login_required
@require_POST
def bulk_assign_view(request: HttpRequest) -> HttpResponse:
    """A supervisor gives the chosen applications to one reviewer, or to nobody."""
    _require_reviewer(request)
    if not review.may_assign_somewhere(request.user):
        raise HttpForbidden
    back = redirect(_queue_url(request.POST.get("query", "")))
    ids = request.POST.getlist("applications")
    if not ids:
        messages.error(request, _("Choose at least one application to assign."))
        return back
    choice = request.POST.get("assignee", "")
    if not choice:
        messages.error(request, _("Choose who gets the applications, or nobody to unassign them."))
        return back
    try:
        assignee = review.assignee_from(None if choice == "none" else choice)
        applications = review.staff_applications_by_ids(request.user, ids)
        applications_bulk_assign(actor=request.user, applications=applications, assignee=assignee)
    except DomainError as failure:
        _message_failure(request, failure)
        return back
    if assignee is None:
        messages.success(
            request,
            _("%(count)d application(s) are now unassigned.") % {"count": len(applications)},
        )
    else:
        messages.success(
            request,
            _("%(count)d application(s) assigned to %(name)s.")
            % {"count": len(applications), "name": assignee.display_name},
        )
    return back


# --- The review page ----------------------------------------------------------------------


def _action_forms(
    case: review.CaseFile, failed: str, problems: list[tuple[str, str]], posted: QueryDict | None
) -> list[dict]:
    forms = []
    for transition in case.actions:
        action = transition.action
        mine = action == failed
        checked = set(posted.getlist("fields")) if mine and posted else set()
        forms.append(
            {
                "action": action,
                "label": transition.label,
                "comment": action != "claim",
                "comment_required": transition.comment_required,
                "comment_label": COMMENT_LABELS.get(action, gettext_lazy("Comment (optional)")),
                "comment_help": COMMENT_HELP.get(action, ""),
                "comment_value": posted.get("comment", "") if mine and posted else "",
                "comment_errors": [text for name, text in problems if mine and name == "comment"],
                "fields_errors": [text for name, text in problems if mine and name == "fields"],
                "fields": [
                    {**item, "checked": item["key"] in checked} for item in case.correctable_fields
                ]
                if action == "request_correction"
                else [],
                "warning": action in WARNING_ACTIONS,
            }
        )
    return forms


def _error_anchor(case: review.CaseFile, form: str, name: str) -> str:
    if form.startswith("action:"):
        action = form.removeprefix("action:")
        if not any(item.action == action for item in case.actions):
            return "actions"
        if name == "comment":
            return f"comment-{action}"
        if name == "fields" and case.correctable_fields:
            return f"fields-{action}-{case.correctable_fields[0]['key']}"
        return f"action-{action}"
    if form.startswith("release:"):
        return f"release-reason-{form.removeprefix('release:')}"
    if form == "hold":
        # A purged case offers no form to place a hold: the error points at the section.
        return "legal-hold" if case.application.purged_at else "hold-reason"
    return {"note": "note-text", "assign": "assign-assignee"}.get(form, "")


def _render_case(
    request: HttpRequest,
    application,
    *,
    form: str = "",
    failure: DomainError | None = None,
    posted: QueryDict | None = None,
) -> HttpResponse:
    case = review.case_file(request.user, application)
    problems = _problems(failure) if failure else []
    failed_action = form.removeprefix("action:") if form.startswith("action:") else ""
    context = {
        "case": case,
        "application": case.application,
        "action_forms": _action_forms(case, failed_action, problems, posted),
        "error_links": [
            {"text": text, "anchor": _error_anchor(case, form, name)} for name, text in problems
        ],
        "note_errors": [text for _name, text in problems if form == "note"],
        "note_value": posted.get("text", "") if form == "note" and posted else "",
        "assign_errors": [text for _name, text in problems if form == "assign"],
        # The legal hold section, for who may place holds on the case (None: none).
        "holds": retention.case_holds(request.user, case.application),
        "hold_errors": [text for _name, text in problems if form == "hold"],
        "hold_value": posted.get("reason", "") if form == "hold" and posted else "",
        "release_form": int(form.removeprefix("release:")) if form.startswith("release:") else None,
        "release_errors": [text for _name, text in problems if form.startswith("release:")],
        "release_value": posted.get("reason", "") if form.startswith("release:") and posted else "",
    }
    status = failure.http_status if failure else 200
    return render(request, "casework/case.html", context, status=status)


@login_required
@require_safe
def case_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_case(request, _case(request, pk))


@login_required
@require_POST
def act_view(request: HttpRequest, pk: int) -> HttpResponse:
    application = _case(request, pk)
    action = request.POST.get("action", "")
    try:
        done = workflow_act(
            actor=request.user,
            application=application,
            action=action,
            comment=request.POST.get("comment", ""),
            fields=request.POST.getlist("fields"),
        )
    except NotFound as error:
        raise Http404 from error
    except DomainError as failure:
        return _render_case(
            request,
            _case(request, pk),
            form=f"action:{action}",
            failure=failure,
            posted=request.POST,
        )
    messages.success(
        request,
        _("“%(action)s” is done. The application is now “%(status)s”.")
        % {"action": review.action_label(action), "status": done.get_status_display()},
    )
    return redirect("casework:case", pk=application.pk)


@login_required
@require_POST
def note_view(request: HttpRequest, pk: int) -> HttpResponse:
    application = _case(request, pk)
    try:
        note_add(actor=request.user, application=application, text=request.POST.get("text", ""))
    except NotFound as error:
        raise Http404 from error
    except DomainError as failure:
        return _render_case(request, application, form="note", failure=failure, posted=request.POST)
    messages.success(request, _("Your note was added. Only staff can read it."))
    return redirect(reverse("casework:case", args=[application.pk]) + "#notes")


@login_required
@require_POST
def assign_view(request: HttpRequest, pk: int) -> HttpResponse:
    application = _case(request, pk)
    choice = request.POST.get("assignee", "")
    try:
        assignee = review.assignee_from(None if choice in ("", "none") else choice)
        application_assign(actor=request.user, application=application, assignee=assignee)
    except NotFound as error:
        raise Http404 from error
    except DomainError as failure:
        return _render_case(
            request, _case(request, pk), form="assign", failure=failure, posted=request.POST
        )
    if assignee is None:
        messages.success(request, _("The application is now unassigned."))
    else:
        messages.success(
            request, _("The application is assigned to %(name)s.") % {"name": assignee.display_name}
        )
    return redirect("casework:case", pk=application.pk)


# --- Files --------------------------------------------------------------------------------


# The review page previews PDFs in a frame: this response (and only this one) may be
# framed, by our own pages only. The page's own CSP already allows 'self' frames.
@login_required
@require_safe
@xframe_options_sameorigin
@csp_replace({"frame-ancestors": [SELF]})
def attachment_view(request: HttpRequest, pk: int, public_id: str) -> HttpResponse:
    """A resident's file, for staff of the owning organization: a download, or with
    ?inline=1 shown in place when it is an image or a PDF."""
    application = _case(request, pk)
    attachment = application.attachments.filter(public_id=public_id).first()
    if attachment is None:
        raise Http404
    inline = request.GET.get("inline") == "1" and review.previewable(attachment)
    return attachment_response(attachment, inline=inline)


@login_required
@require_safe
def document_view(request: HttpRequest, pk: int, document_id: int) -> HttpResponse:
    application = _case(request, pk)
    document = application.documents.filter(pk=document_id).first()
    if document is None:
        raise Http404
    return document_response(application, document)
