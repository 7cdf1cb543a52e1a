"""The catalogue entry: the list of the procedures an admin manages, create,
import, edit the details, start a draft, export, retire."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.errors import DomainError, NotFound
from procedures import selectors, services
from procedures.builder.forms.common import ConfirmForm
from procedures.builder.forms.procedure import ImportForm, ProcedureForm
from procedures.builder.views.common import (
    editor_url,
    form_data,
    form_files,
    managed_procedure,
    render_form,
    require_manager_somewhere,
    show_failure,
)
from procedures.models import ProcedureVersion, VersionState


@login_required
@require_safe
def procedure_list_view(request: HttpRequest) -> HttpResponse:
    require_manager_somewhere(request)
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
    require_manager_somewhere(request)
    form = ProcedureForm(form_data(request), actor=request.user, creating=True)
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
                show_failure(form, failure)
        else:
            messages.success(request, _("The procedure was created with a first draft."))
            return redirect(editor_url(procedure))
    return render_form(request, "procedure_form.html", {"form": form, "creating": True}, form=form)


@login_required
@require_http_methods(["GET", "POST"])
def procedure_import_view(request: HttpRequest) -> HttpResponse:
    require_manager_somewhere(request)
    form = ImportForm(form_data(request), form_files(request), actor=request.user)
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
            show_failure(form, failure)
        else:
            messages.success(
                request,
                _("The procedure was imported as draft version %(number)d.")
                % {"number": version.number},
            )
            return redirect(editor_url(version.procedure))
    return render_form(request, "import.html", {"form": form, "problems": problems}, form=form)


@login_required
@require_POST
def draft_start_view(request: HttpRequest, code: str) -> HttpResponse:
    procedure = managed_procedure(request, code)
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
    return redirect(editor_url(procedure))


@login_required
@require_http_methods(["GET", "POST"])
def procedure_edit_view(request: HttpRequest, code: str) -> HttpResponse:
    procedure = managed_procedure(request, code)
    form = ProcedureForm(
        form_data(request),
        actor=request.user,
        creating=False,
        procedure=procedure,
        initial=ProcedureForm.initial_from(procedure),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.procedure_update(
                actor=request.user, procedure=procedure, **form.procedure_fields()
            )
        except DomainError as failure:
            show_failure(form, failure)
        else:
            messages.success(request, _("The procedure details were saved."))
            return redirect(editor_url(procedure, "details"))
    return render_form(
        request,
        "procedure_form.html",
        {"form": form, "creating": False, "procedure": procedure},
        form=form,
    )


@login_required
@require_safe
def export_view(request: HttpRequest, code: str) -> HttpResponse:
    """The exchange document of one version (the draft, else the published one,
    or ?version=N) as a download."""
    procedure = managed_procedure(request, code)
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


@login_required
@require_http_methods(["GET", "POST"])
def retire_view(request: HttpRequest, code: str) -> HttpResponse:
    procedure = managed_procedure(request, code)
    form = ConfirmForm(form_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.procedure_retire(actor=request.user, procedure=procedure)
        except DomainError as failure:
            messages.error(request, failure.message)
        else:
            messages.success(request, _("The procedure was retired from the catalogue."))
        return redirect(editor_url(procedure))
    return render(request, "procedures/builder/retire.html", {"form": form, "procedure": procedure})
