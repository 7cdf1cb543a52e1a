"""Every change the digitization app makes.

Rules enforced here, for pages, the API, tasks and code alike:
- hosted procedures are mirrored from the catalogue (`catalogue_sync`); nobody
  types their stages, principles or volume;
- departments (`digitization.report`) record the procedures outside the platform
  and the cases of each month, only for their own organizations and those
  below; an organization they do not report for does not exist for them;
- the platform's own online filings are counted by the applications app, so a
  department reports only offline cases for a hosted procedure;
- a CSV file is imported whole or not at all;
- snapshots are taken once per day and kind (taking one again replaces it).

Services are keyword-only, run in one transaction, and write their audit event
in it."""

from __future__ import annotations

import contextvars
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization
from accounts.permissions import Action, actor_may, organizations_where
from audit.services import audit_chain_verify, audit_record
from core import request_context
from core.errors import Conflict, NotFound, ValidationFailed
from digitization import imports, metrics, totals
from digitization.assessment import assess_definition, assess_recorded
from digitization.figures_cache import figures_changed
from digitization.models import (
    PRINCIPLES,
    STAGES,
    CaseReport,
    ChainCheck,
    Channel,
    InventoryEntry,
    Snapshot,
    SnapshotKind,
)
from digitization.periods import (
    Period,
    fiscal_year_of,
    is_fiscal_year_end,
    is_month_end,
    month_start,
)
from procedures.models import Procedure, ProcedureStatus, ProcedureVersion, VersionState

SYNC_CACHE_KEY = "digitization:catalogue-fingerprint"
# The request in which the catalogue was last checked: one check per request is
# enough, however many selectors a page calls.
_checked_in_request: contextvars.ContextVar[str] = contextvars.ContextVar(
    "digitization_catalogue_checked", default=""
)


def _user(actor: Any):
    return actor if getattr(actor, "is_authenticated", False) else None


# --- The catalogue, mirrored ----------------------------------------------------------------------


def _catalogue_fingerprint() -> tuple:
    """Changes whenever a procedure is created, changed, retired or published
    (a publication creates a newer version id). Every read of the digitization
    app asks for it, so it is one statement of four small aggregates written
    out: compiling the same aggregate through the ORM (a join, DISTINCT counts
    and filters) cost more than running it (docs/performance.md, B4)."""
    procedures, versions = Procedure._meta.db_table, ProcedureVersion._meta.db_table
    published = VersionState.PUBLISHED.value
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT count(*) FROM {procedures}),"  # noqa: S608 (table names)
            f" (SELECT max(updated_at) FROM {procedures}),"
            f" (SELECT count(*) FROM {versions} WHERE state = %s),"
            f" (SELECT max(id) FROM {versions} WHERE state = %s)",
            [published, published],
        )
        count, changed, published_count, newest_published = cursor.fetchone()
    # A datetime on PostgreSQL, text on SQLite: either way a stable string.
    changed = changed.isoformat() if hasattr(changed, "isoformat") else str(changed or "")
    return (count, changed, published_count, newest_published)


