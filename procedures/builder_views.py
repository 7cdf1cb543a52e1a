"""The procedure builder: department admins create procedures, edit the draft's
steps, fields, fee and workflow, check it against the five-less policy, preview
it exactly as residents see it, and publish it.

Thin views: each POST validates a form and calls one service; every edit of the
definition is services.version_update(definition=builder.<op>(...)). Whoever may
not manage a procedure gets "not found", as the selectors decide.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.permissions import Action, actor_may
from core.errors import DomainError, NotFound
from procedures import builder, selectors, services
from procedures.builder_forms import (
    APPROVALS,
    CONTACT_CHANNELS,
    DELIVERY_METHODS,
    FEE_KINDS,
    FIELD_TYPE_LABELS,
    IDENTITY_CHECKS,
    PAYMENT_METHODS,
    RESULT_KINDS,
    ConfirmForm,
    DefinitionJsonForm,
    ExemptionForm,
    FeeForm,
    FieldForm,
    FieldTypeForm,
    ImportForm,
    MoveForm,
    ProcedureForm,
    PublishForm,
    StepForm,
    WorkflowForm,
)
from procedures.form_engine import engine, html
from procedures.form_engine.text import localized_text
from procedures.models import Procedure, ProcedureVersion, VersionState
from procedures.policy import EXEMPT, FAIL, PASS

STATUS_TEXT = {
    PASS: gettext_lazy("Pass"),
    FAIL: gettext_lazy("Fail"),
    EXEMPT: gettext_lazy("Exempt"),
}
PREVIEW_SESSION_KEY = "builder_preview"
CHECK_ANSWERS = "check-answers"


# --- Helpers ----------------------------------------------------------------------------


def _data(request: HttpRequest):
    """The posted data to bind a form to, or None on GET (an empty POST is still
    a submission: it must be validated, not shown as a fresh form)."""
    return request.POST if request.method == "POST" else None


def _files(request: HttpRequest):
    return request.FILES if request.method == "POST" else None


def _managed(request: HttpRequest, code: str) -> Procedure:
    try:
        return selectors.managed_procedure(request.user, code)
    except NotFound as error:
        raise Http404 from error


def _require_manager_somewhere(request: HttpRequest) -> None:
    if not actor_may(request.user, Action.MANAGE_PROCEDURES):
        raise HttpForbidden


def _editor_url(procedure: Procedure, anchor: str = "") -> str:
    url = reverse("procedures:editor", args=[procedure.code])
    return f"{url}#{anchor}" if anchor else url


def _draft_or_none(procedure: Procedure) -> ProcedureVersion | None:
    draft, _published = selectors.current_versions(procedure)
    return draft


def _no_draft(request: HttpRequest, procedure: Procedure) -> HttpResponse:
    messages.warning(request, _("There is no draft to edit. Start a new draft first."))
    return redirect(_editor_url(procedure))


def _revision(version: ProcedureVersion) -> str:
    """A short digest of a version's definition: what the admin reviewed."""
    canonical = json.dumps(version.definition, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _show_failure(form: Any, failure: DomainError) -> None:
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


def _save_definition(
    request: HttpRequest, form: Any, draft: ProcedureVersion, edit, success: str
) -> bool:
    """Apply a builder edit to the draft through version_update. Returns whether it
    was saved; on refusal the reasons are added to `form`."""
    try:
        definition = edit(draft.definition)
        services.version_update(actor=request.user, version=draft, definition=definition)
    except DomainError as failure:
        _show_failure(form, failure)
        return False
    messages.success(request, success)
    return True


def _specs(definition: dict) -> dict[str, dict]:
    """Every field by key (sub-fields too), for describing conditions."""
    specs: dict[str, dict] = {}
    for step in builder.steps_of(definition):
        for spec in step.get("fields", []):
            specs[spec["key"]] = spec
            for sub in spec.get("fields", []):
                specs.setdefault(sub["key"], sub)
    return specs


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], *, form: Any = None
) -> HttpResponse:
    status = 400 if form is not None and request.method == "POST" and form.errors else 200
    return render(request, f"procedures/builder/{template}", context, status=status)


# --- Where a problem is -----------------------------------------------------------------


