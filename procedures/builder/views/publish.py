"""The five-less check (on the editor and the publish page), exemption requests
and publishing the draft after reviewing what changed."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from core.errors import DomainError
from procedures import selectors, services
from procedures.builder import diff, edits, lookup
from procedures.builder.forms.publish import ExemptionForm, PublishForm
from procedures.builder.views.common import (
    editor_url,
    form_data,
    managed_procedure,
    no_draft,
    render_form,
    show_failure,
)
from procedures.form_engine.text import localized_text
from procedures.models import Procedure, ProcedureVersion
from procedures.policy import EXEMPT, FAIL, PASS

STATUS_TEXT = {
    PASS: gettext_lazy("Pass"),
    FAIL: gettext_lazy("Fail"),
    EXEMPT: gettext_lazy("Exempt"),
}


# --- Where a problem is -----------------------------------------------------------------


def _locate(procedure: Procedure, definition: dict, path: str) -> dict[str, str]:
    """A definition path ("form.steps.0.fields.2.label.ja") in words, with a link
    to the page that edits it."""
    parts = path.split(".")
    if parts and parts[0] == "version":
        parts = parts[1:]
    code = procedure.code
    if parts[:2] == ["form", "steps"] and len(parts) > 2 and parts[2].isdigit():
        steps = lookup.steps_of(definition)
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
        "fee": ("procedures:fee_edit", edits.SECTION_LABELS["fee"]),
        "workflow": ("procedures:workflow_edit", edits.SECTION_LABELS["workflow"]),
        "delivery": ("procedures:workflow_edit", edits.SECTION_LABELS["delivery"]),
        "contact": ("procedures:workflow_edit", edits.SECTION_LABELS["contact"]),
        "result_document": (
            "procedures:workflow_edit",
            edits.SECTION_LABELS["result_document"],
        ),
        "cosigners": ("procedures:cosigners_edit", edits.SECTION_LABELS["cosigners"]),
    }
    if parts and parts[0] in section_pages:
        name, label = section_pages[parts[0]]
        return {"text": str(label), "url": reverse(name, args=[code])}
    return {"text": "", "url": ""}


def policy_context(procedure: Procedure, version: ProcedureVersion) -> dict[str, Any]:
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


def _revision(version: ProcedureVersion) -> str:
    """A short digest of a version's definition: what the admin reviewed."""
    canonical = json.dumps(version.definition, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@login_required
@require_http_methods(["GET", "POST"])
def exemption_request_view(request: HttpRequest, code: str) -> HttpResponse:
    procedure = managed_procedure(request, code)
    initial = {}
    if request.GET.get("principle"):
        initial["principle"] = request.GET["principle"]
    form = ExemptionForm(form_data(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.exemption_request(actor=request.user, procedure=procedure, **form.cleaned_data)
        except DomainError as failure:
            show_failure(form, failure)
        else:
            messages.success(
                request, _("The exemption was requested. An auditor will approve or refuse it.")
            )
            return redirect(editor_url(procedure, "exemptions"))
    return render_form(
        request, "exemption_form.html", {"form": form, "procedure": procedure}, form=form
    )


@login_required
@require_http_methods(["GET", "POST"])
def publish_view(request: HttpRequest, code: str) -> HttpResponse:
    procedure = managed_procedure(request, code)
    draft, published = selectors.current_versions(procedure)
    if draft is None:
        return no_draft(request, procedure)
    form = PublishForm(form_data(request), initial={"revision": _revision(draft)})
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
        return redirect(editor_url(procedure))
    context = {"form": form, "procedure": procedure, "draft": draft, "published": published}
    context.update(policy_context(procedure, draft))
    if published is not None:
        context["diff"] = diff.definition_diff(published.definition, draft.definition)
    return render(request, "procedures/builder/publish.html", context)
