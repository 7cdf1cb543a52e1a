"""The step pages: add, edit, move, remove a step of the draft."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import DomainError
from procedures import services
from procedures.builder import edits, lookup
from procedures.builder.forms.common import ConfirmForm, MoveForm
from procedures.builder.forms.steps import StepForm
from procedures.builder.views.common import (
    draft_or_none,
    editor_url,
    form_data,
    managed_procedure,
    no_draft,
    render_form,
    save_definition,
    specs_by_key,
)
from procedures.form_engine import html
from procedures.form_engine.text import localized_text


@login_required
@require_http_methods(["GET", "POST"])
def step_edit_view(request: HttpRequest, code: str, step_key: str | None = None) -> HttpResponse:
    """Add a step (no step_key) or edit one."""
    procedure = managed_procedure(request, code)
    draft = draft_or_none(procedure)
    if draft is None:
        return no_draft(request, procedure)
    current = None
    if step_key is not None:
        current = lookup.find_step(draft.definition, step_key)
        if current is None:
            raise Http404
    form = StepForm(
        form_data(request),
        condition_fields=lookup.step_condition_fields(draft.definition, step_key),
        current=current,
        describe=html.describe_condition(
            (current or {}).get("condition"), specs_by_key(draft.definition)
        ),
    )
    if request.method == "POST" and form.is_valid():
        step = form.to_step()
        if current is None:
            edit = lambda definition: edits.add_step(definition, step)  # noqa: E731
            success = _("The step was added.")
        else:
            edit = lambda definition: edits.update_step(definition, step_key, step)  # noqa: E731
            success = _("The step was saved.")
        if save_definition(request, form, draft, edit, success):
            return redirect(editor_url(procedure, f"step-{step['key']}"))
    return render_form(
        request,
        "step_form.html",
        {"form": form, "procedure": procedure, "step": current},
        form=form,
    )


@login_required
@require_POST
def step_move_view(request: HttpRequest, code: str, step_key: str) -> HttpResponse:
    procedure = managed_procedure(request, code)
    draft = draft_or_none(procedure)
    if draft is None:
        return no_draft(request, procedure)
    form = MoveForm(request.POST)
    if form.is_valid():
        try:
            services.version_update(
                actor=request.user,
                version=draft,
                definition=edits.move_step(
                    draft.definition, step_key, form.cleaned_data["direction"]
                ),
            )
        except DomainError as failure:
            messages.error(request, failure.message)
        else:
            messages.success(request, _("The step was moved."))
    else:
        messages.error(request, _("Move up or down."))
    return redirect(editor_url(procedure, f"step-{step_key}"))


@login_required
@require_http_methods(["GET", "POST"])
def step_remove_view(request: HttpRequest, code: str, step_key: str) -> HttpResponse:
    procedure = managed_procedure(request, code)
    draft = draft_or_none(procedure)
    if draft is None:
        return no_draft(request, procedure)
    step = lookup.find_step(draft.definition, step_key)
    if step is None:
        raise Http404
    form = ConfirmForm(form_data(request))
    if request.method == "POST" and form.is_valid():
        edit = lambda definition: edits.remove_step(definition, step_key)  # noqa: E731
        if save_definition(request, form, draft, edit, _("The step was removed.")):
            return redirect(editor_url(procedure, "steps"))
    title = localized_text(step.get("title"))
    return render_form(
        request,
        "confirm_remove.html",
        {
            "form": form,
            "procedure": procedure,
            "heading": _("Remove the step “%(title)s”?") % {"title": title},
            "explanation": _(
                "The step and its %(count)d field(s) are removed from the draft. The published version does not change."
            )
            % {"count": len(step.get("fields", []))},
            "button": _("Remove the step"),
        },
        form=form,
    )
