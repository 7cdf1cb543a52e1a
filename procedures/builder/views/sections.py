"""The pages of the other sections: fee, workflow (with delivery, contact and
result document) and the JSON editor of the whole definition."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from procedures.builder import edits, lookup
from procedures.builder.forms.fee import FeeForm
from procedures.builder.forms.json_editor import DefinitionJsonForm
from procedures.builder.forms.workflow import WorkflowForm
from procedures.builder.views.common import (
    draft_or_none,
    editor_url,
    form_data,
    managed_procedure,
    no_draft,
    render_form,
    save_definition,
)


def _top_level_fields(definition: dict) -> list[dict]:
    return [spec for step in lookup.steps_of(definition) for spec in step.get("fields", [])]


@login_required
@require_http_methods(["GET", "POST"])
def fee_edit_view(request: HttpRequest, code: str) -> HttpResponse:
    procedure = managed_procedure(request, code)
    draft = draft_or_none(procedure)
    if draft is None:
        return no_draft(request, procedure)
    form = FeeForm(
        form_data(request),
        fee=draft.definition.get("fee", {"kind": "none"}),
        form_fields=_top_level_fields(draft.definition),
    )
    if request.method == "POST" and form.is_valid():
        fee = form.to_fee()
        edit = lambda d: edits.replace_sections(d, {"fee": fee})  # noqa: E731
        if save_definition(request, form, draft, edit, _("The fee was saved.")):
            return redirect(editor_url(procedure, "fee"))
    return render_form(request, "fee_form.html", {"form": form, "procedure": procedure}, form=form)


@login_required
@require_http_methods(["GET", "POST"])
def workflow_edit_view(request: HttpRequest, code: str) -> HttpResponse:
    procedure = managed_procedure(request, code)
    draft = draft_or_none(procedure)
    if draft is None:
        return no_draft(request, procedure)
    form = WorkflowForm(form_data(request), initial=WorkflowForm.initial_from(draft.definition))
    if request.method == "POST" and form.is_valid():
        sections = form.to_sections()
        edit = lambda d: edits.replace_sections(d, sections)  # noqa: E731
        if save_definition(
            request, form, draft, edit, _("The workflow, delivery and contact were saved.")
        ):
            return redirect(editor_url(procedure, "workflow"))
    return render_form(
        request, "workflow_form.html", {"form": form, "procedure": procedure}, form=form
    )


@login_required
@require_http_methods(["GET", "POST"])
def definition_json_view(request: HttpRequest, code: str) -> HttpResponse:
    procedure = managed_procedure(request, code)
    draft = draft_or_none(procedure)
    if draft is None:
        return no_draft(request, procedure)
    form = DefinitionJsonForm(
        form_data(request),
        initial={"definition": json.dumps(draft.definition, ensure_ascii=False, indent=2)},
    )
    if request.method == "POST" and form.is_valid():
        definition = form.cleaned_data["definition"]
        if save_definition(
            request, form, draft, lambda _d: definition, _("The definition was saved.")
        ):
            return redirect(editor_url(procedure))
    return render_form(
        request, "json_form.html", {"form": form, "procedure": procedure, "draft": draft}, form=form
    )
