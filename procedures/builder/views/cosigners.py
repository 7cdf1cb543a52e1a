"""The co-signers' page of the builder (docs/cosignature.md): the roles whose
consent the filing needs, each with its statement, whether it is required, what
the co-signer proves and which answers they are shown."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from procedures.builder import edits
from procedures.builder.forms.cosigners import (
    CosignerFormSet,
    cosigners_from,
    initial_roles,
    showable_fields,
)
from procedures.builder.views.common import (
    draft_or_none,
    editor_url,
    form_data,
    managed_procedure,
    no_draft,
    render_form,
    save_definition,
)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def cosigners_edit_view(request: HttpRequest, code: str) -> HttpResponse:
    procedure = managed_procedure(request, code)
    draft = draft_or_none(procedure)
    if draft is None:
        return no_draft(request, procedure)
    formset = CosignerFormSet(
        form_data(request),
        initial=initial_roles(draft.definition),
        prefix="cosigners",
        form_kwargs={"showable": showable_fields(draft.definition)},
    )
    # The service's refusals (the definition's own rules) are shown at the top.
    page = forms.Form(data={})
    page.is_valid()
    if request.method == "POST" and formset.is_valid():
        roles = cosigners_from(formset, draft.definition)
        edit = lambda d: edits.replace_sections(d, {"cosigners": roles})  # noqa: E731
        if save_definition(request, page, draft, edit, _("The co-signers were saved.")):
            return redirect(editor_url(procedure, "cosigners"))
    failed = request.method == "POST" and (
        page.errors or formset.errors or formset.non_form_errors()
    )
    response = render_form(
        request,
        "cosigners_form.html",
        {"formset": formset, "page": page, "procedure": procedure},
    )
    if failed:
        response.status_code = 400
    return response