def catalogue_sync(*, force: bool = False) -> int:
    """Mirror the catalogue into the inventory: every active procedure with a
    published version is a hosted entry whose stages and principles come from
    that version's five-less findings; a catalogue procedure not (or no longer)
    published is linked to the entry of the same code, if a department recorded
    one, so that its exemptions count there. Retired procedures stay listed but
    out of force. Returns how many entries were created or changed.

    Cheap when nothing changed (one query), so every read calls it first. Derived
    data, not a decision of anyone's: it is not audited."""
    request_id = request_context.current().request_id
    if not force and request_id and _checked_in_request.get() == request_id:
        return 0
    fingerprint = _catalogue_fingerprint()
    _checked_in_request.set(request_id)
    if not force and cache.get(SYNC_CACHE_KEY) == fingerprint:
        return 0
    published_id = Subquery(
        ProcedureVersion.objects.filter(
            procedure=OuterRef("pk"), state=VersionState.PUBLISHED
        ).values("pk")[:1]
    )
    procedures = list(
        Procedure.objects.annotate(published_id=published_id).values(
            "pk",
            "code",
            "title_ja",
            "title_en",
            "owning_organization_id",
            "annual_volume",
            "status",
            "published_id",
        )
    )
    codes = [row["code"] for row in procedures]
    entries = list(InventoryEntry.objects.filter(Q(procedure__isnull=False) | Q(code__in=codes)))
    by_procedure = {entry.procedure_id: entry for entry in entries if entry.procedure_id}
    by_code = {entry.code: entry for entry in entries}
    to_assess = {
        row["published_id"]
        for row in procedures
        if row["published_id"]
        and getattr(by_procedure.get(row["pk"]), "assessed_version_id", None) != row["published_id"]
    }
    definitions = dict(
        ProcedureVersion.objects.filter(pk__in=to_assess).values_list("pk", "definition")
    )
    changed: list[InventoryEntry] = []
    created: list[InventoryEntry] = []
    touched: set[int] = set()  # organizations whose totals change
    moved: set[int] = set()  # and those an entry left or joined, with its case reports
    with transaction.atomic():
        for row in procedures:
            entry = by_procedure.get(row["pk"]) or by_code.get(row["code"])
            hosted = row["published_id"] is not None and row["status"] == ProcedureStatus.ACTIVE
            if entry is None and not hosted and row["status"] == ProcedureStatus.ACTIVE:
                continue  # a draft in the builder is not (yet) a procedure of the government
            if entry is None:
                entry = InventoryEntry(code=row["code"])
                created.append(entry)
            before, owner = _mirror_state(entry), entry.organization_id
            entry.procedure_id = row["pk"]
            if hosted or entry.channel in ("", Channel.PLATFORM):
                # Hosted now, or hosted once (retired): the catalogue is the truth.
                entry.channel = Channel.PLATFORM
                entry.title_ja = row["title_ja"]
                entry.title_en = row["title_en"]
                entry.organization_id = row["owning_organization_id"]
                entry.annual_volume = row["annual_volume"]
                entry.volume_fiscal_year = None
                entry.active = hosted
                if hosted and entry.assessed_version_id != row["published_id"]:
                    assess_definition(definitions[row["published_id"]]).apply_to(entry)
                    entry.assessed_version_id = row["published_id"]
            if not entry.pk:
                touched.add(entry.organization_id)
            elif _mirror_state(entry) != before:
                changed.append(entry)
                touched |= {owner, entry.organization_id}
                if owner != entry.organization_id:
                    moved |= {owner, entry.organization_id}
        # Hosted entries whose procedure was deleted no longer count.
        orphans = InventoryEntry.objects.filter(
            channel=Channel.PLATFORM, procedure__isnull=True, active=True
        )
        touched |= set(orphans.values_list("organization_id", flat=True))
        orphaned = orphans.update(active=False)
        InventoryEntry.objects.bulk_create(created, ignore_conflicts=True)
        if changed:
            InventoryEntry.objects.bulk_update(changed, _MIRRORED_FIELDS, batch_size=500)
        totals.inventory_totals_refresh(touched)
        totals.reported_totals_refresh(moved)
        transaction.on_commit(lambda: cache.set(SYNC_CACHE_KEY, fingerprint, 24 * 3600))
    return len(created) + len(changed) + orphaned


_MIRRORED_FIELDS = [
    "procedure",
    "channel",
    "title_ja",
    "title_en",
    "organization",
    "annual_volume",
    "volume_fiscal_year",
    "active",
    "assessed_version",
    *[f"{stage}_online" for stage in STAGES],
    "stages_online",
    *[f"fails_{p}" for p in PRINCIPLES],
    *[f"blocks_{p}" for p in PRINCIPLES],
    "stage_principles",
]


def _mirror_state(entry: InventoryEntry) -> tuple:
    return tuple(
        getattr(
            entry,
            f"{name}_id" if name in ("procedure", "organization", "assessed_version") else name,
        )
        for name in _MIRRORED_FIELDS
    )


# --- Procedures outside the platform -------------------------------------------------------------


def _require_reporter(actor: Any, organization: Organization) -> None:
    if actor is not None and not actor_may(actor, Action.REPORT_INVENTORY, organization):
        raise NotFound()


@dataclass(frozen=True)
class EntryData:
    """What a department records for a procedure outside the platform."""

    title_ja: str
    organization: Organization
    channel: str
    annual_volume: int
    volume_fiscal_year: int
    online: Mapping[str, bool]
    breaks: tuple[str, ...] = ()
    title_en: str = ""
    note: str = ""
    active: bool = True


