"""The public catalogue pages: what procedures exist and what each one asks."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from accounts.identity.selectors import verified_identity
from core.errors import NotFound
from procedures import search, selectors
from procedures.form_engine.html import describe_condition
from procedures.form_engine.text import localized_text
from procedures.models import Category, Filer, IdentityLevel, LifeEvent
from procedures.policy import EXEMPT, PASS

PAYMENT_METHODS = {
    "card": _("Credit card"),
    "qr_code": _("QR code payment"),
    "bank_transfer": _("Bank transfer (Pay-easy)"),
    "convenience_store": _("Convenience store"),
    "cash": _("Cash"),
    "revenue_stamp": _("Revenue stamps"),
}


CATALOGUE_PAGE_SIZE = 50


def catalogue_view(request: HttpRequest) -> HttpResponse:
    """Search by words (spelling, reading, synonym or life event), category, life
    event and who files. A search that finds nothing always suggests something:
    the closest titles, the categories and, for what another office handles, where
    to go instead."""
    query = request.GET.get("q", "")[:200]
    category = request.GET.get("category", "")
    life_event = request.GET.get("life_event", "")
    filer = request.GET.get("filer", "")
    catalogue = selectors.published_procedures()
    procedures = catalogue if query.strip() else catalogue.order_by("code")
    procedures = selectors.search_procedures(procedures, query)
    if category in Category.values:
        procedures = procedures.filter(category=category)
    if life_event in LifeEvent.values:
        procedures = selectors.with_life_event(procedures, life_event)
    if filer in (Filer.INDIVIDUAL, Filer.BUSINESS):
        procedures = procedures.filter(filer__in=[filer, Filer.BOTH])
    page = Paginator(procedures, CATALOGUE_PAGE_SIZE).get_page(request.GET.get("page"))
    found = page.paginator.count
    referrals = search.referrals_for(query) if query.strip() else []
    closest = selectors.closest_procedures(catalogue, query) if query.strip() and not found else []
    kept = request.GET.copy()
    kept.pop("page", None)
    # Where to look instead: the categories that hold procedures, with their counts.
    suggested_categories = (
        [
            (value, label, counts[value])
            for counts in [selectors.catalogue_category_counts()]
            for value, label in Category.choices
            if counts.get(value)
        ]
        if not found
        else []
    )
    return render(
        request,
        "procedures/catalogue.html",
        {
            "procedures": page.object_list,
            "page": page,
            "found": found,
            "pager_query": kept.urlencode(),
            "query": query,
            "referrals": referrals,
            "closest": closest,
            "suggested_categories": suggested_categories,
            "categories": Category.choices,
            "category": category,
            "life_events": LifeEvent.choices,
            "life_event": life_event,
            "filers": [
                (Filer.INDIVIDUAL, Filer.INDIVIDUAL.label),
                (Filer.BUSINESS, Filer.BUSINESS.label),
            ],
            "filer": filer,
            "filtered": bool(query.strip() or category or life_event or filer),
        },
    )


def _field_specs(form: dict) -> dict[str, dict]:
    return {spec["key"]: spec for step in form.get("steps", []) for spec in step.get("fields", [])}


def _questions(form: dict) -> list[dict]:
    """Each step with its questions in words, conditions included."""
    specs = _field_specs(form)
    steps = []
    for step in form.get("steps", []):
        steps.append(
            {
                "title": localized_text(step.get("title")),
                "description": localized_text(step.get("description")),
                "condition": describe_condition(step.get("condition"), specs),
                "fields": [
                    {
                        "label": localized_text(spec.get("label")),
                        "required": spec.get("required", False),
                        "type": spec["type"],
                        "condition": describe_condition(spec.get("condition"), specs),
                        "sub_fields": [
                            localized_text(sub.get("label")) for sub in spec.get("fields", [])
                        ],
                    }
                    for spec in step.get("fields", [])
                ],
            }
        )
    return steps


def procedure_view(request: HttpRequest, code: str) -> HttpResponse:
    try:
        procedure, version = selectors.published_procedure(code)
    except NotFound as error:
        raise Http404 from error
    report = selectors.published_policy(procedure, version)
    return render(
        request,
        "procedures/procedure.html",
        {
            "procedure": procedure,
            "version": version,
            "needs_identity": procedure.identity_level == IdentityLevel.IDENTITY_VERIFIED
            and verified_identity(request.user) is None,
            "steps": _questions(version.form),
            "fee": selectors.fee_summary(version.fee),
            "retention": selectors.retention_summary(version),
            "payment_methods": [
                PAYMENT_METHODS.get(method, method) for method in version.fee.get("methods", [])
            ],
            "attachments": [
                {
                    "label": localized_text(spec.get("label")),
                    "required": spec.get("required", False),
                    "required_if": describe_condition(
                        spec.get("required_if"), _field_specs(version.form)
                    ),
                }
                for spec in selectors.attachment_requirements(version.form)
            ],
            "principles": [
                {
                    "label": result.label,
                    "met": result.status == PASS,
                    "exempt": result.status == EXEMPT,
                }
                for result in report.results.values()
            ],
        },
    )
