"""What department admins and auditors see of retention (docs/retention.md): the
cases to be purged in the next days, the purged ones counted by month, and the
legal holds. Scoped to the procedures owned by the organizations where the actor
manages procedures or audits (and their children); everything outside does not
exist for them. Each list is one query, whatever its length.

The writes (placing and releasing a hold) are applications.purge's services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.permissions import Action, actor_may, organizations_where
from applications.models import Application, LegalHold
from core.errors import NotFound, ValidationFailed
from core.models import localized
from core.retention import TOKYO, japan_day
from procedures.models import Procedure

UPCOMING_DAYS = 30
PAGE_SIZE = 50
RELEASED_SHOWN = 20
REASON_MAX = 2000  # what applications.purge keeps of a reason


def may_see_retention(actor: Any) -> bool:
    """Department admins (who manage procedures) and auditors, somewhere."""
    return actor_may(actor, Action.MANAGE_PROCEDURES) or actor_may(actor, Action.AUDIT_DIGITIZATION)


def may_hold_somewhere(actor: Any) -> bool:
    """Who may place and release holds at all: department admins (auditors only see)."""
    return actor_may(actor, Action.MANAGE_PROCEDURES)


def may_hold(actor: Any, application: Application) -> bool:
    """The rule of applications.purge's hold services, for pages to offer the forms."""
    return actor_may(actor, Action.MANAGE_PROCEDURES, application.procedure)


@dataclass(frozen=True)
class RetentionProcedure:
    id: int
    code: str
    title_ja: str
    title_en: str
    managed: bool  # the actor manages it: may place and release its holds
    reviewed: bool  # the actor may open its cases (the case page)

    @property
    def title(self) -> str:
        return localized(self, "title")


@dataclass(frozen=True)
class UpcomingCase:
    id: int
    reference: str
    procedure: RetentionProcedure
    ended_at: datetime | None
    kept_until: date
    on_hold: bool


@dataclass(frozen=True)
class ProcedureCount:
    procedure: RetentionProcedure
    count: int


@dataclass(frozen=True)
class PurgedMonth:
    month: date  # the first day of the month, in Japan
    procedure: RetentionProcedure
    count: int


@dataclass(frozen=True)
class HoldRow:
    id: int
    application_id: int
    reference: str
    procedure: RetentionProcedure
    reason: str
    placed_by: str
    placed_at: datetime
    released_by: str
    released_at: datetime | None
    release_reason: str

    @property
    def may_release(self) -> bool:
        return self.released_at is None and self.procedure.managed


def _open_hold() -> Exists:
    return Exists(LegalHold.objects.filter(application=OuterRef("pk"), released_at__isnull=True))


