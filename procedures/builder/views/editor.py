"""The editor: one page showing the version's steps, fields, fee, workflow and
five-less check, with the buttons of every edit."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from core.retention import RetentionPeriod
from procedures import selectors
from procedures.builder import diff, lookup
from procedures.builder.forms.common import ConfirmForm, MoveForm
from procedures.builder.forms.cosigners import IDENTITY_LEVELS as COSIGNER_IDENTITY_LEVELS
from procedures.builder.forms.fee import FEE_KINDS, PAYMENT_METHODS
from procedures.builder.forms.fields import FIELD_TYPE_LABELS
from procedures.builder.forms.workflow import (
    APPROVALS,
    CONTACT_CHANNELS,
    DELIVERY_METHODS,
    IDENTITY_CHECKS,
    RESULT_KINDS,
)
from procedures.builder.views.common import managed_procedure, specs_by_key
from procedures.builder.views.publish import policy_context
from procedures.form_engine import html
from procedures.form_engine.text import localized_text
from procedures.models import Procedure


def field_rows(
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
                "sub_fields": field_rows(procedure, spec.get("fields", []), specs, spec["key"])
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
    specs = specs_by_key(definition)
    steps = lookup.steps_of(definition)
    return [
        {
            "key": step["key"],
            "title": localized_text(step.get("title")),
            "description": localized_text(step.get("description")),
            "condition": html.describe_condition(step.get("condition"), specs),
            "first": index == 0,
            "last": index == len(steps) - 1,
            "only": len(steps) == 1,
            "fields": field_rows(procedure, step.get("fields", []), specs),
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
    retention = definition.get("retention") or {}
    specs = specs_by_key(definition)
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
        "retention_period": RetentionPeriod(retention["period"]).label
        if retention.get("period") in RetentionPeriod.values
        else "",
        "individual_number_days": retention.get("individual_number_days", 0),
        "cosigners": [
            {
                "key": role["key"],
                "label": localized_text(role.get("label")) or role["key"],
                "required": bool(role.get("required", True)),
                "identity": dict(COSIGNER_IDENTITY_LEVELS).get(
                    role.get("identity_level", "email_verified")
                ),
                "condition": html.describe_condition(role.get("condition"), specs),
                "statement": localized_text(role.get("statement")),
            }
            for role in definition.get("cosigners") or []
        ],
    }


@login_required
@require_safe
def editor_view(request: HttpRequest, code: str) -> HttpResponse:
    procedure = managed_procedure(request, code)
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
        context.update(policy_context(procedure, version))
        context["steps"] = _step_rows(procedure, version.definition)
        context["sections"] = _sections_summary(version.definition)
    if draft is not None and published is not None:
        context["diff"] = diff.definition_diff(published.definition, draft.definition)
    return render(request, "procedures/builder/editor.html", context)
