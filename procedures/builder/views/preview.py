"""The preview: the draft (else the published version) exactly as residents see
it, step by step and the check-answers page; answers live in the session only."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from procedures import selectors
from procedures.builder.forms.common import ConfirmForm
from procedures.builder.views.common import managed_procedure
from procedures.form_engine import engine, html
from procedures.form_engine.text import localized_text
from procedures.models import Procedure, ProcedureVersion

PREVIEW_SESSION_KEY = "builder_preview"
CHECK_ANSWERS = "check-answers"


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
    procedure = managed_procedure(request, code)
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
    procedure = managed_procedure(request, code)
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
    procedure = managed_procedure(request, code)
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
    procedure = managed_procedure(request, code)
    version = _preview_version(procedure)
    if ConfirmForm(request.POST).is_valid():
        _store_preview_answers(request, version, {})
        messages.success(request, _("The preview answers were cleared."))
    return redirect("procedures:preview", code=procedure.code)
