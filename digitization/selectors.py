"""Reads, already filtered by what the actor may see.

- Auditors (`digitization.audit`) see the inventory, rates and trends of the
  organizations where they audit and everything below them.
- Departments (`digitization.report`) see and record the procedures of their
  own organizations and those below.
- The open data is the whole government's, for anyone.
- The audit log (`audit.view`) is the platform's, not an organization's.

Every read first mirrors the catalogue (services.catalogue_sync, one query when
nothing changed), so a procedure published a moment ago is counted."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import Organization, User
from accounts.permissions import Action, actor_may, organizations_where
from applications.models import CaseCount
from audit.models import AuditEvent
from core.errors import NotFound
from digitization import figures_cache, metrics
from digitization.models import (
    PRINCIPLES,
    STAGES,
    CaseReport,
    ChainCheck,
    InventoryEntry,
    InventoryTotals,
    Snapshot,
    SnapshotKind,
)
from digitization.periods import Period, add_months, fiscal_year_of, month_start
from digitization.services import catalogue_sync
from procedures.models import Exemption, ExemptionStatus

# Exemptions whose review date is this close are listed as due for review.
REVIEW_SOON_DAYS = 60
TREND_MONTHS = 24


def _today(today: date | None) -> date:
    return today or timezone.localdate()


# --- Who sees which organizations --------------------------------------------------------------


def may_audit(actor: Any) -> bool:
    return actor_may(actor, Action.AUDIT_DIGITIZATION)


def may_report(actor: Any) -> bool:
    return actor_may(actor, Action.REPORT_INVENTORY)


def may_view_audit_log(actor: Any) -> bool:
    return actor_may(actor, Action.VIEW_AUDIT_LOG)


def visible_organizations(actor: Any) -> QuerySet[Organization]:
    audited = organizations_where(actor, Action.AUDIT_DIGITIZATION)
    reported = organizations_where(actor, Action.REPORT_INVENTORY)
    return Organization.objects.filter(
        Q(pk__in=audited.values("pk")) | Q(pk__in=reported.values("pk"))
    )


def reporting_organizations(actor: Any) -> QuerySet[Organization]:
    return organizations_where(actor, Action.REPORT_INVENTORY)


# --- The inventory ---------------------------------------------------------------------------------


def inventory_for(actor: Any) -> QuerySet[InventoryEntry]:
    """Entries of the organizations the actor audits or reports for."""
    catalogue_sync()
    return InventoryEntry.objects.filter(
        organization__in=visible_organizations(actor)
    ).select_related("organization")


def entry_for(actor: Any, code: str) -> InventoryEntry:
    entry = inventory_for(actor).filter(code=code).first()
    if entry is None:
        raise NotFound()
    return entry


def reportable_entry(actor: Any, code: str) -> InventoryEntry:
    """An entry the actor reports cases for; any other is "not found"."""
    catalogue_sync()
    entry = (
        InventoryEntry.objects.filter(organization__in=reporting_organizations(actor), code=code)
        .select_related("organization")
        .first()
    )
    if entry is None:
        raise NotFound()
    return entry


def filter_inventory(
    entries: QuerySet[InventoryEntry],
    *,
    today: date,
    q: str = "",
    organization: Organization | None = None,
    channel: str = "",
    digital: bool | None = None,
    active: bool | None = True,
    principle: str = "",
    principle_status: str = "",
) -> QuerySet[InventoryEntry]:
    if q:
        for word in q.split():
            entries = entries.filter(
                Q(code__icontains=word) | Q(title_ja__icontains=word) | Q(title_en__icontains=word)
            )
    if organization is not None:
        entries = entries.filter(organization__path__startswith=organization.path)
    if channel:
        entries = entries.filter(channel=channel)
    if active is not None:
        entries = entries.filter(active=active)
    if digital is not None:
        condition = metrics.digital_condition(today)
        entries = entries.filter(condition) if digital else entries.exclude(condition)
    if principle in PRINCIPLES and principle_status in (metrics.PASS, metrics.EXEMPT, metrics.FAIL):
        entries = entries.filter(metrics.principle_conditions(principle, today)[principle_status])
    return entries


@dataclass
class EntryRow:
    """An entry as lists show it: each stage and principle with its status today."""

    entry: InventoryEntry
    stages: list[tuple[str, str]]
    principles: list[tuple[str, str]]
    digital: bool
    pending: list[str] = field(default_factory=list)  # principles with a requested exemption

    @property
    def offline_stages(self) -> list[str]:
        return [stage for stage, status in self.stages if status == metrics.OFFLINE]

    @property
    def failing_principles(self) -> list[str]:
        return [principle for principle, status in self.principles if status == metrics.FAIL]


def entry_rows(entries: Iterable[InventoryEntry], today: date) -> list[EntryRow]:
    """Rows for a page of entries, with the exemptions of their catalogue
    procedures read in one query."""
    entries = list(entries)
    procedure_ids = [entry.procedure_id for entry in entries if entry.procedure_id]
    exemptions: dict[int, list[Exemption]] = {}
    if procedure_ids:
        for exemption in Exemption.objects.filter(
            procedure_id__in=procedure_ids,
            status__in=[ExemptionStatus.APPROVED, ExemptionStatus.REQUESTED],
        ):
            exemptions.setdefault(exemption.procedure_id, []).append(exemption)
    rows = []
    for entry in entries:
        own = exemptions.get(entry.procedure_id, []) if entry.procedure_id else []
        in_force = metrics.principles_in_force(own, today)
        rows.append(
            EntryRow(
                entry=entry,
                stages=[
                    (stage, metrics.entry_stage_status(entry, stage, in_force)) for stage in STAGES
                ],
                principles=[
                    (principle, metrics.entry_principle_status(entry, principle, in_force))
                    for principle in PRINCIPLES
                ],
                digital=metrics.entry_is_digital(entry, in_force),
                pending=sorted({e.principle for e in own if e.status == ExemptionStatus.REQUESTED}),
            )
        )
    return rows


@dataclass
class MonthFigures:
    month: date
    platform_online: int = 0
    reported_online: int = 0
    reported_offline: int = 0

    @property
    def online(self) -> int:
        return self.platform_online + self.reported_online

    @property
    def total(self) -> int:
        return self.online + self.reported_offline

    @property
    def usage(self):
        return metrics.rate(self.online, self.total)


def entry_months(
    entry: InventoryEntry, *, months: int = 24, today: date | None = None
) -> list[MonthFigures]:
    """The entry's cases per month, newest first, for the last `months` months."""
    last = month_start(_today(today))
    first = add_months(last, -(months - 1))
    by_month: dict[date, MonthFigures] = {}
    for report in CaseReport.objects.filter(entry=entry, month__gte=first):
        row = by_month.setdefault(report.month, MonthFigures(report.month))
        row.reported_online += report.online_cases
        row.reported_offline += report.offline_cases
    if entry.procedure_id:
        for count in CaseCount.objects.filter(procedure_id=entry.procedure_id, month__gte=first):
            row = by_month.setdefault(count.month, MonthFigures(count.month))
            row.platform_online += count.online_filings
    return sorted(by_month.values(), key=lambda row: row.month, reverse=True)


