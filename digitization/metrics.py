"""The auditors' numbers, computed in the database.

- **Availability** (手続のデジタル化率): of the procedures in force, the share that
  is digital, by count and weighted by annual case volume. An entry is digital
  when every stage is online, or when it is a catalogue procedure and every
  principle that keeps a stage offline is covered by an exemption in force
  today (approved, review date not passed).
- **Usage** (オンライン利用率): of the cases of a period, the share filed online:
  the platform's own filings (applications.CaseCount, kept per month by the
  submission service) plus the online and offline cases departments reported.
- **Five-less matrix**: per principle, procedures that pass, are exempt, or fail.

Every figure is a sum, so figures of organizations add up to those of their
parent; `Figures` is additive and the rates are derived from the sums.

A request reads them from running totals, never by aggregating the inventory
or the applications: per organization the entries in force and the reported
cases (digitization.totals), per procedure and month the platform's filings
(applications.CaseCount). Exemptions pass their review date without anyone
writing, so they are applied when read, to the few entries linked to the
catalogue (`linked_entries`). The conditions exist in SQL too, for filtering
lists, and in Python for single entries (`entry_is_digital`, ...); the tests
check that all three agree."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet, Sum

from applications.models import CaseCount
from digitization.models import (
    PRINCIPLES,
    STAGES,
    InventoryEntry,
    InventoryTotals,
    ReportedCaseTotals,
)
from digitization.periods import Period
from procedures.models import Exemption, ExemptionStatus

PASS, EXEMPT, FAIL = "pass", "exempt", "fail"
ONLINE, OFFLINE = "online", "offline"


def target() -> Decimal:
    """The ordinance's target for the volume-weighted availability rate."""
    return Decimal(str(getattr(settings, "DIGITIZATION_TARGET", "0.98")))


# --- Conditions in SQL ----------------------------------------------------------------------


def exemption_in_force(principle: str, today: date) -> Exists:
    """The entry's catalogue procedure has an approved exemption from `principle`
    whose review date is today or later."""
    return Exists(
        Exemption.objects.filter(
            procedure_id=OuterRef("procedure_id"),
            principle=principle,
            status=ExemptionStatus.APPROVED,
            review_date__gte=today,
        )
    )


def covered_condition(today: date) -> Q:
    """A catalogue procedure whose offline stages are all kept offline by
    principles it has an exemption from, in force today."""
    covered = Q(procedure__isnull=False)
    for principle in PRINCIPLES:
        covered &= Q(**{f"blocks_{principle}": False}) | exemption_in_force(principle, today)
    return covered


def digital_condition(today: date) -> Q:
    return Q(stages_online=True) | covered_condition(today)


def principle_conditions(principle: str, today: date) -> dict[str, Q]:
    # The cheap test of the catalogue link comes first: PostgreSQL evaluates the
    # parts of AND and OR in order and stops early, so the exemption subquery
    # runs only for the few entries linked to the catalogue.
    fails = Q(**{f"fails_{principle}": True})
    linked = Q(procedure__isnull=False)
    in_force = exemption_in_force(principle, today)
    return {
        PASS: Q(**{f"fails_{principle}": False}),
        EXEMPT: fails & linked & in_force,
        FAIL: fails & (Q(procedure__isnull=True) | ~in_force),
    }


# --- The same in Python, for single entries ---------------------------------------------------


def principles_in_force(exemptions: Iterable[Exemption], today: date) -> set[str]:
    return {exemption.principle for exemption in exemptions if exemption.is_effective(today)}


def entry_principle_status(entry: InventoryEntry, principle: str, in_force: set[str]) -> str:
    if not getattr(entry, f"fails_{principle}"):
        return PASS
    return EXEMPT if entry.procedure_id and principle in in_force else FAIL


def entry_stage_status(entry: InventoryEntry, stage: str, in_force: set[str]) -> str:
    if entry.stage_online(stage):
        return ONLINE
    causes = entry.stage_principles.get(stage, [])
    if entry.procedure_id and causes and all(cause in in_force for cause in causes):
        return EXEMPT
    return OFFLINE


def entry_is_digital(entry: InventoryEntry, in_force: set[str]) -> bool:
    return all(entry_stage_status(entry, stage, in_force) != OFFLINE for stage in STAGES)


# --- Figures --------------------------------------------------------------------------------


def rate(part: int, whole: int) -> Decimal | None:
    return None if not whole else Decimal(part) / Decimal(whole)