def _check_entry_data(data: EntryData) -> None:
    problems: dict[str, list[str]] = {}
    if data.channel not in (Channel.OTHER_ONLINE, Channel.OFFLINE):
        problems["channel"] = [
            _("Procedures on this platform are added by publishing them in the builder.")
        ]
    if not data.title_ja.strip():
        problems["title_ja"] = [_("Enter the Japanese name of the procedure.")]
    if data.channel == Channel.OTHER_ONLINE and not data.online.get("application"):
        problems["application_online"] = [
            _("A procedure filed in another online system has its application online.")
        ]
    if data.channel == Channel.OFFLINE and all(data.online.get(stage) for stage in STAGES):
        problems["channel"] = [_("Every stage is online: the channel is another online system.")]
    current = fiscal_year_of(timezone.localdate())
    if not (2000 <= data.volume_fiscal_year <= current):
        problems["volume_fiscal_year"] = [
            _("Enter the fiscal year the volume was counted in, 2000 to %(year)d.")
            % {"year": current}
        ]
    if data.annual_volume < 0:
        problems["annual_volume"] = [_("Enter a whole number of cases, 0 or more.")]
    unknown = set(data.breaks) - set(PRINCIPLES)
    if unknown:
        problems["breaks"] = [_("Unknown principle.")]
    if problems:
        raise ValidationFailed(details=problems)


def _apply_entry_data(entry: InventoryEntry, data: EntryData) -> dict[str, Any]:
    """Set the recorded values; returns {field: new value} of what changed."""
    before = {name: getattr(entry, name) for name in _RECORDED_FIELDS}
    entry.title_ja = data.title_ja.strip()
    entry.title_en = data.title_en.strip()
    entry.organization = data.organization
    entry.channel = data.channel
    entry.annual_volume = data.annual_volume
    entry.volume_fiscal_year = data.volume_fiscal_year
    entry.note = data.note.strip()
    entry.active = data.active
    assess_recorded(data.online, data.breaks).apply_to(entry)
    return {
        name: getattr(entry, name)
        for name in _RECORDED_FIELDS
        if getattr(entry, name) != before[name]
    }


_RECORDED_FIELDS = [
    "title_ja",
    "title_en",
    "organization_id",
    "channel",
    "annual_volume",
    "volume_fiscal_year",
    "note",
    "active",
    *[f"{stage}_online" for stage in STAGES],
    *[f"fails_{p}" for p in PRINCIPLES],
]


def _catalogue_procedure(code: str) -> Procedure | None:
    return Procedure.objects.filter(code=code).first()


def inventory_entry_create(*, actor: Any, code: str, data: EntryData) -> InventoryEntry:
    """Record a procedure that lives outside the platform. A catalogue procedure
    of the same code that is not published is linked (its exemptions count); a
    published one is hosted, and cannot be recorded by hand."""
    _require_reporter(actor, data.organization)
    if not imports._CODE.match(code):
        raise ValidationFailed(
            details={
                "code": [
                    _(
                        "Use 2 to 63 lower-case letters, digits and hyphens, starting with a letter or digit."
                    )
                ]
            }
        )
    _check_entry_data(data)
    catalogue_sync()
    procedure = _catalogue_procedure(code)
    try:
        with transaction.atomic():
            entry = InventoryEntry(code=code, procedure=procedure, updated_by=_user(actor))
            _apply_entry_data(entry, data)
            entry.save()
            totals.inventory_totals_refresh([entry.organization_id])
            audit_record(
                actor=actor,
                action="digitization.entry_created",
                target=entry,
                data={
                    "code": code,
                    "organization": data.organization.code,
                    "channel": data.channel,
                },
            )
    except IntegrityError as error:
        raise Conflict(
            _("The inventory already has a procedure with the code “%(code)s”.") % {"code": code},
            code="code_taken",
        ) from error
    return entry


