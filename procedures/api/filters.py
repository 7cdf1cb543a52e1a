"""Query filters of the procedure lists. They only narrow what a selector
already returned; who may see what is the selectors' business."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from procedures.models import (
    Category,
    ExemptionStatus,
    Filer,
    LifeEvent,
    Principle,
    ProcedureStatus,
)
from procedures.selectors import search_procedures, with_life_event


class CatalogueFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_search",
        label="Words in the title (Japanese or English), code or description; case-insensitive.",
    )
    category = django_filters.ChoiceFilter(choices=Category.choices)
    organization = django_filters.CharFilter(
        field_name="owning_organization__code", label="Code of the owning organization."
    )
    life_event = django_filters.ChoiceFilter(
        choices=LifeEvent.choices, method="filter_life_event", label="A life event."
    )
    filer = django_filters.ChoiceFilter(
        choices=Filer.choices,
        method="filter_filer",
        label="Who files: `individual` and `business` include procedures open to both.",
    )

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return search_procedures(queryset, value)

    def filter_life_event(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return with_life_event(queryset, value)

    def filter_filer(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == Filer.BOTH:
            return queryset.filter(filer=Filer.BOTH)
        return queryset.filter(filer__in=[value, Filer.BOTH])


class ManagedProcedureFilter(CatalogueFilter):
    status = django_filters.ChoiceFilter(choices=ProcedureStatus.choices)


class ExemptionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ExemptionStatus.choices)
    principle = django_filters.ChoiceFilter(choices=Principle.choices)
    procedure = django_filters.CharFilter(field_name="procedure__code", label="Procedure code.")
    organization = django_filters.CharFilter(
        field_name="procedure__owning_organization__code",
        label="Code of the organization owning the procedure.",
    )