def _locate(procedure: Procedure, definition: dict, path: str) -> dict[str, str]:
    """A definition path ("form.steps.0.fields.2.label.ja") in words, with a link
    to the page that edits it."""
    parts = path.split(".")
    if parts and parts[0] == "version":
        parts = parts[1:]
    code = procedure.code
    if parts[:2] == ["form", "steps"] and len(parts) > 2 and parts[2].isdigit():
        steps = builder.steps_of(definition)
        index = int(parts[2])
        if index >= len(steps):
            return {"text": "", "url": ""}
        step = steps[index]
        text = _("Step “%(title)s”") % {"title": localized_text(step.get("title"))}
        url = reverse("procedures:step_edit", args=[code, step["key"]])
        if len(parts) > 4 and parts[3] == "fields" and parts[4].isdigit():
            fields = step.get("fields", [])
            field_index = int(parts[4])
            if field_index < len(fields):
                spec = fields[field_index]
                text += " › " + _("field “%(label)s”") % {
                    "label": localized_text(spec.get("label")) or spec["key"]
                }
                url = reverse("procedures:field_edit", args=[code, spec["key"]])
                if len(parts) > 6 and parts[5] == "fields" and parts[6].isdigit():
                    subs = spec.get("fields", [])
                    sub_index = int(parts[6])
                    if sub_index < len(subs):
                        sub = subs[sub_index]
                        text += " › " + _("field “%(label)s”") % {
                            "label": localized_text(sub.get("label")) or sub["key"]
                        }
                        url = reverse(
                            "procedures:subfield_edit", args=[code, spec["key"], sub["key"]]
                        )
        return {"text": text, "url": url}
    section_pages = {
        "fee": ("procedures:fee_edit", builder.SECTION_LABELS["fee"]),
        "workflow": ("procedures:workflow_edit", builder.SECTION_LABELS["workflow"]),
        "delivery": ("procedures:workflow_edit", builder.SECTION_LABELS["delivery"]),
        "contact": ("procedures:workflow_edit", builder.SECTION_LABELS["contact"]),
        "result_document": (
            "procedures:workflow_edit",
            builder.SECTION_LABELS["result_document"],
        ),
    }
    if parts and parts[0] in section_pages:
        name, label = section_pages[parts[0]]
        return {"text": str(label), "url": reverse(name, args=[code])}
    return {"text": "", "url": ""}


def _policy_context(procedure: Procedure, version: ProcedureVersion) -> dict[str, Any]:
    report = services.version_policy(version)
    principles = []
    for result in report.results.values():
        principles.append(
            {
                "key": result.principle,
                "label": result.label,
                "status": result.status,
                "status_text": STATUS_TEXT[result.status],
                "exemption": result.exemption,
                "findings": [
                    {
                        "message": finding.message,
                        "path": finding.path,
                        "fix": finding.fix,
                        "where": _locate(procedure, version.definition, finding.path),
                    }
                    for finding in result.findings
                ],
            }
        )
    problems = [
        {
            "path": problem.path,
            "message": problem.message,
            "where": _locate(procedure, version.definition, problem.path),
        }
        for problem in services.version_problems_of(version)
    ]
    return {
        "report": report,
        "principles": principles,
        "failing": [str(result.label) for result in report.failing],
        "problems": problems,
        "publishable": report.publishable and not problems,
    }


# --- List, create, import ------------------------------------------------------------------