def inventory_entry_update(*, actor: Any, entry: InventoryEntry, data: EntryData) -> InventoryEntry:
    """Change what was recorded for a procedure outside the platform (both the
    old and the new organization must be the actor's)."""
    _require_reporter(actor, entry.organization)
    _require_reporter(actor, data.organization)
    if entry.channel == Channel.PLATFORM:
        raise Conflict(
            _("This procedure is on the platform: its figures come from its published version."),
            code="hosted_entry",
        )
    _check_entry_data(data)
    with transaction.atomic():
        locked = InventoryEntry.objects.select_for_update().get(pk=entry.pk)
        if locked.channel == Channel.PLATFORM:
            raise Conflict(
                _(
                    "This procedure is on the platform: its figures come from its published version."
                ),
                code="hosted_entry",
            )
        owner = locked.organization_id
        changed = _apply_entry_data(locked, data)
        if changed:
            locked.updated_by = _user(actor)
            locked.save()
            totals.inventory_totals_refresh({owner, locked.organization_id})
            if owner != locked.organization_id:
                totals.reported_totals_refresh({owner, locked.organization_id})
            audit_record(
                actor=actor,
                action="digitization.entry_updated",
                target=locked,
                data={"code": locked.code, "fields": sorted(changed)},
            )
    return locked


def inventory_import(*, actor: Any, data: bytes, filename: str = "") -> dict[str, int]:
    """Create or update the entries of a CSV file (imports.INVENTORY_COLUMNS),
    all of them or none."""
    table = imports.read_table(data, imports.INVENTORY_COLUMNS)
    reporting = organizations_where(actor, Action.REPORT_INVENTORY) if actor else None

    def organizations(codes: set[str]) -> dict[str, Organization]:
        found = Organization.objects.filter(code__in=codes)
        if reporting is not None:
            found = found.filter(pk__in=reporting.values("pk"))
        return {org.code: org for org in found}

    def existing(codes: set[str]) -> dict[str, InventoryEntry]:
        found = InventoryEntry.objects.filter(code__in=codes).exclude(channel=Channel.PLATFORM)
        if reporting is not None:
            found = found.filter(organization__in=reporting)
        return {entry.code: entry for entry in found}

    def untouchable(codes: set[str]) -> set[str]:
        published = Procedure.objects.filter(
            code__in=codes, versions__state=VersionState.PUBLISHED
        ).values_list("code", flat=True)
        return set(
            InventoryEntry.objects.filter(code__in=codes).values_list("code", flat=True)
        ) | set(published)

    today = timezone.localdate()
    rows = imports.inventory_rows(
        table,
        organizations=organizations,
        existing=existing,
        hosted_codes=untouchable,
        current_fiscal_year=fiscal_year_of(today),
    )
    catalogue_sync()
    linked = dict(
        Procedure.objects.filter(code__in=[row.code for row in rows]).values_list("code", "pk")
    )
    created = updated = 0
    with transaction.atomic():
        current = {
            entry.code: entry
            for entry in InventoryEntry.objects.select_for_update().filter(
                code__in=[row.code for row in rows]
            )
        }
        new_entries, changed_entries = [], []
        touched: set[int] = set()
        moved: set[int] = set()
        for row in rows:
            entry = current.get(row.code)
            if entry is not None and entry.channel == Channel.PLATFORM:
                raise Conflict(
                    _("“%(code)s” was published on the platform meanwhile; upload the file again.")
                    % {"code": row.code},
                    code="hosted_entry",
                )
            fresh = entry is None
            if fresh:
                entry = InventoryEntry(code=row.code, procedure_id=linked.get(row.code))
            values = EntryData(
                title_ja=row.title_ja,
                title_en=row.title_en,
                organization=row.organization,
                channel=row.channel,
                annual_volume=row.annual_volume,
                volume_fiscal_year=row.fiscal_year,
                online=row.online,
                breaks=tuple(row.breaks),
                note=row.note,
            )
            owner = entry.organization_id
            changes = _apply_entry_data(entry, values)
            entry.updated_by = _user(actor)
            touched |= {owner, entry.organization_id}
            if not fresh and owner != entry.organization_id:
                moved |= {owner, entry.organization_id}
            if fresh:
                new_entries.append(entry)
            elif changes:
                changed_entries.append(entry)
        InventoryEntry.objects.bulk_create(new_entries, batch_size=1000)
        fields = (
            [name.removesuffix("_id") for name in _RECORDED_FIELDS]
            + ["blocks_" + p for p in PRINCIPLES]
            + ["stages_online", "stage_principles", "updated_by", "updated_at"]
        )
        now = timezone.now()
        for entry in changed_entries:
            entry.updated_at = now
        InventoryEntry.objects.bulk_update(changed_entries, fields, batch_size=1000)
        totals.inventory_totals_refresh(touched)
        totals.reported_totals_refresh(moved)
        created, updated = len(new_entries), len(changed_entries)
        audit_record(
            actor=actor,
            action="digitization.inventory_imported",
            target_type="digitization.inventoryentry",
            data={
                "file": filename[:200],
                "sha256": hashlib.sha256(data).hexdigest(),
                "rows": len(rows),
                "created": created,
                "updated": updated,
            },
        )
    return {"rows": len(rows), "created": created, "updated": updated}


