"""The small pages the builder's scripts fetch while an admin types: a field as
residents will see it, and the fee of an example filing. Both read the draft
(else the published version) of a procedure the admin manages, change nothing,
and answer with an HTML fragment; without script the field and fee pages show
the same fragments when they are sent."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from procedures import selectors
from procedures.builder import lookup
from procedures.builder.forms.fee import FeeForm
from procedures.builder.forms.fields import FieldForm
from procedures.builder.previews import field_preview
from procedures.builder.views.common import managed_procedure, specs_by_key
from procedures.builder.views.sections import fee_example_of, top_level_fields
from procedures.models import Procedure, ProcedureVersion


def previewed_version(procedure: Procedure) -> ProcedureVersion:
    draft, published = selectors.current_versions(procedure)
    version = draft or published
    if version is None:
        raise Http404
    return version


@login_required
@require_safe
def field_preview_view(request: HttpRequest, code: str) -> HttpResponse:
    """The field the field form's inputs (in the query) describe, rendered by the
    form engine. `preview_group` names the group of a sub-field, `preview_field`
    the field being edited (a group shows its saved sub-fields)."""
    procedure = managed_procedure(request, code)
    definition = previewed_version(procedure).definition
    group = lookup.find_field(definition, request.GET.get("preview_group", ""))
    if group is not None and group.get("type") != "group":
        group = None
    current = lookup.find_field(
        definition, request.GET.get("preview_field", ""), group=group["key"] if group else None
    )
    form = FieldForm(
        request.GET,
        condition_fields=list(specs_by_key(definition).values()),
        in_group=group is not None,
    )
    form.is_valid()
    spec = FieldForm.spec_from(form.cleaned_data)
    sub_fields = current.get("fields") if current and spec.get("type") == "group" else None
    preview = field_preview(spec, definition=definition, sub_fields=sub_fields)
    return render(request, "procedures/builder/_field_preview.html", {"preview": preview})


@login_required
@require_safe
def fee_example_view(request: HttpRequest, code: str) -> HttpResponse:
    """The example of the fee the fee form's inputs (in the query) describe: the
    amount for the example's answers, computed as a filing's fee is, or the
    problems that keep the fee from being saved."""
    procedure = managed_procedure(request, code)
    version = previewed_version(procedure)
    form = FeeForm(
        request.GET,
        fee=version.definition.get("fee", {"kind": "none"}),
        form_fields=top_level_fields(version.definition),
    )
    example = fee_example_of(form, version, request.GET)
    return render(request, "procedures/builder/_fee_example.html", {"example": example})