def entry_exemptions(entry: InventoryEntry) -> list[Exemption]:
    if not entry.procedure_id:
        return []
    return list(
        Exemption.objects.filter(procedure_id=entry.procedure_id).select_related(
            "requested_by", "decided_by"
        )
    )


def recent_reports(actor: Any, *, limit: int = 20) -> list[CaseReport]:
    return list(
        CaseReport.objects.filter(entry__organization__in=reporting_organizations(actor))
        .select_related("entry", "reported_by")
        .order_by("-updated_at")[:limit]
    )


def case_reports_for(actor: Any) -> QuerySet[CaseReport]:
    return CaseReport.objects.filter(
        entry__organization__in=visible_organizations(actor)
    ).select_related("entry", "entry__organization")


# --- Scope and the overview --------------------------------------------------------------------------


@dataclass
class Scope:
    """What an auditor looks at: one organization with its subtree (`root`), or,
    for an auditor of several unrelated organizations at the top, all of them
    (`root` None). `children` are the organizations one level down, the rows of
    the drill-down."""

    root: Organization | None
    organizations: list[Organization]
    children: list[Organization]
    ancestors: list[Organization]

    @property
    def ids(self) -> list[int]:
        return [org.pk for org in self.organizations]

    @property
    def paths(self) -> dict[int, str]:
        return {org.pk: org.path for org in self.organizations}

    def entries(self) -> QuerySet[InventoryEntry]:
        return InventoryEntry.objects.filter(organization_id__in=self.ids)