def rounded(value: Decimal | None, places: int = 6) -> float | None:
    if value is None:
        return None
    return float(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def _empty_matrix() -> dict[str, dict[str, int]]:
    return {principle: {PASS: 0, EXEMPT: 0, FAIL: 0} for principle in PRINCIPLES}


@dataclass
class Figures:
    """Sums for a set of procedures; rates are derived from them."""

    procedures: int = 0
    digital_procedures: int = 0
    volume: int = 0
    digital_volume: int = 0
    online_cases: int = 0
    offline_cases: int = 0
    matrix: dict[str, dict[str, int]] = field(default_factory=_empty_matrix)

    def __add__(self, other: Figures) -> Figures:
        result = Figures()
        result += self
        result += other
        return result

    def __iadd__(self, other: Figures) -> Figures:
        # In place: rolling a scope's figures up its tree adds hundreds of times.
        self.procedures += other.procedures
        self.digital_procedures += other.digital_procedures
        self.volume += other.volume
        self.digital_volume += other.digital_volume
        self.online_cases += other.online_cases
        self.offline_cases += other.offline_cases
        for principle, statuses in other.matrix.items():
            mine = self.matrix[principle]
            for status, count in statuses.items():
                mine[status] += count
        return self

    @property
    def total_cases(self) -> int:
        return self.online_cases + self.offline_cases

    @property
    def availability_by_count(self) -> Decimal | None:
        return rate(self.digital_procedures, self.procedures)

    @property
    def availability_by_volume(self) -> Decimal | None:
        return rate(self.digital_volume, self.volume)

    @property
    def usage(self) -> Decimal | None:
        return rate(self.online_cases, self.total_cases)

    def counts(self) -> dict[str, int]:
        """The additive numbers (what a snapshot keeps per organization)."""
        return {
            "procedures": self.procedures,
            "digital_procedures": self.digital_procedures,
            "volume": self.volume,
            "digital_volume": self.digital_volume,
            "online_cases": self.online_cases,
            "offline_cases": self.offline_cases,
        }

    @classmethod
    def from_counts(cls, counts: dict[str, Any]) -> Figures:
        return cls(**{name: int(counts.get(name, 0) or 0) for name in cls().counts()})

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.counts(),
            "total_cases": self.total_cases,
            "availability_by_count": rounded(self.availability_by_count),
            "availability_by_volume": rounded(self.availability_by_volume),
            "usage": rounded(self.usage),
        }


def _sum(value: Any) -> int:
    return int(value or 0)


_LINKED_COLUMNS = (
    "pk",
    "organization_id",
    "procedure_id",
    "annual_volume",
    "stages_online",
    *[f"fails_{p}" for p in PRINCIPLES],
    *[f"blocks_{p}" for p in PRINCIPLES],
)


@dataclass
class Linked:
    """The entries in force linked to the catalogue, the only ones exemptions
    can apply to, as of one day: per organization what the exemptions in force
    add to the stored totals (`covered`: digital only thanks to exemptions, with
    their volume; `exempt`: per principle, failing entries an exemption covers),
    the ids of the covered entries (not in the gap), and the owner of each
    linked procedure (whose platform filings it gets)."""

    covered: dict[int, tuple[int, int]] = field(default_factory=dict)
    exempt: dict[int, dict[str, int]] = field(default_factory=dict)
    covered_ids: set[int] = field(default_factory=set)
    owners: dict[int, int] = field(default_factory=dict)


def _wanted(organization_ids: list[int] | None) -> set[int] | None:
    return None if organization_ids is None else set(organization_ids)


@dataclass(frozen=True)
class OpenExemption:
    """An exemption requested or approved, as the overview reads it."""

    procedure_id: int
    owner_id: int
    principle: str
    status: str
    review_date: date | None

    def in_force(self, today: date) -> bool:
        # As exemption_in_force in SQL: approved, review date today or later.
        return (
            self.status == ExemptionStatus.APPROVED
            and self.review_date is not None
            and self.review_date >= today
        )


def open_exemptions() -> list[OpenExemption]:
    """Every exemption requested or approved: at most one per procedure and
    principle (a constraint), so a few hundred rows. Read once per overview for
    the linked entries and the dashboard's counts of exemptions."""
    rows = Exemption.objects.filter(
        status__in=[ExemptionStatus.REQUESTED, ExemptionStatus.APPROVED]
    ).values_list(
        "procedure_id", "procedure__owning_organization_id", "principle", "status", "review_date"
    )
    return [OpenExemption(*row) for row in rows.order_by()]


