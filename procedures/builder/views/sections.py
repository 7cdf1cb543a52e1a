"""The pages of the other sections: fee, workflow (with delivery, contact and
result document) and the JSON editor of the whole definition."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.errors import DomainError
from procedures import services
from procedures.builder import edits, lookup
from procedures.builder.forms.fee import (
    KIND_SETTINGS,
    RULE,
    WAIVER,
    FeeForm,
    FeeJsonForm,
    carried,
    kinds_taking,
)
from procedures.builder.forms.json_editor import DefinitionJsonForm
from procedures.builder.forms.workflow import WorkflowForm
from procedures.builder.previews import fee_example
from procedures.builder.views.common import (
    draft_or_none,
    editor_url,
    form_data,
    managed_procedure,
    no_draft,
    render_form,
    save_definition,
)
from procedures.models import ProcedureVersion


def top_level_fields(definition: dict) -> list[dict]:
    return [spec for step in lookup.steps_of(definition) for spec in step.get("fields", [])]


def fee_action(post: Any) -> tuple[str, int]:
    """Which button sent the fee form: save (also Enter), save_json, recompute,
    add_rule / add_waiver, or remove_rule / remove_waiver with the row's index."""
    for action in ("remove_rule", "remove_waiver"):
        if action in post:
            try:
                return action, int(post[action])
            except ValueError:
                return "recompute", 0
    for action in ("add_rule", "add_waiver", "recompute", "save_json"):
        if action in post:
            return action, 0
    return "save", 0


def fee_example_of(form: FeeForm, version: ProcedureVersion, posted: Any) -> Any:
    """The example of the form's fee as it stands (unbound: the saved fee): its
    amount when the inputs make a fee without problems, else the problems in
    the way."""
    fee, problems = None, []
    if not form.is_bound or form.is_valid():
        fee = form.to_fee() if form.is_bound else version.definition.get("fee", {"kind": "none"})
        try:
            problems = [
                problem.message
                for problem in services.version_fee_problems(version=version, fee=fee)
            ]
        except DomainError as failure:
            problems = [str(failure.message)]
    else:
        problems = [str(error) for errors in form.errors.values() for error in errors]
    return fee_example(
        fee, fields=form.form_fields, posted=posted, keys=form.example_keys(), problems=problems
    )


@login_required
@require_http_methods(["GET", "POST"])
def fee_edit_view(request: HttpRequest, code: str) -> HttpResponse:
    """The fee's inputs; their buttons add and remove rules and waivers, or
    recompute the example, without saving (nothing typed is lost)."""
    procedure = managed_procedure(request, code)
    draft = draft_or_none(procedure)
    if draft is None:
        return no_draft(request, procedure)
    fee = draft.definition.get("fee", {"kind": "none"})
    fields = top_level_fields(draft.definition)
    action, index = fee_action(request.POST) if request.method == "POST" else ("", 0)
    shown_json = FeeJsonForm(initial={"fee_json": json.dumps(fee, ensure_ascii=False, indent=2)})
    checked = None  # the form whose errors decide the status
    if action in ("add_rule", "add_waiver", "remove_rule", "remove_waiver", "save_json"):
        row = RULE if action.endswith("rule") else WAIVER
        form = carried(
            request.POST,
            fee=fee,
            form_fields=fields,
            add=row if action.startswith("add") else "",
            remove=(row, index) if action.startswith("remove") else None,
        )
    else:
        form = FeeForm(form_data(request), fee=fee, form_fields=fields)
    if action == "save_json":
        checked = shown_json = FeeJsonForm(request.POST)
        if shown_json.is_valid():
            try:
                services.version_fee_update(
                    actor=request.user, version=draft, fee=shown_json.cleaned_data["fee_json"]
                )
            except DomainError as failure:
                _show_fee_failure(shown_json, failure)
            else:
                messages.success(request, _("The fee was saved."))
                return redirect(editor_url(procedure, "fee"))
    elif action in ("save", "recompute"):
        checked = form
        if form.is_valid():
            try:
                if action == "save":
                    services.version_fee_update(
                        actor=request.user, version=draft, fee=form.to_fee()
                    )
                else:
                    _check_fee(form, draft)
            except DomainError as failure:
                _show_fee_failure(form, failure)
            else:
                if action == "save":
                    messages.success(request, _("The fee was saved."))
                    return redirect(editor_url(procedure, "fee"))
    if form.is_bound and form.is_valid():
        shown_json = FeeJsonForm(
            initial={"fee_json": json.dumps(form.to_fee(), ensure_ascii=False, indent=2)}
        )
    context = {
        "form": form,
        "json_form": shown_json,
        "procedure": procedure,
        # After a button that does not check the inputs, the example is still
        # that of the inputs as sent.
        "example": fee_example_of(
            form
            if checked is form or not form_data(request)
            else FeeForm(request.POST, fee=fee, form_fields=fields),
            draft,
            request.POST,
        ),
        "example_url": reverse("procedures:fee_example", args=[procedure.code]),
        "kinds": {name: kinds_taking(name) for name in set().union(*KIND_SETTINGS.values())},
    }
    return render_form(request, "fee_form.html", context, form=checked)


def _check_fee(form: FeeForm, draft: ProcedureVersion) -> None:
    problems = services.version_fee_problems(version=draft, fee=form.to_fee())
    form.add_problems([problem.as_dict() for problem in problems])


def _show_fee_failure(form: Any, failure: DomainError) -> None:
    if isinstance(failure.details, list):
        form.add_problems([item for item in failure.details if isinstance(item, dict)])
    else:
        form.add_error(None, str(failure.message))


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
