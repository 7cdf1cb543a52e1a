"""The running totals behind the rates: per organization, its entries in force
(models.InventoryTotals) and the cases its departments reported per month
(models.ReportedCaseTotals).

Every service that changes entries or case reports calls a refresh here, in
its own transaction, for the organizations (and months) it touched. A refresh
recomputes those rows from the entries and reports themselves rather than
adding deltas, so a row is always what a full recount would give; it first
locks the organizations' totals rows, in id order, so two transactions
refreshing the same organization run one after the other and the second one's
recount (a new statement under READ COMMITTED) sees the first one's writes.
`totals_rebuild` recounts everything (after bulk loads; also the repair), and
`totals_mismatches` compares the stored rows with a recount (the tests, and
`manage.py digitization_totals --check`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.apps import apps as installed_apps
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from digitization.figures_cache import figures_changed
from digitization.models import PRINCIPLES

INVENTORY_COUNTS = (
    "procedures",
    "online_procedures",
    "volume",
    "online_volume",
    *[f"fails_{principle}" for principle in PRINCIPLES],
)


def _model(name: str, apps: Any = None) -> Any:
    return (apps or installed_apps).get_model("digitization", name)


def _inventory_recount(ids: list[int] | None, apps: Any = None) -> dict[int, dict[str, int]]:
    online = Q(stages_online=True)
    aggregates: dict[str, Any] = {
        "procedures": Count("pk"),
        "online_procedures": Count("pk", filter=online),
        "volume": Sum("annual_volume"),
        "online_volume": Sum("annual_volume", filter=online),
        **{f"fails_{p}": Count("pk", filter=Q(**{f"fails_{p}": True})) for p in PRINCIPLES},
    }
    entries = _model("InventoryEntry", apps).objects.filter(active=True)
    if ids is not None:
        entries = entries.filter(organization_id__in=ids)
    rows = entries.order_by().values("organization_id").annotate(**aggregates)
    return {
        row["organization_id"]: {name: int(row[name] or 0) for name in INVENTORY_COUNTS}
        for row in rows
    }


def _reported_recount(
    ids: list[int] | None, months: list[date] | None, apps: Any = None
) -> dict[tuple[int, date], tuple[int, int]]:
    reports = _model("CaseReport", apps).objects.all()
    if ids is not None:
        reports = reports.filter(entry__organization_id__in=ids)
    if months is not None:
        reports = reports.filter(month__in=months)
    rows = (
        reports.order_by()
        .values("entry__organization_id", "month")
        .annotate(online=Sum("online_cases"), offline=Sum("offline_cases"))
    )
    return {
        (row["entry__organization_id"], row["month"]): (int(row["online"]), int(row["offline"]))
        for row in rows
    }


def _lock(ids: list[int], apps: Any = None) -> None:
    totals = _model("InventoryTotals", apps)
    totals.objects.bulk_create(
        [totals(organization_id=org_id) for org_id in ids], ignore_conflicts=True
    )
    list(totals.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))


def _write_inventory(ids: list[int], recount: dict[int, dict[str, int]], apps: Any = None) -> None:
    totals = _model("InventoryTotals", apps)
    empty = dict.fromkeys(INVENTORY_COUNTS, 0)
    now = timezone.now()
    rows = [
        totals(organization_id=org_id, updated_at=now, **recount.get(org_id, empty))
        for org_id in ids
    ]
    totals.objects.bulk_update(rows, [*INVENTORY_COUNTS, "updated_at"], batch_size=1000)


def _write_reported(
    ids: list[int],
    months: list[date] | None,
    recount: dict[tuple[int, date], tuple[int, int]],
    apps: Any = None,
) -> None:
    reported = _model("ReportedCaseTotals", apps)
    stale = reported.objects.filter(organization_id__in=ids)
    if months is not None:
        stale = stale.filter(month__in=months)
    stale.exclude(
        pk__in=[
            pk
            for pk, org_id, month in stale.values_list("pk", "organization_id", "month")
            if (org_id, month) in recount
        ]
    ).delete()
    reported.objects.bulk_create(
        [
            reported(organization_id=org_id, month=month, online_cases=on, offline_cases=off)
            for (org_id, month), (on, off) in recount.items()
        ],
        update_conflicts=True,
        unique_fields=["organization", "month"],
        update_fields=["online_cases", "offline_cases"],
        batch_size=1000,
    )


def inventory_totals_refresh(organization_ids: Iterable[int]) -> None:
    """Recount the entries in force of these organizations (call it in the
    transaction that changed them, with the old and the new owner of a moved
    entry)."""
    ids = sorted({org_id for org_id in organization_ids if org_id is not None})
    if not ids:
        return
    with transaction.atomic():
        _lock(ids)
        _write_inventory(ids, _inventory_recount(ids))
        figures_changed()


def reported_totals_refresh(
    organization_ids: Iterable[int], months: Iterable[date] | None = None
) -> None:
    """Recount the reported cases of these organizations, for these months or
    (for an entry that changed owner) all of them."""
    ids = sorted({org_id for org_id in organization_ids if org_id is not None})
    month_list = None if months is None else sorted(set(months))
    if not ids or month_list == []:
        return
    with transaction.atomic():
        _lock(ids)
        _write_reported(ids, month_list, _reported_recount(ids, month_list))
        figures_changed()


def totals_rebuild(apps: Any = None) -> int:
    """Recount every organization (after a bulk load, or to repair); returns the
    number of organizations."""
    ids = sorted(
        (apps or installed_apps)
        .get_model("accounts", "Organization")
        .objects.values_list("pk", flat=True)
    )
    with transaction.atomic():
        _lock(ids, apps)
        _write_inventory(ids, _inventory_recount(ids, apps), apps)
        _write_reported(ids, None, _reported_recount(None, None, apps), apps)
        figures_changed()
    return len(ids)


def totals_mismatches() -> list[str]:
    """Where the stored totals differ from a recount (empty when they agree)."""
    from digitization.models import InventoryTotals, ReportedCaseTotals

    problems = []
    recount = _inventory_recount(None)
    stored = {
        row["organization_id"]: {name: row[name] for name in INVENTORY_COUNTS}
        for row in InventoryTotals.objects.values("organization_id", *INVENTORY_COUNTS)
    }
    empty = dict.fromkeys(INVENTORY_COUNTS, 0)
    for org_id in sorted(set(recount) | set(stored)):
        if recount.get(org_id, empty) != stored.get(org_id, empty):
            problems.append(
                f"organization {org_id}: stored {stored.get(org_id)}, counted {recount.get(org_id)}"
            )
    counted = _reported_recount(None, None)
    kept = {
        (org_id, month): (online, offline)
        for org_id, month, online, offline in ReportedCaseTotals.objects.values_list(
            "organization_id", "month", "online_cases", "offline_cases"
        )
    }
    for key in sorted(set(counted) | set(kept)):
        if counted.get(key) != kept.get(key):
            problems.append(
                f"organization {key[0]} {key[1]:%Y-%m}: stored {kept.get(key)}, counted {counted.get(key)}"
            )
    return problems
