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
The same conditions are mirrored in Python (`entry_is_digital`, ...) for
showing single entries; the tests check both agree."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum

from applications.models import CaseCount
from digitization.models import PRINCIPLES, STAGES, CaseReport, InventoryEntry
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


def digital_condition(today: date) -> Q:
    covered = Q(procedure__isnull=False)
    for principle in PRINCIPLES:
        covered &= Q(**{f"blocks_{principle}": False}) | exemption_in_force(principle, today)
    return Q(stages_online=True) | covered


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
        return Figures(
            procedures=self.procedures + other.procedures,
            digital_procedures=self.digital_procedures + other.digital_procedures,
            volume=self.volume + other.volume,
            digital_volume=self.digital_volume + other.digital_volume,
            online_cases=self.online_cases + other.online_cases,
            offline_cases=self.offline_cases + other.offline_cases,
            matrix={
                p: {s: self.matrix[p][s] + other.matrix[p][s] for s in (PASS, EXEMPT, FAIL)}
                for p in PRINCIPLES
            },
        )

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


def _availability_rows(entries: QuerySet[InventoryEntry], today: date) -> list[dict[str, Any]]:
    """Counts, volumes and the matrix per organization, in two queries: entries
    outside the catalogue, to which no exemption can apply (a plain aggregate),
    and the few linked to it, with the exemption subqueries. One query with the
    subqueries for every row is much slower: PostgreSQL's estimate of its cost
    even makes it compile the query (JIT) for seconds."""
    rows = []
    digital = digital_condition(today)
    linked: dict[str, Any] = {
        "n": Count("pk"),
        "n_digital": Count("pk", filter=digital),
        "volume": Sum("annual_volume"),
        "volume_digital": Sum("annual_volume", filter=digital),
    }
    unlinked: dict[str, Any] = {
        "n": Count("pk"),
        "n_digital": Count("pk", filter=Q(stages_online=True)),
        "volume": Sum("annual_volume"),
        "volume_digital": Sum("annual_volume", filter=Q(stages_online=True)),
    }
    for principle in PRINCIPLES:
        for status, condition in principle_conditions(principle, today).items():
            linked[f"{principle}__{status}"] = Count("pk", filter=condition)
        unlinked[f"{principle}__{PASS}"] = Count("pk", filter=Q(**{f"fails_{principle}": False}))
        unlinked[f"{principle}__{FAIL}"] = Count("pk", filter=Q(**{f"fails_{principle}": True}))
    for is_linked, aggregates in ((False, unlinked), (True, linked)):
        rows += list(
            entries.filter(active=True, procedure__isnull=not is_linked)
            .order_by()
            .values("organization_id")
            .annotate(**aggregates)
        )
    return rows


def figures_by_organization(
    entries: QuerySet[InventoryEntry], period: Period, today: date
) -> dict[int, Figures]:
    """Figures of the given entries per owning organization (not rolled up):
    the inventory (availability and the matrix), the reported cases and the
    platform's own filings of the period."""
    result: dict[int, Figures] = {}
    for row in _availability_rows(entries, today):
        figures = result.setdefault(row["organization_id"], Figures())
        figures.procedures += row["n"]
        figures.digital_procedures += row["n_digital"]
        figures.volume += _sum(row["volume"])
        figures.digital_volume += _sum(row["volume_digital"])
        for p in PRINCIPLES:
            for s in (PASS, EXEMPT, FAIL):
                figures.matrix[p][s] += row.get(f"{p}__{s}", 0)
    reported = (
        CaseReport.objects.filter(
            entry__in=entries, month__gte=period.first, month__lte=period.last
        )
        .order_by()
        .values("entry__organization_id")
        .annotate(online=Sum("online_cases"), offline=Sum("offline_cases"))
    )
    for row in reported:
        figures = result.setdefault(row["entry__organization_id"], Figures())
        figures.online_cases += _sum(row["online"])
        figures.offline_cases += _sum(row["offline"])
    filed = (
        CaseCount.objects.filter(
            procedure__inventory_entry__in=entries,
            month__gte=period.first,
            month__lte=period.last,
        )
        .order_by()
        .values("procedure__inventory_entry__organization_id")
        .annotate(online=Sum("online_filings"))
    )
    for row in filed:
        figures = result.setdefault(row["procedure__inventory_entry__organization_id"], Figures())
        figures.online_cases += _sum(row["online"])
    return result


def total(figures: Iterable[Figures]) -> Figures:
    result = Figures()
    for item in figures:
        result = result + item
    return result


def roll_up(paths: dict[int, str], by_organization: dict[int, Figures]) -> dict[int, Figures]:
    """Each organization's figures with those of every organization below it.
    `paths` maps organization ids to their materialized paths ('/1/4/')."""
    own_paths = [
        (paths[org_id], figures) for org_id, figures in by_organization.items() if org_id in paths
    ]
    return {
        org_id: total(figures for own, figures in own_paths if own.startswith(path))
        for org_id, path in paths.items()
    }


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


def gap(entries: QuerySet[InventoryEntry], figures: Figures, today: date) -> Gap:
    """How far `figures` (of `entries`) are from the target. Walks the volumes
    of the non-digital procedures, largest first, only as far as needed."""
    goal = target()
    cases_short = _short(goal, figures.digital_volume, figures.volume)
    needed: int | None = 0
    if cases_short:
        needed, moved = None, 0
        volumes = (
            entries.filter(active=True)
            .exclude(digital_condition(today))
            .order_by("-annual_volume", "code")
            .values_list("annual_volume", flat=True)
        )
        # Usually a handful of large procedures close the gap: read a few rows,
        # then larger slices, rather than the whole list.
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
            start, size = start + size, size * 10
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


def ranked_non_digital(entries: QuerySet[InventoryEntry], today: date) -> QuerySet[InventoryEntry]:
    """The procedures in force that are not digital, the one that would move the
    volume-weighted rate most first."""
    return (
        entries.filter(active=True)
        .exclude(digital_condition(today))
        .order_by("-annual_volume", "code")
    )