class Retention:
    """One actor's view of retention, for one request. The procedures are looked
    up once and every list names its procedure from them."""

    def __init__(self, actor: Any, today: date | None = None) -> None:
        self.actor = actor
        self.today = today or japan_day(timezone.now())
        self.until = self.today + timedelta(days=UPCOMING_DAYS)

    @cached_property
    def procedures(self) -> dict[int, RetentionProcedure]:
        actor = self.actor
        managing = organizations_where(actor, Action.MANAGE_PROCEDURES)
        auditing = organizations_where(actor, Action.AUDIT_DIGITIZATION)
        rows = (
            Procedure.objects.filter(
                Q(owning_organization__in=managing) | Q(owning_organization__in=auditing)
            )
            .select_related("owning_organization")
            .only("pk", "code", "title_ja", "title_en", "owning_organization__path")
            .order_by("code")
        )
        return {
            procedure.pk: RetentionProcedure(
                id=procedure.pk,
                code=procedure.code,
                title_ja=procedure.title_ja,
                title_en=procedure.title_en,
                # The permission helper on the path already loaded: no query per row.
                managed=actor_may(actor, Action.MANAGE_PROCEDURES, procedure),
                reviewed=actor_may(actor, Action.REVIEW_APPLICATIONS, procedure),
            )
            for procedure in rows
        }

    def _cases(self) -> QuerySet[Application]:
        return Application.objects.filter(procedure_id__in=list(self.procedures))

    # --- To be purged in the next days ---------------------------------------------------

    def _upcoming_cases(self) -> QuerySet[Application]:
        return self._cases().filter(
            purged_at__isnull=True, kept_until__gte=self.today, kept_until__lte=self.until
        )

    def upcoming(self) -> QuerySet:
        """The cases whose last day is from today to UPCOMING_DAYS ahead (Japan's
        days), not purged, soonest first: (id, reference, procedure id, ended at,
        kept until, on hold) tuples, for a paginator; `rows` makes them rows."""
        return (
            self._upcoming_cases()
            .annotate(on_hold=_open_hold())
            .order_by("kept_until", "id")
            .values_list("id", "reference", "procedure_id", "ended_at", "kept_until", "on_hold")
        )

    def rows(self, values) -> list[UpcomingCase]:
        procedures = self.procedures
        return [
            UpcomingCase(pk, reference, procedures[procedure], ended_at, kept_until, on_hold)
            for pk, reference, procedure, ended_at, kept_until, on_hold in values
        ]

    def upcoming_by_procedure(self) -> list[ProcedureCount]:
        counts = (
            self._upcoming_cases().order_by().values_list("procedure_id").annotate(total=Count("*"))
        )
        procedures = self.procedures
        return sorted(
            (ProcedureCount(procedures[procedure], total) for procedure, total in counts),
            key=lambda item: item.procedure.code,
        )

    # --- Purged ---------------------------------------------------------------------------

    def purged_by_month(self) -> list[PurgedMonth]:
        """How many cases were purged, per month (Japan's) and procedure, the most
        recent month first."""
        rows = (
            self._cases()
            .filter(purged_at__isnull=False)
            .annotate(month=TruncMonth("purged_at", tzinfo=TOKYO))
            .order_by()
            .values_list("month", "procedure_id")
            .annotate(total=Count("*"))
        )
        procedures = self.procedures
        found = [
            PurgedMonth(japan_day(month).replace(day=1), procedures[procedure], total)
            for month, procedure, total in rows
        ]
        return sorted(found, key=lambda item: (-item.month.toordinal(), item.procedure.code))

    # --- Legal holds ----------------------------------------------------------------------

    def _holds(self) -> QuerySet:
        return LegalHold.objects.filter(
            application__procedure_id__in=list(self.procedures)
        ).values_list(
            "id",
            "application_id",
            "application__reference",
            "application__procedure_id",
            "reason",
            "placed_by__display_name",
            "placed_at",
            "released_by__display_name",
            "released_at",
            "release_reason",
        )

    def _hold_rows(self, values) -> list[HoldRow]:
        procedures = self.procedures
        return [
            HoldRow(
                id=row[0],
                application_id=row[1],
                reference=row[2],
                procedure=procedures[row[3]],
                reason=row[4],
                placed_by=row[5] or "",
                placed_at=row[6],
                released_by=row[7] or "",
                released_at=row[8],
                release_reason=row[9],
            )
            for row in values
        ]

    def open_holds(self) -> list[HoldRow]:
        """Every open hold (they are few: litigation, open complaints), oldest first."""
        return self._hold_rows(
            self._holds().filter(released_at__isnull=True).order_by("placed_at", "id")
        )

    def released_holds(self, limit: int = RELEASED_SHOWN) -> list[HoldRow]:
        """The most recently released holds."""
        return self._hold_rows(
            self._holds().filter(released_at__isnull=False).order_by("-released_at", "-id")[:limit]
        )


def release_reason(reason: str) -> str:
    """The reason a page or the API gives for a release: required there (the
    service takes an empty one, as the platform's own calls may)."""
    if not (reason or "").strip():
        raise ValidationFailed(details={"reason": [_("Give the reason for the release.")]})
    return reason


def hold_for_release(actor: Any, pk: Any) -> LegalHold:
    """A hold on a case of a procedure the actor manages (department admins);
    any other does not exist for them."""
    try:
        pk = int(pk)
    except (TypeError, ValueError) as error:
        raise NotFound() from error
    procedures = Procedure.objects.filter(
        owning_organization__in=organizations_where(actor, Action.MANAGE_PROCEDURES)
    )
    hold = (
        LegalHold.objects.filter(pk=pk, application__procedure__in=procedures)
        .select_related("application__procedure__owning_organization", "placed_by", "released_by")
        .first()
    )
    if hold is None:
        raise NotFound()
    return hold


def case_holds(actor: Any, application: Application) -> list[LegalHold] | None:
    """The open holds of a case for the case page, or None when the actor may
    not place holds on it (the page then shows no hold section)."""
    if not may_hold(actor, application):
        return None
    return list(
        application.legal_holds.filter(released_at__isnull=True)
        .select_related("placed_by")
        .order_by("placed_at", "id")
    )