def audit_scope(actor: Any, code: str | None = None) -> Scope:
    """The actor's audit scope, or the subtree of the organization `code` within
    it ("not found" outside it)."""
    organizations = list(organizations_where(actor, Action.AUDIT_DIGITIZATION).order_by("path"))
    if not organizations:
        raise NotFound()
    if code:
        root = next((org for org in organizations if org.code == code), None)
        if root is None:
            raise NotFound()
    else:
        paths = [org.path for org in organizations]
        roots = [
            org
            for org in organizations
            if not any(org.path != path and org.path.startswith(path) for path in paths)
        ]
        root = roots[0] if len(roots) == 1 else None
    if root is None:
        subtree = organizations
        children = [org for org in organizations if org in roots]
        ancestors: list[Organization] = []
    else:
        subtree = [org for org in organizations if org.path.startswith(root.path)]
        children = [org for org in subtree if org.parent_id == root.pk]
        ancestors = [
            org for org in organizations if root.path.startswith(org.path) and org.pk != root.pk
        ]
    return Scope(root=root, organizations=subtree, children=children, ancestors=ancestors)


def whole_government() -> Scope:
    """Every organization: the scope of the open data."""
    organizations = list(Organization.objects.order_by("path"))
    roots = [org for org in organizations if org.parent_id is None]
    root = roots[0] if len(roots) == 1 else None
    children = (
        [org for org in organizations if root and org.parent_id == root.pk] if root else roots
    )
    return Scope(root=root, organizations=organizations, children=children, ancestors=[])


@dataclass
class TrendPoint:
    day: date
    kind: str
    figures: metrics.Figures
    target: Any


@dataclass
class Overview:
    scope: Scope
    today: date
    period: Period
    fiscal_year: int
    figures: metrics.Figures
    gap: metrics.Gap
    children: list[tuple[Organization, metrics.Figures]]
    by_organization: dict[int, metrics.Figures]
    ranked: list[EntryRow]
    exemptions: dict[str, int]
    trend: list[TrendPoint]
    linked: metrics.Linked


def _trend(scope: Scope) -> list[TrendPoint]:
    """Month-end snapshots of the last two years, and the latest daily one after
    them, with the figures of the scope."""
    month_ends = list(
        Snapshot.objects.filter(kind=SnapshotKind.MONTH_END).order_by("-taken_on")[:TREND_MONTHS]
    )
    latest = Snapshot.objects.filter(kind=SnapshotKind.DAILY).order_by("-taken_on").first()
    snapshots = sorted(month_ends, key=lambda snapshot: snapshot.taken_on)
    if latest is not None and (not snapshots or latest.taken_on > snapshots[-1].taken_on):
        snapshots.append(latest)
    return [
        TrendPoint(
            snapshot.taken_on, snapshot.kind, scope_figures_of(snapshot, scope), snapshot.target
        )
        for snapshot in snapshots
    ]


