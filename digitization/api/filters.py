"""Query filters of the inventory lists. They only narrow what a selector
already returned; who may see what is the selectors' business."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils import timezone

from digitization import metrics
from digitization.models import Channel
from procedures.models import Principle


class InventoryFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Words in the code or the names.")
    organization = django_filters.CharFilter(
        method="filter_organization",
        label="Code of an organization: its procedures and those of every organization below it.",
    )
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    digital = django_filters.BooleanFilter(
        method="filter_digital",
        label="Digital today (stages online or covered by exemptions in force).",
    )
    in_force = django_filters.BooleanFilter(field_name="active", label="In force (default: any).")
    principle = django_filters.ChoiceFilter(
        choices=Principle.choices,
        method="filter_nothing",
        label="With principle_status: a principle.",
    )
    principle_status = django_filters.ChoiceFilter(
        choices=[(s, s) for s in (metrics.PASS, metrics.EXEMPT, metrics.FAIL)],
        method="filter_principle",
        label="With principle: its result today.",
    )

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        for word in value.split():
            queryset = queryset.filter(
                Q(code__icontains=word) | Q(title_ja__icontains=word) | Q(title_en__icontains=word)
            )
        return queryset

    def filter_organization(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        from accounts.models import Organization

        organization = Organization.objects.filter(code=value).first()
        if organization is None:
            return queryset.none()
        return queryset.filter(organization__path__startswith=organization.path)

    def filter_digital(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        condition = metrics.digital_condition(timezone.localdate())
        return queryset.filter(condition) if value else queryset.exclude(condition)

    def filter_nothing(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset

    def filter_principle(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        principle = self.data.get("principle")
        if principle not in Principle.values:
            return queryset
        return queryset.filter(metrics.principle_conditions(principle, timezone.localdate())[value])


class CaseReportFilter(django_filters.FilterSet):
    procedure = django_filters.CharFilter(field_name="entry__code", label="Procedure code.")
    organization = django_filters.CharFilter(
        field_name="entry__organization__code", label="Code of the owning organization."
    )
    month_from = django_filters.DateFilter(
        field_name="month", lookup_expr="gte", label="First day of a month."
    )
    month_to = django_filters.DateFilter(
        field_name="month", lookup_expr="lte", label="First day of a month."
    )