# --- Case figures ---------------------------------------------------------------------------------


def _latest_reportable_month() -> date:
    return month_start(timezone.localdate())


def case_report_record(
    *,
    actor: Any,
    entry: InventoryEntry,
    month: date,
    online_cases: int,
    offline_cases: int,
) -> CaseReport:
    """Record (or correct) the cases a department received for a procedure in a
    month. A hosted procedure's online cases are the platform's own count, so
    only its offline cases are reported."""
    _require_reporter(actor, entry.organization)
    month = month_start(month)
    problems: dict[str, list[str]] = {}
    if month > _latest_reportable_month():
        problems["month"] = [_("The month is in the future.")]
    if online_cases < 0:
        problems["online_cases"] = [_("Enter a whole number of cases, 0 or more.")]
    if offline_cases < 0:
        problems["offline_cases"] = [_("Enter a whole number of cases, 0 or more.")]
    if entry.channel == Channel.PLATFORM and online_cases:
        problems["online_cases"] = [
            _(
                "This procedure is on the platform, which counts its online cases itself: leave it empty or 0."
            )
        ]
    if problems:
        raise ValidationFailed(details=problems)
    with transaction.atomic():
        # The entry is locked so that its owner cannot change before the owner's
        # totals read here are refreshed.
        owner = (
            InventoryEntry.objects.select_for_update()
            .values_list("organization_id", flat=True)
            .get(pk=entry.pk)
        )
        report = CaseReport.objects.select_for_update().filter(entry=entry, month=month).first()
        previous = None
        if report is None:
            try:
                with transaction.atomic():
                    report = CaseReport.objects.create(
                        entry=entry,
                        month=month,
                        online_cases=online_cases,
                        offline_cases=offline_cases,
                        reported_by=_user(actor),
                    )
            except IntegrityError:  # reported at the same moment by someone else
                report = CaseReport.objects.select_for_update().get(entry=entry, month=month)
        if (report.online_cases, report.offline_cases) != (online_cases, offline_cases):
            previous = {"online": report.online_cases, "offline": report.offline_cases}
            report.online_cases, report.offline_cases = online_cases, offline_cases
            report.reported_by = _user(actor)
            report.save()
        totals.reported_totals_refresh([owner], [month])
        audit_record(
            actor=actor,
            action="digitization.cases_reported",
            target=report,
            data={
                "code": entry.code,
                "month": f"{month:%Y-%m}",
                "online": online_cases,
                "offline": offline_cases,
                "previous": previous,
            },
        )
    return report