@login_required
@require_safe
def procedure_list_view(request: HttpRequest) -> HttpResponse:
    _require_manager_somewhere(request)
    procedures = (
        selectors.managed_procedures(request.user)
        .prefetch_related(
            Prefetch(
                "versions",
                queryset=ProcedureVersion.objects.filter(
                    state__in=[VersionState.DRAFT, VersionState.PUBLISHED]
                ),
                to_attr="current_versions",
            )
        )
        .order_by("code")
    )
    rows = []
    for procedure in procedures:
        versions = {version.state: version for version in procedure.current_versions}
        rows.append(
            {
                "procedure": procedure,
                "draft": versions.get(VersionState.DRAFT),
                "published": versions.get(VersionState.PUBLISHED),
            }
        )
    return render(request, "procedures/builder/list.html", {"rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def procedure_create_view(request: HttpRequest) -> HttpResponse:
    _require_manager_somewhere(request)
    form = ProcedureForm(_data(request), actor=request.user, creating=True)
    if request.method == "POST" and form.is_valid():
        try:
            procedure = services.procedure_create(
                actor=request.user,
                organization=form.cleaned_data["organization"],
                code=form.cleaned_data["code"],
                **form.procedure_fields(),
            )
        except DomainError as failure:
            if failure.code == "code_taken":
                form.add_error("code", str(failure.message))
            else:
                _show_failure(form, failure)
        else:
            messages.success(request, _("The procedure was created with a first draft."))
            return redirect(_editor_url(procedure))
    return _render(request, "procedure_form.html", {"form": form, "creating": True}, form=form)


@login_required
@require_http_methods(["GET", "POST"])
def procedure_import_view(request: HttpRequest) -> HttpResponse:
    _require_manager_somewhere(request)
    form = ImportForm(_data(request), _files(request), actor=request.user)
    problems: list[dict] = []
    if request.method == "POST" and form.is_valid():
        try:
            version = services.procedure_import(
                actor=request.user,
                document=form.cleaned_data["file"],
                organization=form.cleaned_data["organization"],
            )
        except services.DefinitionInvalid as failure:
            problems = list(failure.details or [])
            form.add_error(None, str(failure.message))
        except DomainError as failure:
            _show_failure(form, failure)
        else:
            messages.success(
                request,
                _("The procedure was imported as draft version %(number)d.")
                % {"number": version.number},
            )
            return redirect(_editor_url(version.procedure))
    return _render(request, "import.html", {"form": form, "problems": problems}, form=form)


# --- The editor -----------------------------------------------------------------------------


def _field_rows(
    procedure: Procedure, fields: list[dict], specs: dict, group: str | None = None
) -> list[dict]:
    rows = []
    for index, spec in enumerate(fields):
        if group is None:
            edit = reverse("procedures:field_edit", args=[procedure.code, spec["key"]])
            move = reverse("procedures:field_move", args=[procedure.code, spec["key"]])
            remove = reverse("procedures:field_remove", args=[procedure.code, spec["key"]])
        else:
            args = [procedure.code, group, spec["key"]]
            edit = reverse("procedures:subfield_edit", args=args)
            move = reverse("procedures:subfield_move", args=args)
            remove = reverse("procedures:subfield_remove", args=args)
        rows.append(
            {
                "spec": spec,
                "key": spec["key"],
                "label": localized_text(spec.get("label")),
                "type": FIELD_TYPE_LABELS.get(spec["type"], spec["type"]),
                "required": bool(spec.get("required")),
                "condition": html.describe_condition(spec.get("condition"), specs),
                "required_if": html.describe_condition(spec.get("required_if"), specs),
                "first": index == 0,
                "last": index == len(fields) - 1,
                "edit_url": edit,
                "move_url": move,
                "remove_url": remove,
                "sub_fields": _field_rows(procedure, spec.get("fields", []), specs, spec["key"])
                if spec["type"] == "group"
                else [],
                "add_sub_url": reverse(
                    "procedures:subfield_add", args=[procedure.code, spec["key"]]
                )
                if spec["type"] == "group"
                else "",
            }
        )
    return rows


def _step_rows(procedure: Procedure, definition: dict) -> list[dict]:
    specs = _specs(definition)
    steps = builder.steps_of(definition)
    return [
        {
            "key": step["key"],
            "title": localized_text(step.get("title")),
            "description": localized_text(step.get("description")),
            "condition": html.describe_condition(step.get("condition"), specs),
            "first": index == 0,
            "last": index == len(steps) - 1,
            "only": len(steps) == 1,
            "fields": _field_rows(procedure, step.get("fields", []), specs),
        }
        for index, step in enumerate(steps)
    ]


def _labels(values: list[str], choices: list[tuple[str, Any]]) -> list[str]:
    names = dict(choices)
    return [str(names.get(value, value)) for value in values]


def _sections_summary(definition: dict) -> dict[str, Any]:
    fee = definition.get("fee", {"kind": "none"})
    workflow = definition.get("workflow", {})
    contact = definition.get("contact", {})
    document = definition.get("result_document", {})
    specs = _specs(definition)
    return {
        "fee_kind": dict(FEE_KINDS).get(fee.get("kind"), fee.get("kind")),
        "fee": fee,
        "fee_methods": _labels(fee.get("methods", []), PAYMENT_METHODS),
        "fee_waivers": [
            {
                "label": localized_text(waiver.get("label")),
                "condition": html.describe_condition(waiver.get("condition"), specs),
            }
            for waiver in fee.get("waivers", [])
        ],
        "approval": dict(APPROVALS).get(workflow.get("approval"), workflow.get("approval")),
        "identity_check": dict(IDENTITY_CHECKS).get(
            workflow.get("identity_check", "online"), workflow.get("identity_check")
        ),
        "counter_visit_required": bool(workflow.get("counter_visit_required")),
        "delivery": _labels(definition.get("delivery", {}).get("methods", []), DELIVERY_METHODS),
        "contact_channels": _labels(contact.get("channels", []), CONTACT_CHANNELS),
        "contact_note": localized_text(contact.get("note")),
        "result_kind": dict(RESULT_KINDS).get(document.get("kind", ""), ""),
        "result_title": localized_text(document.get("title")),
    }


@login_required
@require_safe
def editor_view(request: HttpRequest, code: str) -> HttpResponse:
    procedure = _managed(request, code)
    draft, published = selectors.current_versions(procedure)
    version = draft or published
    context: dict[str, Any] = {
        "procedure": procedure,
        "draft": draft,
        "published": published,
        "version": version,
        "exemptions": procedure.exemptions.select_related("requested_by").order_by(
            "principle", "-created_at"
        ),
        "start_form": ConfirmForm(),
        "move_form": MoveForm(),
    }
    if version is not None:
        context.update(_policy_context(procedure, version))
        context["steps"] = _step_rows(procedure, version.definition)
        context["sections"] = _sections_summary(version.definition)
    if draft is not None and published is not None:
        context["diff"] = builder.definition_diff(published.definition, draft.definition)
    return render(request, "procedures/builder/editor.html", context)


@login_required
@require_POST
def draft_start_view(request: HttpRequest, code: str) -> HttpResponse:
    procedure = _managed(request, code)
    form = ConfirmForm(request.POST)
    if form.is_valid():
        try:
            draft = services.procedure_draft(actor=request.user, procedure=procedure)
        except DomainError as failure:
            messages.error(request, failure.message)
        else:
            messages.success(
                request, _("Draft version %(number)d is ready to edit.") % {"number": draft.number}
            )
    return redirect(_editor_url(procedure))


@login_required
@require_http_methods(["GET", "POST"])
def procedure_edit_view(request: HttpRequest, code: str) -> HttpResponse:
    procedure = _managed(request, code)
    form = ProcedureForm(
        _data(request),
        actor=request.user,
        creating=False,
        initial=ProcedureForm.initial_from(procedure),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.procedure_update(
                actor=request.user, procedure=procedure, **form.procedure_fields()
            )
        except DomainError as failure:
            _show_failure(form, failure)
        else:
            messages.success(request, _("The procedure details were saved."))
            return redirect(_editor_url(procedure, "details"))
    return _render(
        request,
        "procedure_form.html",
        {"form": form, "creating": False, "procedure": procedure},
        form=form,
    )


# --- Steps -------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def step_edit_view(request: HttpRequest, code: str, step_key: str | None = None) -> HttpResponse:
    """Add a step (no step_key) or edit one."""
    procedure = _managed(request, code)
    draft = _draft_or_none(procedure)
    if draft is None:
        return _no_draft(request, procedure)
    current = None
    if step_key is not None:
        current = builder.find_step(draft.definition, step_key)
        if current is None:
            raise Http404
    form = StepForm(
        _data(request),
        condition_fields=builder.step_condition_fields(draft.definition, step_key),
        current=current,
        describe=html.describe_condition(
            (current or {}).get("condition"), _specs(draft.definition)
        ),
    )
    if request.method == "POST" and form.is_valid():
        step = form.to_step()
        if current is None:
            edit = lambda definition: builder.add_step(definition, step)  # noqa: E731
            success = _("The step was added.")
        else:
            edit = lambda definition: builder.update_step(definition, step_key, step)  # noqa: E731
            success = _("The step was saved.")
        if _save_definition(request, form, draft, edit, success):
            return redirect(_editor_url(procedure, f"step-{step['key']}"))
    return _render(
        request,
        "step_form.html",
        {"form": form, "procedure": procedure, "step": current},
        form=form,
    )


@login_required
@require_POST
def step_move_view(request: HttpRequest, code: str, step_key: str) -> HttpResponse:
    procedure = _managed(request, code)
    draft = _draft_or_none(procedure)
    if draft is None:
        return _no_draft(request, procedure)
    form = MoveForm(request.POST)
    if form.is_valid():
        try:
            services.version_update(
                actor=request.user,
                version=draft,
                definition=builder.move_step(
                    draft.definition, step_key, form.cleaned_data["direction"]
                ),
            )
        except DomainError as failure:
            messages.error(request, failure.message)
        else:
            messages.success(request, _("The step was moved."))
    else:
        messages.error(request, _("Move up or down."))
    return redirect(_editor_url(procedure, f"step-{step_key}"))


@login_required
@require_http_methods(["GET", "POST"])
def step_remove_view(request: HttpRequest, code: str, step_key: str) -> HttpResponse:
    procedure = _managed(request, code)
    draft = _draft_or_none(procedure)
    if draft is None:
        return _no_draft(request, procedure)
    step = builder.find_step(draft.definition, step_key)
    if step is None:
        raise Http404
    form = ConfirmForm(_data(request))
    if request.method == "POST" and form.is_valid():
        edit = lambda definition: builder.remove_step(definition, step_key)  # noqa: E731
        if _save_definition(request, form, draft, edit, _("The step was removed.")):
            return redirect(_editor_url(procedure, "steps"))
    title = localized_text(step.get("title"))
    return _render(
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


# --- Fields --------------------------------------------------------------------------------


def _field_context(draft: ProcedureVersion, field_key: str, group: str | None):
    """(step key, current spec) of an existing field, else 404."""
    if group is not None:
        step = builder.step_of_field(draft.definition, group)
        group_spec = builder.find_field(draft.definition, group)
        if step is None or group_spec is None or group_spec.get("type") != "group":
            raise Http404
        spec = builder.find_field(draft.definition, field_key, group=group)
    else:
        step = builder.step_of_field(draft.definition, field_key)
        spec = builder.find_field(draft.definition, field_key)
    if step is None or spec is None:
        raise Http404
    return step["key"], spec


def _settings_sections(form: FieldForm) -> list[dict[str, Any]]:
    """The type-specific settings, each in a disclosure opened for the chosen type
    (or when it holds an error)."""
    kind = form["type"].value()
    groups = [
        (
            _("Text settings"),
            ("text", "textarea"),
            ["min_length", "max_length", "pattern", "pattern_message_ja", "pattern_message_en"],
        ),
        (_("Number settings"), ("integer", "decimal"), ["min", "max", "decimal_places"]),
        (_("Date settings"), ("date",), ["min_date", "max_date"]),
        (_("Options"), ("choice", "multi_choice"), ["choices", "min_choices", "max_choices"]),
        (
            _("File settings"),
            ("file",),
            ["accept", "max_size_mb", "max_files", "paper_original_required"],
        ),
        (_("Repeating group settings"), ("group",), ["min_items", "max_items"]),
    ]
    sections = []
    for title, types, names in groups:
        if form.in_group and "group" in types:
            continue
        bound = [form[name] for name in names]
        sections.append(
            {
                "title": title,
                "types": ", ".join(str(FIELD_TYPE_LABELS[value]) for value in types),
                "fields": bound,
                "open": kind in types or any(field.errors for field in bound),
            }
        )
    return sections


def _field_form_page(
    request: HttpRequest,
    procedure: Procedure,
    draft: ProcedureVersion,
    *,
    step_key: str,
    field_key: str | None,
    group: str | None,
) -> HttpResponse:
    current = None
    initial: dict[str, Any] = {}
    if field_key is not None:
        step_key, current = _field_context(draft, field_key, group)
    elif request.method == "GET":
        # A new field: ask for its type first, so the right settings open.
        type_form = FieldTypeForm(request.GET or None, in_group=group is not None)
        if not type_form.is_valid():
            step = builder.find_step(draft.definition, step_key) or {}
            return _render(
                request,
                "field_type.html",
                {
                    "form": type_form,
                    "procedure": procedure,
                    "step_title": localized_text(step.get("title")),
                    "group_label": localized_text(
                        (builder.find_field(draft.definition, group) or {}).get("label")
                    )
                    if group
                    else "",
                },
            )
        initial = {"type": type_form.cleaned_data["type"]}
    specs = _specs(draft.definition)
    form = FieldForm(
        _data(request),
        initial=initial if current is None else None,
        condition_fields=builder.field_condition_fields(
            draft.definition, step=step_key, field=field_key, group=group
        ),
        current=current,
        in_group=group is not None,
        describe={
            name: html.describe_condition((current or {}).get(name), specs)
            for name in ("condition", "required_if")
        },
    )
    if request.method == "POST" and form.is_valid():
        spec = form.to_spec()
        if current is None:
            if group is None:
                edit = lambda d: builder.add_field(d, spec, step=step_key)  # noqa: E731
            else:
                edit = lambda d: builder.add_field(d, spec, group=group)  # noqa: E731
            success = _("The field was added.")
        else:
            edit = lambda d: builder.update_field(d, field_key, spec, group=group)  # noqa: E731
            success = _("The field was saved.")
        if _save_definition(request, form, draft, edit, success):
            if group is not None:
                return redirect(reverse("procedures:field_edit", args=[procedure.code, group]))
            return redirect(_editor_url(procedure, f"field-{spec['key']}"))
    step = builder.find_step(draft.definition, step_key) or {}
    group_spec = builder.find_field(draft.definition, group) if group else None
    context = {
        "form": form,
        "procedure": procedure,
        "current_field": current,
        "step": step,
        "step_title": localized_text(step.get("title")),
        "group": group_spec,
        "group_label": localized_text(group_spec.get("label")) if group_spec else "",
        "settings_sections": _settings_sections(form),
    }
    if current is not None and current.get("type") == "group" and group is None:
        context["sub_fields"] = _field_rows(procedure, current.get("fields", []), specs, field_key)
        context["add_sub_url"] = reverse(
            "procedures:subfield_add", args=[procedure.code, field_key]
        )
        context["move_form"] = MoveForm()
    return _render(request, "field_form.html", context, form=form)


@login_required
@require_http_methods(["GET", "POST"])
def field_add_view(request: HttpRequest, code: str, step_key: str) -> HttpResponse:
    procedure = _managed(request, code)
    draft = _draft_or_none(procedure)
    if draft is None:
        return _no_draft(request, procedure)
    if builder.find_step(draft.definition, step_key) is None:
        raise Http404
    return _field_form_page(
        request, procedure, draft, step_key=step_key, field_key=None, group=None
    )


@login_required
@require_http_methods(["GET", "POST"])
def field_edit_view(
    request: HttpRequest, code: str, field_key: str, group: str | None = None
) -> HttpResponse:
    procedure = _managed(request, code)
    draft = _draft_or_none(procedure)
    if draft is None:
        return _no_draft(request, procedure)
    step_key, _spec = _field_context(draft, field_key, group)
    return _field_form_page(
        request, procedure, draft, step_key=step_key, field_key=field_key, group=group
    )


@login_required
@require_http_methods(["GET", "POST"])
def subfield_add_view(request: HttpRequest, code: str, group: str) -> HttpResponse:
    procedure = _managed(request, code)
    draft = _draft_or_none(procedure)
    if draft is None:
        return _no_draft(request, procedure)
    step = builder.step_of_field(draft.definition, group)
    group_spec = builder.find_field(draft.definition, group)
    if step is None or group_spec is None or group_spec.get("type") != "group":
        raise Http404
    return _field_form_page(
        request, procedure, draft, step_key=step["key"], field_key=None, group=group
    )


@login_required
@require_POST
def field_move_view(
    request: HttpRequest, code: str, field_key: str, group: str | None = None
) -> HttpResponse:
    procedure = _managed(request, code)
    draft = _draft_or_none(procedure)
    if draft is None:
        return _no_draft(request, procedure)
    form = MoveForm(request.POST)
    if form.is_valid():
        try:
            services.version_update(
                actor=request.user,
                version=draft,
                definition=builder.move_field(
                    draft.definition, field_key, form.cleaned_data["direction"], group=group
                ),
            )
        except DomainError as failure:
            messages.error(request, failure.message)
        else:
            messages.success(request, _("The field was moved."))
    else:
        messages.error(request, _("Move up or down."))
    if group is not None:
        return redirect(reverse("procedures:field_edit", args=[procedure.code, group]))
    return redirect(_editor_url(procedure, f"field-{field_key}"))


@login_required
@require_http_methods(["GET", "POST"])
def field_remove_view(
    request: HttpRequest, code: str, field_key: str, group: str | None = None
) -> HttpResponse:
    procedure = _managed(request, code)
    draft = _draft_or_none(procedure)
    if draft is None:
        return _no_draft(request, procedure)
    step_key, spec = _field_context(draft, field_key, group)
    form = ConfirmForm(_data(request))
    if request.method == "POST" and form.is_valid():
        edit = lambda d: builder.remove_field(d, field_key, group=group)  # noqa: E731
        if _save_definition(request, form, draft, edit, _("The field was removed.")):
            if group is not None:
                return redirect(reverse("procedures:field_edit", args=[procedure.code, group]))
            return redirect(_editor_url(procedure, f"step-{step_key}"))
    label = localized_text(spec.get("label")) or field_key
    explanation = _("The field is removed from the draft. The published version does not change.")
    if spec.get("type") == "group":
        explanation = _(
            "The repeating group and its %(count)d field(s) are removed from the draft. The published version does not change."
        ) % {"count": len(spec.get("fields", []))}
    return _render(
        request,
        "confirm_remove.html",
        {
            "form": form,
            "procedure": procedure,
            "heading": _("Remove the field “%(label)s”?") % {"label": label},
            "explanation": explanation,
            "button": _("Remove the field"),
        },
        form=form,
    )


# --- Fee, workflow, JSON -------------------------------------------------------------------


def _top_level_fields(definition: dict) -> list[dict]:
    return [spec for step in builder.steps_of(definition) for spec in step.get("fields", [])]


@login_required
@require_http_methods(["GET", "POST"])
def fee_edit_view(request: HttpRequest, code: str) -> HttpResponse:
    procedure = _managed(request, code)
    draft = _draft_or_none(procedure)
    if draft is None:
        return _no_draft(request, procedure)
    form = FeeForm(
        _data(request),
        fee=draft.definition.get("fee", {"kind": "none"}),
        form_fields=_top_level_fields(draft.definition),
    )
    if request.method == "POST" and form.is_valid():
        fee = form.to_fee()
        edit = lambda d: builder.replace_sections(d, {"fee": fee})  # noqa: E731
        if _save_definition(request, form, draft, edit, _("The fee was saved.")):
            return redirect(_editor_url(procedure, "fee"))
    return _render(request, "fee_form.html", {"form": form, "procedure": procedure}, form=form)


@login_required
@require_http_methods(["GET", "POST"])
def workflow_edit_view(request: HttpRequest, code: str) -> HttpResponse:
    procedure = _managed(request, code)
    draft = _draft_or_none(procedure)
    if draft is None:
        return _no_draft(request, procedure)
    form = WorkflowForm(_data(request), initial=WorkflowForm.initial_from(draft.definition))
    if request.method == "POST" and form.is_valid():
        sections = form.to_sections()
        edit = lambda d: builder.replace_sections(d, sections)  # noqa: E731
        if _save_definition(
            request, form, draft, edit, _("The workflow, delivery and contact were saved.")
        ):
            return redirect(_editor_url(procedure, "workflow"))
    return _render(request, "workflow_form.html", {"form": form, "procedure": procedure}, form=form)


@login_required
@require_http_methods(["GET", "POST"])
def definition_json_view(request: HttpRequest, code: str) -> HttpResponse:
    procedure = _managed(request, code)
    draft = _draft_or_none(procedure)
    if draft is None:
        return _no_draft(request, procedure)
    form = DefinitionJsonForm(
        _data(request),
        initial={"definition": json.dumps(draft.definition, ensure_ascii=False, indent=2)},
    )
    if request.method == "POST" and form.is_valid():
        definition = form.cleaned_data["definition"]
        if _save_definition(
            request, form, draft, lambda _d: definition, _("The definition was saved.")
        ):
            return redirect(_editor_url(procedure))
    return _render(
        request, "json_form.html", {"form": form, "procedure": procedure, "draft": draft}, form=form
    )


# --- Exemptions, export ----------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def exemption_request_view(request: HttpRequest, code: str) -> HttpResponse:
    procedure = _managed(request, code)
    initial = {}
    if request.GET.get("principle"):
        initial["principle"] = request.GET["principle"]
    form = ExemptionForm(_data(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.exemption_request(actor=request.user, procedure=procedure, **form.cleaned_data)
        except DomainError as failure:
            _show_failure(form, failure)
        else:
            messages.success(
                request, _("The exemption was requested. An auditor will approve or refuse it.")
            )
            return redirect(_editor_url(procedure, "exemptions"))
    return _render(
        request, "exemption_form.html", {"form": form, "procedure": procedure}, form=form
    )


@login_required
@require_safe
def export_view(request: HttpRequest, code: str) -> HttpResponse:
    """The exchange document of one version (the draft, else the published one,
    or ?version=N) as a download."""
    procedure = _managed(request, code)
    number = request.GET.get("version", "")
    if number:
        if not number.isdigit():
            raise Http404
        try:
            version = selectors.procedure_version(procedure, int(number))
        except NotFound as error:
            raise Http404 from error
    else:
        draft, published = selectors.current_versions(procedure)
        version = draft or published or procedure.versions.order_by("-number").first()
        if version is None:
            raise Http404
    document = services.procedure_export(procedure=procedure, version=version)
    response = HttpResponse(
        json.dumps(document, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    filename = f"{procedure.code}-v{version.number}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- Publish, retire -------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def publish_view(request: HttpRequest, code: str) -> HttpResponse:
    procedure = _managed(request, code)
    draft, published = selectors.current_versions(procedure)
    if draft is None:
        return _no_draft(request, procedure)
    form = PublishForm(_data(request), initial={"revision": _revision(draft)})
    if request.method == "POST":
        if not form.is_valid() or form.cleaned_data["revision"] != _revision(draft):
            messages.error(
                request,
                _("The draft changed since you opened this page. Check the summary again."),
            )
            return redirect("procedures:publish", code=procedure.code)
        try:
            version = services.version_publish(actor=request.user, version=draft)
        except DomainError as failure:
            messages.error(request, failure.message)
            return redirect("procedures:publish", code=procedure.code)
        messages.success(
            request,
            _("Version %(number)d is published; residents now apply with it.")
            % {"number": version.number},
        )
        return redirect(_editor_url(procedure))
    context = {"form": form, "procedure": procedure, "draft": draft, "published": published}
    context.update(_policy_context(procedure, draft))
    if published is not None:
        context["diff"] = builder.definition_diff(published.definition, draft.definition)
    return render(request, "procedures/builder/publish.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def retire_view(request: HttpRequest, code: str) -> HttpResponse:
    procedure = _managed(request, code)
    form = ConfirmForm(_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.procedure_retire(actor=request.user, procedure=procedure)
        except DomainError as failure:
            messages.error(request, failure.message)
        else:
            messages.success(request, _("The procedure was retired from the catalogue."))
        return redirect(_editor_url(procedure))
    return render(request, "procedures/builder/retire.html", {"form": form, "procedure": procedure})


# --- Preview ----------------------------------------------------------------------------------


def _preview_version(procedure: Procedure) -> ProcedureVersion:
    draft, published = selectors.current_versions(procedure)
    version = draft or published or procedure.versions.order_by("-number").first()
    if version is None:
        raise Http404
    version.procedure = procedure
    return version


def _preview_key(version: ProcedureVersion) -> str:
    return f"{version.procedure.code}:{version.number}"


def _preview_answers(request: HttpRequest, version: ProcedureVersion) -> dict[str, Any]:
    stored = request.session.get(PREVIEW_SESSION_KEY, {})
    answers = stored.get(_preview_key(version), {})
    return answers if isinstance(answers, dict) else {}


def _store_preview_answers(
    request: HttpRequest, version: ProcedureVersion, answers: dict[str, Any]
) -> None:
    # Only this preview's answers are kept: a preview is one admin's scratchpad.
    request.session[PREVIEW_SESSION_KEY] = {_preview_key(version): answers}


def _file_keys(form: dict) -> set[str]:
    return {
        spec["key"]
        for step in form.get("steps", [])
        for field in step.get("fields", [])
        for spec in [field, *field.get("fields", [])]
        if spec.get("type") == "file"
    }


def _without_upload_errors(form: dict, errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """Uploads are disabled in the preview, so their "required" is not enforced."""
    files = _file_keys(form)
    return {path: found for path, found in errors.items() if path.split(".")[-1] not in files}


def _disable_uploads(views: list) -> None:
    for view in views:
        if view.type == "file":
            view.disabled = True
        for row in view.items:
            _disable_uploads(row)


def _next_step_url(procedure: Procedure, form: dict, data: dict, step_key: str) -> str:
    visible = [step["key"] for step in engine.visible_steps(form, data)]
    keys = [step["key"] for step in engine.steps(form)]
    later = keys[keys.index(step_key) + 1 :] if step_key in keys else []
    for key in later:
        if key in visible:
            return reverse("procedures:preview_step", args=[procedure.code, key])
    return reverse("procedures:preview_check", args=[procedure.code])


def _previous_step_url(procedure: Procedure, form: dict, data: dict, step_key: str) -> str:
    visible = [step["key"] for step in engine.visible_steps(form, data)]
    keys = [step["key"] for step in engine.steps(form)]
    earlier = keys[: keys.index(step_key)] if step_key in keys else []
    for key in reversed(earlier):
        if key in visible:
            return reverse("procedures:preview_step", args=[procedure.code, key])
    return ""


@login_required
@require_safe
def preview_start_view(request: HttpRequest, code: str) -> HttpResponse:
    procedure = _managed(request, code)
    version = _preview_version(procedure)
    answers = _preview_answers(request, version)
    data = engine.validate(version.form, answers).data
    visible = engine.visible_steps(version.form, data)
    first = (visible or engine.steps(version.form))[0]
    return redirect("procedures:preview_step", code=procedure.code, step_key=first["key"])


@login_required
@require_http_methods(["GET", "POST"])
def preview_step_view(request: HttpRequest, code: str, step_key: str) -> HttpResponse:
    """One step exactly as residents see it. Answers live in the session only."""
    procedure = _managed(request, code)
    version = _preview_version(procedure)
    form = version.form
    step = next((step for step in engine.steps(form) if step.get("key") == step_key), None)
    if step is None:
        raise Http404
    answers = _preview_answers(request, version)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        posted = html.answers_from_post(step, request.POST)
        answers = {**answers, **posted}
        _store_preview_answers(request, version, answers)
        if html.group_button_pressed(request.POST):
            return redirect("procedures:preview_step", code=procedure.code, step_key=step_key)
        result = engine.validate(form, answers, only_steps=[step_key])
        errors = _without_upload_errors(form, result.errors)
        if not errors:
            return redirect(_next_step_url(procedure, form, result.data, step_key))
    data = engine.validate(form, answers).data
    own_keys = {spec["key"] for spec in step.get("fields", [])}
    shown = {**data, **{key: answers[key] for key in own_keys if key in answers}}
    views = html.step_views(form, step, shown, errors)
    _disable_uploads(views)
    visible_keys = [item["key"] for item in engine.visible_steps(form, data)]
    context = {
        "procedure": procedure,
        "version": version,
        "step": step,
        "step_title": localized_text(step.get("title")),
        "step_description": localized_text(step.get("description")),
        "fields": views,
        "error_links": html.error_links(form, errors),
        "skipped": step_key not in visible_keys,
        "has_uploads": any(spec.get("type") == "file" for spec in _iter_specs(step)),
        "steps": [
            {
                "key": item["key"],
                "title": localized_text(item.get("title")),
                "url": reverse("procedures:preview_step", args=[procedure.code, item["key"]]),
                "current": item["key"] == step_key,
                "skipped": item["key"] not in visible_keys,
            }
            for item in engine.steps(form)
        ],
        "back_url": _previous_step_url(procedure, form, data, step_key),
        "reset_form": ConfirmForm(),
    }
    return render(
        request,
        "procedures/builder/preview_step.html",
        context,
        status=400 if errors else 200,
    )


def _iter_specs(step: dict):
    for spec in step.get("fields", []):
        yield spec
        yield from spec.get("fields", [])


@login_required
@require_safe
def preview_check_view(request: HttpRequest, code: str) -> HttpResponse:
    """The "check your answers" page of the preview; nothing is submitted."""
    procedure = _managed(request, code)
    version = _preview_version(procedure)
    form = version.form
    answers = _preview_answers(request, version)
    result = engine.validate(form, answers)
    errors = _without_upload_errors(form, result.errors)
    steps_with_errors = {engine.step_of_path(form, path) for path in errors}
    sections = []
    for step in engine.visible_steps(form, result.data):
        sections.append(
            {
                "key": step["key"],
                "title": localized_text(step.get("title")),
                "rows": html.answer_rows(form, step, result.data),
                "url": reverse("procedures:preview_step", args=[procedure.code, step["key"]]),
                "has_errors": step["key"] in steps_with_errors,
            }
        )
    return render(
        request,
        "procedures/builder/preview_check.html",
        {
            "procedure": procedure,
            "version": version,
            "sections": sections,
            "incomplete": [section for section in sections if section["has_errors"]],
            "reset_form": ConfirmForm(),
        },
    )


@login_required
@require_POST
def preview_reset_view(request: HttpRequest, code: str) -> HttpResponse:
    procedure = _managed(request, code)
    version = _preview_version(procedure)
    if ConfirmForm(request.POST).is_valid():
        _store_preview_answers(request, version, {})
        messages.success(request, _("The preview answers were cleared."))
    return redirect("procedures:preview", code=procedure.code)