def exemption_counts(
    organization_ids: list[int],
    today: date,
    exemptions: list[metrics.OpenExemption] | None = None,
) -> dict[str, int]:
    """Exemptions of the organizations' procedures: requested, in force, due for
    review soon, past their review date; from `exemptions` (metrics.open_exemptions,
    read when not given), which the overview reads once for the rates too."""
    wanted = set(organization_ids)
    soon = today + timedelta(days=REVIEW_SOON_DAYS)
    counts = dict.fromkeys(("requested", "in_force", "due_soon", "expired"), 0)
    for exemption in metrics.open_exemptions() if exemptions is None else exemptions:
        if exemption.owner_id not in wanted:
            continue
        if exemption.status == ExemptionStatus.REQUESTED:
            counts["requested"] += 1
        elif exemption.review_date is None:
            continue  # approved without a review date: neither in force nor expired
        elif exemption.review_date < today:
            counts["expired"] += 1
        else:
            counts["in_force"] += 1
            counts["due_soon"] += exemption.review_date <= soon
    return counts


@dataclass
class _InventoryPart:
    """What an overview owes to the inventory, the case reports and the exemptions
    (kept between requests by digitization.figures_cache)."""

    own: dict[int, metrics.Figures]
    linked: metrics.Linked
    gap: metrics.Gap
    exemptions: dict[str, int]
    ranked: list[EntryRow]
    trend: list[TrendPoint]


@dataclass
class OverviewBasis:
    """What an overview of a scope starts from, read on every request (the
    catalogue mirrored first): the day, the period, the open exemptions. `key`
    names what is kept for it between requests (digitization.figures_cache)."""

    scope: Scope
    today: date
    fiscal_year: int
    period: Period
    exemptions: list[metrics.OpenExemption]

    @property
    def key(self) -> tuple[Any, ...]:
        return (
            # The names too: the ranked rows and the drill-down show them.
            tuple((org.pk, org.name_ja, org.name_en) for org in self.scope.organizations),
            self.period.first,
            self.period.last,
            self.today,
            tuple(self.exemptions),
        )


def overview_basis(
    scope: Scope, *, fiscal_year: int | None = None, today: date | None = None
) -> OverviewBasis:
    today = _today(today)
    catalogue_sync()
    current = fiscal_year_of(today)
    fiscal_year = fiscal_year or current
    period = (
        Period.fiscal_year_to_date(today)
        if fiscal_year == current
        else Period.fiscal_year(fiscal_year)
    )
    return OverviewBasis(scope, today, fiscal_year, period, metrics.open_exemptions())


def overview_of(
    scope: Scope,
    *,
    fiscal_year: int | None = None,
    today: date | None = None,
    ranked_limit: int = 10,
    with_trend: bool = True,
    basis: OverviewBasis | None = None,
) -> Overview:
    basis = basis or overview_basis(scope, fiscal_year=fiscal_year, today=today)
    today, period, exemptions = basis.today, basis.period, basis.exemptions
    entries = scope.entries()

    def inventory_part() -> _InventoryPart:
        linked = metrics.linked_entries(scope.ids, today, exemptions)
        own = metrics.inventory_figures(scope.ids, period, linked)
        ranked = (
            metrics.ranked_non_digital(entries, linked).select_related("organization")[
                :ranked_limit
            ]
            if ranked_limit
            else []  # the API shows none: not even compiled
        )
        return _InventoryPart(
            own=own,
            linked=linked,
            gap=metrics.gap(entries, metrics.total(own.values()), linked),
            exemptions=exemption_counts(scope.ids, today, exemptions),
            ranked=entry_rows(ranked, today),
            # Snapshots are taken by a service that outdates kept figures too.
            trend=_trend(scope) if with_trend else [],
        )

    part = figures_cache.kept(("overview", basis.key, ranked_limit, with_trend), inventory_part)
    filings = figures_cache.kept(
        ("filings", period.first, period.last),
        lambda: metrics.platform_filings(period),
        depends_on=(figures_cache.FILINGS,),
    )
    by_organization = metrics.with_platform_filings(part.own, filings, part.linked)
    rolled = metrics.roll_up(scope.paths, by_organization)
    overall = metrics.total(by_organization.values())
    return Overview(
        scope=scope,
        today=today,
        period=period,
        fiscal_year=basis.fiscal_year,
        figures=overall,
        gap=part.gap,
        children=[(org, rolled.get(org.pk, metrics.Figures())) for org in scope.children],
        by_organization=rolled,
        ranked=part.ranked,
        exemptions=part.exemptions,
        trend=part.trend,
        linked=part.linked,
    )