def case_reports_import(*, actor: Any, data: bytes, filename: str = "") -> dict[str, int]:
    """Record the cases of every row of a CSV file (imports.CASE_COLUMNS): all
    rows or, when any row has a problem, none. A row for a month already
    reported replaces that month's figures."""
    table = imports.read_table(data, imports.CASE_COLUMNS)
    reporting = organizations_where(actor, Action.REPORT_INVENTORY) if actor else None

    def entries(codes: set[str]) -> dict[str, InventoryEntry]:
        found = InventoryEntry.objects.filter(code__in=codes)
        if reporting is not None:
            found = found.filter(organization__in=reporting)
        return {entry.code: entry for entry in found}

    catalogue_sync()
    rows = imports.case_rows(table, entries=entries, latest_month=_latest_reportable_month())
    with transaction.atomic():
        # Locked, as in case_report_record, so that no owner changes meanwhile.
        locked = list(
            InventoryEntry.objects.select_for_update()
            .filter(code__in={row.code for row in rows})
            .values_list("code", "pk", "organization_id")
        )
        ids = {code: pk for code, pk, _owner in locked}
        existing = {
            (report.entry_id, report.month): report
            for report in CaseReport.objects.select_for_update().filter(
                entry_id__in=ids.values(), month__in={row.month for row in rows}
            )
        }
        new_reports, changed = [], []
        now = timezone.now()
        for row in rows:
            report = existing.get((ids[row.code], row.month))
            if report is None:
                new_reports.append(
                    CaseReport(
                        entry_id=ids[row.code],
                        month=row.month,
                        online_cases=row.online_cases,
                        offline_cases=row.offline_cases,
                        reported_by=_user(actor),
                    )
                )
            elif (report.online_cases, report.offline_cases) != (
                row.online_cases,
                row.offline_cases,
            ):
                report.online_cases, report.offline_cases = row.online_cases, row.offline_cases
                report.reported_by, report.updated_at = _user(actor), now
                changed.append(report)
        CaseReport.objects.bulk_create(new_reports, batch_size=1000)
        CaseReport.objects.bulk_update(
            changed, ["online_cases", "offline_cases", "reported_by", "updated_at"], batch_size=1000
        )
        totals.reported_totals_refresh(
            {owner for _code, _pk, owner in locked}, {row.month for row in rows}
        )
        audit_record(
            actor=actor,
            action="digitization.cases_imported",
            target_type="digitization.casereport",
            data={
                "file": filename[:200],
                "sha256": hashlib.sha256(data).hexdigest(),
                "rows": len(rows),
                "created": len(new_reports),
                "updated": len(changed),
            },
        )
    return {"rows": len(rows), "created": len(new_reports), "updated": len(changed)}


# --- Snapshots ---------------------------------------------------------------------------------


def snapshot_kinds(day: date) -> list[str]:
    """Every day gets a daily snapshot; the last day of a month also a month-end
    one, and 31 March also a fiscal-year-end one."""
    kinds = [SnapshotKind.DAILY]
    if is_month_end(day):
        kinds.append(SnapshotKind.MONTH_END)
    if is_fiscal_year_end(day):
        kinds.append(SnapshotKind.FISCAL_YEAR_END)
    return kinds


def snapshot_take(*, day: date | None = None, kinds: list[str] | None = None) -> list[Snapshot]:
    """Record today's figures for the whole government and every organization
    (with its subtree): availability as of `day`, usage for its fiscal year to
    date. Idempotent per day and kind: taking it again replaces the figures."""
    day = day or timezone.localdate()
    kinds = kinds or snapshot_kinds(day)
    catalogue_sync()
    by_organization = metrics.figures_by_organization(None, Period.fiscal_year_to_date(day), day)
    paths = dict(Organization.objects.values_list("pk", "path"))
    codes = dict(Organization.objects.values_list("pk", "code"))
    rolled = metrics.roll_up(paths, by_organization)
    overall = metrics.total(by_organization.values())
    organizations = {
        codes[org_id]: figures.counts()
        for org_id, figures in rolled.items()
        if figures.procedures or figures.total_cases
    }
    taken: list[Snapshot] = []
    with transaction.atomic():
        for kind in kinds:
            snapshot, _created = Snapshot.objects.update_or_create(
                taken_on=day,
                kind=kind,
                defaults={
                    "taken_at": timezone.now(),
                    "target": metrics.target(),
                    "fiscal_year": fiscal_year_of(day),
                    **overall.counts(),
                    "organizations": organizations,
                },
            )
            taken.append(snapshot)
        audit_record(
            actor=None,
            action="digitization.snapshot_taken",
            target_type="digitization.snapshot",
            target_id=taken[0].pk,
            data={"date": day, "kinds": kinds, **overall.counts()},
        )
        figures_changed()  # the dashboards' trend
    return taken


# --- The audit chain ----------------------------------------------------------------------------


def audit_chain_check(*, actor: Any = None) -> ChainCheck:
    """Verify the whole audit chain and keep the result for the log viewer."""
    if actor is not None and not actor_may(actor, Action.VIEW_AUDIT_LOG):
        raise NotFound()
    result = audit_chain_verify()
    with transaction.atomic():
        check = ChainCheck.objects.create(
            checked_at=timezone.now(),
            ok=result.ok,
            events_checked=result.checked,
            broken_sequence=result.broken_sequence,
            reason=result.reason[:200],
            requested_by=_user(actor),
        )
        audit_record(
            actor=actor,
            action="digitization.audit_chain_checked",
            target=check,
            data={"ok": result.ok, "checked": result.checked, "broken": result.broken_sequence},
        )
    return check