def linked_entries(
    organization_ids: list[int] | None,
    today: date,
    exemptions: list[OpenExemption] | None = None,
) -> Linked:
    """Read the linked entries (a few hundred rows, not the inventory) and apply
    the exemptions in force (`exemptions`, read when not given) to them in Python,
    with the conditions of `covered_condition` and `principle_conditions` (the
    tests check both give the same entries).

    The organizations are picked in Python, here and in
    `figures_by_organization`: the tables read are small (a row per linked
    entry, per organization, per organization and month), and a scope's
    hundreds of ids as query parameters cost more than the rows."""
    wanted = _wanted(organization_ids)
    rows = InventoryEntry.objects.filter(active=True, procedure__isnull=False)
    entries = [
        entry
        for entry in (
            dict(zip(_LINKED_COLUMNS, row, strict=True))
            for row in rows.values_list(*_LINKED_COLUMNS)
        )
        if wanted is None or entry["organization_id"] in wanted
    ]
    result = Linked(owners={row["procedure_id"]: row["organization_id"] for row in entries})
    in_force = {
        (exemption.procedure_id, exemption.principle)
        for exemption in (open_exemptions() if exemptions is None else exemptions)
        if exemption.in_force(today)
    }
    for row in entries:
        org_id, procedure_id = row["organization_id"], row["procedure_id"]
        if not row["stages_online"] and all(
            not row[f"blocks_{p}"] or (procedure_id, p) in in_force for p in PRINCIPLES
        ):
            count, volume = result.covered.get(org_id, (0, 0))
            result.covered[org_id] = (count + 1, volume + row["annual_volume"])
            result.covered_ids.add(row["pk"])
        for p in PRINCIPLES:
            if row[f"fails_{p}"] and (procedure_id, p) in in_force:
                exempt = result.exempt.setdefault(org_id, dict.fromkeys(PRINCIPLES, 0))
                exempt[p] += 1
    return result


def figures_by_organization(
    organization_ids: list[int] | None,
    period: Period,
    today: date,
    linked: Linked | None = None,
) -> dict[int, Figures]:
    """Figures of these organizations' own entries (not rolled up; None: every
    organization): the inventory (availability and the matrix) and the reported
    cases from the running totals (digitization.totals), corrected by the
    exemptions in force today (`linked`, read when not given); and the
    platform's own filings of the period from its running totals
    (applications.CaseCount). No query reads the inventory as a whole or the
    applications."""
    linked = linked or linked_entries(organization_ids, today)
    return with_platform_filings(
        inventory_figures(organization_ids, period, linked), platform_filings(period), linked
    )


def inventory_figures(
    organization_ids: list[int] | None, period: Period, linked: Linked
) -> dict[int, Figures]:
    """`figures_by_organization` without the platform's filings: what changes only
    with the inventory, the case reports and the exemptions."""
    wanted = _wanted(organization_ids)
    result: dict[int, Figures] = {}
    stored = InventoryTotals.objects.filter(procedures__gt=0)
    reported = ReportedCaseTotals.objects.filter(month__gte=period.first, month__lte=period.last)
    columns = ("procedures", "online_procedures", "volume", "online_volume")
    fail_columns = tuple(f"fails_{p}" for p in PRINCIPLES)
    for org_id, *counts in stored.values_list("organization_id", *columns, *fail_columns):
        if wanted is not None and org_id not in wanted:
            continue
        procedures, online_procedures, volume, online_volume = counts[:4]
        fails = dict(zip(PRINCIPLES, counts[4:], strict=True))
        result[org_id] = Figures(
            procedures=procedures,
            digital_procedures=online_procedures,
            volume=volume,
            digital_volume=online_volume,
            matrix={
                p: {PASS: procedures - fails[p], EXEMPT: 0, FAIL: fails[p]} for p in PRINCIPLES
            },
        )
    for org_id, (count, volume) in linked.covered.items():
        figures = result.setdefault(org_id, Figures())
        figures.digital_procedures += count
        figures.digital_volume += volume
    for org_id, exempt in linked.exempt.items():
        figures = result.setdefault(org_id, Figures())
        for p, count in exempt.items():
            figures.matrix[p][EXEMPT] += count
            figures.matrix[p][FAIL] -= count
    for org_id, online, offline in (
        reported.order_by()
        .values("organization_id")
        .annotate(online=Sum("online_cases"), offline=Sum("offline_cases"))
        .values_list("organization_id", "online", "offline")
    ):
        if wanted is not None and org_id not in wanted:
            continue
        figures = result.setdefault(org_id, Figures())
        figures.online_cases += _sum(online)
        figures.offline_cases += _sum(offline)
    return result


