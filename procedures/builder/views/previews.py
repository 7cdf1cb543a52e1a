"""The small pages the builder's scripts fetch while an admin types: a field as
residents will see it. They read the draft (else the published version) of a
procedure the admin manages, change nothing, and answer with an HTML fragment;
without script the field page shows the same fragment when it is sent."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from procedures import selectors
from procedures.builder import lookup
from procedures.builder.forms.fields import FieldForm
from procedures.builder.previews import field_preview
from procedures.builder.views.common import managed_procedure, specs_by_key
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