def overview(actor: Any, *, organization: str | None = None, **options: Any) -> Overview:
    return overview_of(audit_scope(actor, organization), **options)


def ranked_of(overview: Overview) -> QuerySet[InventoryEntry]:
    """Every non-digital procedure of the overview's scope, largest first."""
    return metrics.ranked_non_digital(overview.scope.entries(), overview.linked).select_related(
        "organization"
    )


def organizations_with_figures(
    scope: Scope, overview: Overview
) -> list[tuple[Organization, metrics.Figures]]:
    """Every organization of the scope with its rolled-up figures, in tree order."""
    return [
        (org, overview.by_organization.get(org.pk, metrics.Figures()))
        for org in scope.organizations
    ]


def scope_figures_of(snapshot: Snapshot, scope: Scope) -> metrics.Figures:
    """A snapshot's figures for a scope: the government's own columns, or the
    sum of the scope's top organizations."""
    if scope.root is not None and scope.root.parent_id is None:
        return metrics.Figures.from_counts(
            {name: getattr(snapshot, name) for name in metrics.Figures().counts()}
        )
    roots = [scope.root] if scope.root is not None else scope.children
    return metrics.total(
        metrics.Figures.from_counts(snapshot.organizations.get(org.code, {})) for org in roots
    )


# --- Exemption review ---------------------------------------------------------------------------------


def exemptions_to_review(actor: Any) -> QuerySet[Exemption]:
    """Exemptions of procedures in the organizations where the actor decides
    exemptions (procedures.selectors.exemptions_for_auditor)."""
    from procedures.selectors import exemptions_for_auditor

    return exemptions_for_auditor(actor)


def exemption_to_review(actor: Any, exemption_id: int) -> Exemption:
    from procedures.selectors import exemption_for_auditor

    return exemption_for_auditor(actor, exemption_id)


REVIEW_STATES = ("requested", "expired", "due_soon", "in_force", "refused")


def exemptions_in_state(
    exemptions: QuerySet[Exemption], state: str, today: date
) -> QuerySet[Exemption]:
    approved = exemptions.filter(status=ExemptionStatus.APPROVED)
    if state == "requested":
        return exemptions.filter(status=ExemptionStatus.REQUESTED).order_by("created_at")
    if state == "expired":
        return approved.filter(review_date__lt=today).order_by("review_date")
    if state == "due_soon":
        return approved.filter(
            review_date__gte=today, review_date__lte=today + timedelta(days=REVIEW_SOON_DAYS)
        ).order_by("review_date")
    if state == "in_force":
        return approved.filter(review_date__gte=today).order_by("review_date")
    if state == "refused":
        return exemptions.filter(status=ExemptionStatus.REFUSED).order_by("-decided_at")
    raise NotFound()


@dataclass
class Effect:
    """What approving (or letting lapse) an exemption does to the rates."""

    entry: InventoryEntry | None
    digital_now: bool
    digital_with: bool
    volume: int
    total_volume: int

    @property
    def changes(self) -> bool:
        return self.digital_now != self.digital_with

    @property
    def points(self):
        """Change of the volume-weighted rate, in percentage points."""
        if not self.changes or not self.total_volume:
            return None
        return metrics.rate(self.volume * 100, self.total_volume)