def platform_filings(period: Period) -> dict[int, int]:
    """The platform's own filings of the period by procedure id, from their
    running totals (applications.CaseCount)."""
    return {
        procedure_id: _sum(online)
        for procedure_id, online in (
            CaseCount.objects.filter(month__gte=period.first, month__lte=period.last)
            .order_by()
            .values("procedure_id")
            .annotate(online=Sum("online_filings"))
            .values_list("procedure_id", "online")
        )
    }


def with_platform_filings(
    figures: dict[int, Figures], filings: dict[int, int], linked: Linked
) -> dict[int, Figures]:
    """`figures` (changed in place) with the platform's filings (`platform_filings`)
    added to the organizations owning the linked procedures."""
    for procedure_id, online in filings.items():
        if procedure_id in linked.owners:  # the scope's hosted procedures
            figures.setdefault(linked.owners[procedure_id], Figures()).online_cases += online
    return figures


def total(figures: Iterable[Figures]) -> Figures:
    result = Figures()
    for item in figures:
        result += item
    return result


def roll_up(paths: dict[int, str], by_organization: dict[int, Figures]) -> dict[int, Figures]:
    """Each organization's figures with those of every organization below it.
    `paths` maps organization ids to their materialized paths ('/1/4/'): an
    organization's figures are added to each organization on its path."""
    rolled = {org_id: Figures() for org_id in paths}
    for org_id, figures in by_organization.items():
        if org_id not in paths:
            continue
        for part in paths[org_id].strip("/").split("/"):
            above = int(part)
            if above in rolled:
                rolled[above] += figures
    return rolled


# --- The gap to the target ---------------------------------------------------------------------


@dataclass
class Gap:
    target: Decimal
    volume: int
    digital_volume: int
    procedures: int
    digital_procedures: int
    # Cases that must move to digital procedures for the volume-weighted rate to
    # reach the target, and how many procedures that takes, largest first (None
    # when even all of them would not be enough, which cannot happen for a
    # target of at most 100%).
    cases_short: int
    procedures_needed: int | None
    # Procedures short of the target by count.
    count_short: int

    @property
    def reached(self) -> bool:
        return self.cases_short == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": float(self.target),
            "reached": self.reached,
            "cases_short": self.cases_short,
            "procedures_needed": self.procedures_needed,
            "count_short": self.count_short,
        }


def _short(target_rate: Decimal, part: int, whole: int) -> int:
    return max(0, math.ceil(target_rate * whole) - part)


def gap(entries: QuerySet[InventoryEntry], figures: Figures, linked: Linked) -> Gap:
    """How far `figures` (of `entries`) are from the target. Walks the volumes
    of the non-digital procedures, largest first, only as far as needed."""
    goal = target()
    cases_short = _short(goal, figures.digital_volume, figures.volume)
    needed: int | None = 0
    if cases_short:
        needed, moved = None, 0
        volumes = ranked_non_digital(entries, linked).values_list("annual_volume", flat=True)
        # Usually a handful of large procedures close the gap: read a few rows,
        # then twice as many, rather than the whole list.
        start, size = 0, 100
        while needed is None:
            chunk = list(volumes[start : start + size])
            for index, volume in enumerate(chunk, start=start + 1):
                moved += volume
                if moved >= cases_short:
                    needed = index
                    break
            if len(chunk) < size:
                break
            start, size = start + size, size * 2
    return Gap(
        target=goal,
        volume=figures.volume,
        digital_volume=figures.digital_volume,
        procedures=figures.procedures,
        digital_procedures=figures.digital_procedures,
        cases_short=cases_short,
        procedures_needed=needed,
        count_short=_short(goal, figures.digital_procedures, figures.procedures),
    )


def ranked_non_digital(
    entries: QuerySet[InventoryEntry], linked: Linked
) -> QuerySet[InventoryEntry]:
    """The procedures in force that are not digital, the one that would move the
    volume-weighted rate most first: every stage not online, and not covered by
    exemptions (`linked`, of the same day and organizations)."""
    return (
        entries.filter(active=True, stages_online=False)
        .exclude(pk__in=linked.covered_ids)
        .order_by("-annual_volume", "code")
    )
