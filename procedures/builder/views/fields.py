"""The field pages: add (type first, then settings), edit, move, remove a field
of a step or a sub-field of a repeating group."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import DomainError
from procedures import services
from procedures.builder import edits, lookup
from procedures.builder.forms.common import ConfirmForm, MoveForm
from procedures.builder.forms.field_settings import SECTIONS, SETTINGS, settings_layout
from procedures.builder.forms.fields import FIELD_TYPE_LABELS, FieldForm, FieldTypeForm
from procedures.builder.previews import field_preview
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
from procedures.builder.views.editor import field_rows
from procedures.form_engine import html
from procedures.form_engine.text import localized_text
from procedures.models import Procedure, ProcedureVersion


def _field_context(draft: ProcedureVersion, field_key: str, group: str | None):
    """(step key, current spec) of an existing field, else 404."""
    if group is not None:
        step = lookup.step_of_field(draft.definition, group)
        group_spec = lookup.find_field(draft.definition, group)
        if step is None or group_spec is None or group_spec.get("type") != "group":
            raise Http404
        spec = lookup.find_field(draft.definition, field_key, group=group)
    else:
        step = lookup.step_of_field(draft.definition, field_key)
        spec = lookup.find_field(draft.definition, field_key)
    if step is None or spec is None:
        raise Http404
    return step["key"], spec


def settings_context(form: FieldForm) -> dict[str, Any]:
    """The type settings of the field page (see field_settings.settings_layout):
    the chosen type's, then the others' by heading, each setting with its bound
    inputs and the types it applies to (for the page's script)."""
    kind = form["type"].value() or ""
    offered = [value for value, _label in form.fields["type"].choices]
    layout = settings_layout(kind, types=offered)

    def entry(setting, order: int, section_types: frozenset[str] = frozenset()) -> dict:
        types = [value for value in offered if setting.applies_to(value)]
        return {
            "name": setting.name,
            "order": order,
            "section": setting.section,
            "types": " ".join(types),
            # Said when a setting is for fewer types than its heading.
            "only_for": ", ".join(str(FIELD_TYPE_LABELS.get(value, value)) for value in types)
            if section_types and set(types) != section_types
            else "",
            "fields": [form[name] for name in setting.input_names],
        }

    others = []
    for section, title in SECTIONS.items():
        section_types = frozenset(
            value
            for setting in SETTINGS
            if setting.section == section
            for value in offered
            if setting.applies_to(value)
        )
        others.append(
            {
                "key": section,
                "title": title,
                "types": ", ".join(
                    str(FIELD_TYPE_LABELS.get(value, value))
                    for value in offered
                    if value in section_types
                ),
                "settings": [
                    entry(setting, order, section_types)
                    for setting, order in layout["others"][section]
                ],
            }
        )
    return {
        "kind": kind,
        "kind_label": FIELD_TYPE_LABELS.get(kind, ""),
        "current": [entry(setting, order) for setting, order in layout["current"]],
        "others": others,
    }


def preview_spec(form: FieldForm, current: dict | None) -> dict[str, Any]:
    """What the page's preview shows: what was sent (as far as it cleans), else
    the saved field, else a new field of the chosen type."""
    if form.is_bound:
        form.is_valid()
        return FieldForm.spec_from(form.cleaned_data)
    if current is not None:
        return current
    return FieldForm.spec_from({"type": form.initial.get("type")})


def preview_url(procedure: Procedure, field_key: str | None, group: str | None) -> str:
    url = reverse("procedures:field_preview", args=[procedure.code])
    context = {"preview_field": field_key, "preview_group": group}
    query = urlencode({name: value for name, value in context.items() if value})
    return f"{url}?{query}" if query else url


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
            step = lookup.find_step(draft.definition, step_key) or {}
            return render_form(
                request,
                "field_type.html",
                {
                    "form": type_form,
                    "procedure": procedure,
                    "step_title": localized_text(step.get("title")),
                    "group_label": localized_text(
                        (lookup.find_field(draft.definition, group) or {}).get("label")
                    )
                    if group
                    else "",
                },
            )
        initial = {"type": type_form.cleaned_data["type"]}
    specs = specs_by_key(draft.definition)
    form = FieldForm(
        form_data(request),
        initial=initial if current is None else None,
        condition_fields=lookup.field_condition_fields(
            draft.definition, step=step_key, field=field_key, group=group
        ),
        current=current,
        in_group=group is not None,
        describe={
            name: html.describe_condition((current or {}).get(name), specs)
            for name in ("condition", "required_if")
        },
    )
    # "Update the preview" (shown without script) sends the form without saving it.
    if request.method == "POST" and "preview" not in request.POST and form.is_valid():
        spec = form.to_spec()
        if current is None:
            if group is None:
                edit = lambda d: edits.add_field(d, spec, step=step_key)  # noqa: E731
            else:
                edit = lambda d: edits.add_field(d, spec, group=group)  # noqa: E731
            success = _("The field was added.")
        else:
            edit = lambda d: edits.update_field(d, field_key, spec, group=group)  # noqa: E731
            success = _("The field was saved.")
        if save_definition(request, form, draft, edit, success):
            if group is not None:
                return redirect(reverse("procedures:field_edit", args=[procedure.code, group]))
            return redirect(editor_url(procedure, f"field-{spec['key']}"))
    step = lookup.find_step(draft.definition, step_key) or {}
    group_spec = lookup.find_field(draft.definition, group) if group else None
    context = {
        "form": form,
        "procedure": procedure,
        "current_field": current,
        "step": step,
        "step_title": localized_text(step.get("title")),
        "group": group_spec,
        "group_label": localized_text(group_spec.get("label")) if group_spec else "",
        "settings": settings_context(form),
        "preview": field_preview(
            preview_spec(form, current),
            definition=draft.definition,
            sub_fields=(current or {}).get("fields"),
        ),
        "preview_url": preview_url(procedure, field_key, group),
    }
    if current is not None and current.get("type") == "group" and group is None:
        context["sub_fields"] = field_rows(procedure, current.get("fields", []), specs, field_key)
        context["add_sub_url"] = reverse(
            "procedures:subfield_add", args=[procedure.code, field_key]
        )
        context["move_form"] = MoveForm()
    return render_form(request, "field_form.html", context, form=form)


@login_required
@require_http_methods(["GET", "POST"])
def field_add_view(request: HttpRequest, code: str, step_key: str) -> HttpResponse:
    procedure = managed_procedure(request, code)
    draft = draft_or_none(procedure)
    if draft is None:
        return no_draft(request, procedure)
    if lookup.find_step(draft.definition, step_key) is None:
        raise Http404
    return _field_form_page(
        request, procedure, draft, step_key=step_key, field_key=None, group=None
    )


@login_required
@require_http_methods(["GET", "POST"])
def field_edit_view(
    request: HttpRequest, code: str, field_key: str, group: str | None = None
) -> HttpResponse:
    procedure = managed_procedure(request, code)
    draft = draft_or_none(procedure)
    if draft is None:
        return no_draft(request, procedure)
    step_key, _spec = _field_context(draft, field_key, group)
    return _field_form_page(
        request, procedure, draft, step_key=step_key, field_key=field_key, group=group
    )


@login_required
@require_http_methods(["GET", "POST"])
def subfield_add_view(request: HttpRequest, code: str, group: str) -> HttpResponse:
    procedure = managed_procedure(request, code)
    draft = draft_or_none(procedure)
    if draft is None:
        return no_draft(request, procedure)
    step = lookup.step_of_field(draft.definition, group)
    group_spec = lookup.find_field(draft.definition, group)
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
                definition=edits.move_field(
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
    return redirect(editor_url(procedure, f"field-{field_key}"))


@login_required
@require_http_methods(["GET", "POST"])
def field_remove_view(
    request: HttpRequest, code: str, field_key: str, group: str | None = None
) -> HttpResponse:
    procedure = managed_procedure(request, code)
    draft = draft_or_none(procedure)
    if draft is None:
        return no_draft(request, procedure)
    step_key, spec = _field_context(draft, field_key, group)
    form = ConfirmForm(form_data(request))
    if request.method == "POST" and form.is_valid():
        edit = lambda d: edits.remove_field(d, field_key, group=group)  # noqa: E731
        if save_definition(request, form, draft, edit, _("The field was removed.")):
            if group is not None:
                return redirect(reverse("procedures:field_edit", args=[procedure.code, group]))
            return redirect(editor_url(procedure, f"step-{step_key}"))
    label = localized_text(spec.get("label")) or field_key
    explanation = _("The field is removed from the draft. The published version does not change.")
    if spec.get("type") == "group":
        explanation = _(
            "The repeating group and its %(count)d field(s) are removed from the draft. The published version does not change."
        ) % {"count": len(spec.get("fields", []))}
    return render_form(
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