def exemption_effects(
    exemptions: Iterable[Exemption], total_volume: int, today: date
) -> dict[int, Effect]:
    """For each exemption: would its procedure count as digital with it in force,
    and does it now? Two queries for any number of exemptions."""
    exemptions = list(exemptions)
    catalogue_sync()
    procedure_ids = {exemption.procedure_id for exemption in exemptions}
    entries = {
        entry.procedure_id: entry
        for entry in InventoryEntry.objects.filter(procedure_id__in=procedure_ids, active=True)
    }
    others: dict[int, list[Exemption]] = {}
    for other in Exemption.objects.filter(
        procedure_id__in=procedure_ids, status=ExemptionStatus.APPROVED
    ):
        others.setdefault(other.procedure_id, []).append(other)
    effects = {}
    for exemption in exemptions:
        entry = entries.get(exemption.procedure_id)
        if entry is None:
            effects[exemption.pk] = Effect(None, False, False, 0, total_volume)
            continue
        in_force = metrics.principles_in_force(
            [e for e in others.get(exemption.procedure_id, []) if e.pk != exemption.pk], today
        )
        effects[exemption.pk] = Effect(
            entry=entry,
            digital_now=metrics.entry_is_digital(
                entry,
                in_force | ({exemption.principle} if exemption.is_effective(today) else set()),
            ),
            digital_with=metrics.entry_is_digital(entry, in_force | {exemption.principle}),
            volume=entry.annual_volume,
            total_volume=total_volume,
        )
    return effects


def total_volume(scope: Scope) -> int:
    catalogue_sync()
    return int(
        InventoryTotals.objects.filter(organization_id__in=scope.ids).aggregate(
            volume=Sum("volume")
        )["volume"]
        or 0
    )


# --- The audit log -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""
    action: str = ""
    target_type: str = ""
    target_id: str = ""
    date_from: date | None = None
    date_to: date | None = None


def audit_events(actor: Any, filters: AuditFilters) -> QuerySet[AuditEvent]:
    """The audit log, newest first, for holders of `audit.view`. `actor` filter:
    an e-mail address, a user id, or "platform" for the platform's own events;
    `action`: exact, or a prefix ending in "." or "*" (procedures.*)."""
    if not may_view_audit_log(actor):
        raise NotFound()
    events = AuditEvent.objects.select_related("actor").order_by("-sequence")
    who = filters.actor.strip()
    if who:
        if who.lower() in ("platform", "system", "プラットフォーム"):
            events = events.filter(actor_id__isnull=True)
        elif who.isdigit():
            events = events.filter(actor_id=int(who))
        else:
            user_ids = User.objects.filter(email__iexact=who).values("pk")
            events = events.filter(actor_id__in=user_ids)
    action = filters.action.strip()
    if action:
        if action.endswith("*"):
            events = events.filter(action__startswith=action[:-1])
        elif action.endswith("."):
            events = events.filter(action__startswith=action)
        else:
            events = events.filter(action=action)
    if filters.target_type.strip():
        events = events.filter(target_type=filters.target_type.strip().lower())
    if filters.target_id.strip():
        events = events.filter(target_id=filters.target_id.strip())
    if filters.date_from:
        events = events.filter(occurred_at__date__gte=filters.date_from)
    if filters.date_to:
        events = events.filter(occurred_at__date__lte=filters.date_to)
    return events


def known_actions(*, sample: int = 5000) -> list[str]:
    """Action names seen among the latest events, for the filter's suggestions."""
    names = AuditEvent.objects.order_by("-sequence").values_list("action", flat=True)[:sample]
    return sorted(set(names))


def latest_chain_check() -> ChainCheck | None:
    return ChainCheck.objects.select_related("requested_by").order_by("-checked_at").first()


def open_data_entries() -> QuerySet[InventoryEntry]:
    """Every procedure of the government, for the open data: codes, names,
    organizations, channels, stages and volumes. No person appears in it."""
    catalogue_sync()
    return InventoryEntry.objects.select_related("organization").order_by("code")
