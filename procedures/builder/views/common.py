"""What the builder's pages share: the procedure the admin manages (else 404), its
draft, binding forms to a POST, saving an edit of the definition through
version_update and showing a service's refusal as form errors."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.permissions import Action, actor_may
from core.errors import DomainError, NotFound
from procedures import selectors, services
from procedures.builder import lookup
from procedures.models import Procedure, ProcedureVersion


def form_data(request: HttpRequest):
    """The posted data to bind a form to, or None on GET (an empty POST is still
    a submission: it must be validated, not shown as a fresh form)."""
    return request.POST if request.method == "POST" else None


def form_files(request: HttpRequest):
    return request.FILES if request.method == "POST" else None


def managed_procedure(request: HttpRequest, code: str) -> Procedure:
    try:
        return selectors.managed_procedure(request.user, code)
    except NotFound as error:
        raise Http404 from error


def require_manager_somewhere(request: HttpRequest) -> None:
    if not actor_may(request.user, Action.MANAGE_PROCEDURES):
        raise HttpForbidden


def editor_url(procedure: Procedure, anchor: str = "") -> str:
    url = reverse("procedures:editor", args=[procedure.code])
    return f"{url}#{anchor}" if anchor else url


def draft_or_none(procedure: Procedure) -> ProcedureVersion | None:
    draft, _published = selectors.current_versions(procedure)
    return draft


def no_draft(request: HttpRequest, procedure: Procedure) -> HttpResponse:
    messages.warning(request, _("There is no draft to edit. Start a new draft first."))
    return redirect(editor_url(procedure))


def show_failure(form: Any, failure: DomainError) -> None:
    """A service's refusal as form errors: per input where the details name one,
    otherwise at the top, with every problem's path."""
    details = failure.details
    if isinstance(details, dict) and details:
        for name, problems in details.items():
            target = name if name in form.fields else None
            for problem in problems if isinstance(problems, list) else [problems]:
                form.add_error(target, str(problem))
    elif isinstance(details, list) and details:
        form.add_error(None, str(failure.message))
        for problem in details:
            if isinstance(problem, dict) and "path" in problem:
                form.add_error(None, f"{problem['path']}: {problem['message']}")
    else:
        form.add_error(None, str(failure.message))


def save_definition(
    request: HttpRequest, form: Any, draft: ProcedureVersion, edit, success: str
) -> bool:
    """Apply a builder edit to the draft through version_update. Returns whether it
    was saved; on refusal the reasons are added to `form`."""
    try:
        definition = edit(draft.definition)
        services.version_update(actor=request.user, version=draft, definition=definition)
    except DomainError as failure:
        show_failure(form, failure)
        return False
    messages.success(request, success)
    return True


def specs_by_key(definition: dict) -> dict[str, dict]:
    """Every field by key (sub-fields too), for describing conditions."""
    specs: dict[str, dict] = {}
    for step in lookup.steps_of(definition):
        for spec in step.get("fields", []):
            specs[spec["key"]] = spec
            for sub in spec.get("fields", []):
                specs.setdefault(sub["key"], sub)
    return specs


def render_form(
    request: HttpRequest, template: str, context: dict[str, Any], *, form: Any = None
) -> HttpResponse:
    status = 400 if form is not None and request.method == "POST" and form.errors else 200
    return render(request, f"procedures/builder/{template}", context, status=status)
