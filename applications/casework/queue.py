"""The clerks' queue: reads of applications for staff, filtered by what the actor
may see (procedures owned by organizations where they may review, and those
organizations' children), with keyset (cursor) pagination so that page 1,000
costs what page 1 costs, and a fixed number of queries per page."""

from __future__ import annotations

import base64
import binascii
import json
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any, NamedTuple

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, F, Field, Func, Q, QuerySet, Value
from django.db.models.lookups import GreaterThan, LessThan
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from accounts.permissions import Action, organizations_where
from applications.business_days import add_business_days
from applications.models import CLOSED_STATUSES, Application, ApplicationStatus
from core.errors import NotFound, ValidationFailed
from core.models import localized
from procedures.models import Procedure

S = ApplicationStatus
# A filing still waiting for its co-signatures is not the office's yet: it is left
# out of the default queue (a clerk may still ask for that state, or open the case).
OPEN_STATUSES = [
    status
    for status in S.values
    if status not in CLOSED_STATUSES and status not in (S.DRAFT, S.COSIGNATURE_PENDING)
]
_OPEN = frozenset(OPEN_STATUSES)
QUEUE_STATUSES = [status for status in S.values if status != S.DRAFT]
SORTS = ("due", "submitted", "-submitted")
ASSIGNEES = ("anyone", "me", "unassigned")
PAGE_SIZE = 25
MAX_PAGE_SIZE = 100


@dataclass
class QueueFilters:
    """What a clerk asks the queue for. Empty `statuses` means every open state."""

    procedure: str = ""
    statuses: list[str] = field(default_factory=list)
    assignee: str = "anyone"
    overdue: bool = False
    due_within: int | None = None  # business days from today
    submitted_from: date | None = None
    submitted_to: date | None = None
    search: str = ""
    sort: str = "due"

    def problems(self) -> dict[str, list[str]]:
        problems: dict[str, list[str]] = {}
        unknown = [
            status for status in self.statuses if status not in S.values or status == S.DRAFT
        ]
        if unknown:
            problems["status"] = [_("Unknown state: %(states)s") % {"states": ", ".join(unknown)}]
        if self.assignee not in ASSIGNEES:
            problems["assignee"] = [_("Choose me, unassigned or anyone.")]
        if self.sort not in SORTS:
            problems["sort"] = [_("Sort by due date or submission time.")]
        if self.due_within is not None and not 0 <= self.due_within <= 365:
            problems["due_within"] = [_("Give a number of business days from 0 to 365.")]
        if self.submitted_from and self.submitted_to and self.submitted_from > self.submitted_to:
            problems["submitted_to"] = [_("The end of the period is before its start.")]
        return problems


class QueueProcedure(NamedTuple):
    """A procedure whose applications the actor reviews, as the queue shows it."""

    id: int
    code: str
    title_ja: str
    title_en: str

    @property
    def title(self) -> str:
        return localized(self, "title")


def reviewable_procedures(actor: Any) -> list[QueueProcedure]:
    """The procedures whose applications the actor may review, by code (one query)."""
    rows = (
        Procedure.objects.filter(
            owning_organization__in=organizations_where(actor, Action.REVIEW_APPLICATIONS)
        )
        .order_by("code")
        .values_list("pk", "code", "title_ja", "title_en")
    )
    return [QueueProcedure._make(row) for row in rows]


def staff_applications(actor: Any, procedure_ids: list[int] | None = None) -> QuerySet[Application]:
    """Every filed application the actor may review (never drafts); `procedure_ids`
    when the caller already looked up the actor's procedures.

    The procedures are looked up first and named by id: PostgreSQL then knows from
    its statistics how many applications they have, and picks the right plan for a
    small department (fetch its few rows and sort them) as for a large bureau (walk
    the due-date index). Through a join it guessed an average share and, for a
    small department in a city of a million applications, walked the whole index
    (1 s instead of 1 ms; docs/performance.md, B2)."""
    if procedure_ids is None:
        procedure_ids = list(
            Procedure.objects.filter(
                owning_organization__in=organizations_where(actor, Action.REVIEW_APPLICATIONS)
            ).values_list("pk", flat=True)
        )
    return Application.objects.filter(procedure_id__in=procedure_ids).exclude(status=S.DRAFT)


def case_for_staff(actor: Any, pk: Any) -> Application:
    """One application for the review page; outside the actor's organizations it
    does not exist for them."""
    try:
        pk = int(pk)
    except (TypeError, ValueError) as error:
        raise NotFound() from error
    application = (
        staff_applications(actor)
        .select_related(
            "procedure__owning_organization",
            "version",
            "applicant",
            "assignee",
            "recommended_by",
            "decided_by",
        )
        .filter(pk=pk)
        .first()
    )
    if application is None:
        raise NotFound()
    return application


def _normalized(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


class Queue:
    """One actor's queue under some filters, for one request. The procedures the
    actor reviews are looked up once and shared by the page, the counts and the
    page's list of procedures (each used to look them up again: docs/performance.md,
    B2)."""

    def __init__(self, actor: Any, filters: QueueFilters) -> None:
        problems = filters.problems()
        if problems:
            raise ValidationFailed(details=problems)
        self.actor = actor
        self.filters = filters

    @cached_property
    def procedures(self) -> list[QueueProcedure]:
        return reviewable_procedures(self.actor)

    def applications(self, *, with_status: bool = True) -> QuerySet[Application]:
        """The applications under the filters (every state when not `with_status`)."""
        if with_status:
            return self._in_any_state.filter(status__in=self.filters.statuses or OPEN_STATUSES)
        return self._in_any_state

    @cached_property
    def _in_any_state(self) -> QuerySet[Application]:
        # Built once for the page and the counts (a queryset is never changed in place).
        filters = self.filters
        procedures = self.procedures
        if filters.procedure:
            procedures = [item for item in procedures if item.code == filters.procedure]
        queryset = staff_applications(self.actor, [item.id for item in procedures])
        if filters.assignee == "me":
            queryset = queryset.filter(assignee=self.actor)
        elif filters.assignee == "unassigned":
            queryset = queryset.filter(assignee__isnull=True)
        today = timezone.localdate()
        if filters.overdue:
            queryset = queryset.filter(due_date__lt=today, status__in=OPEN_STATUSES)
        if filters.due_within is not None:
            queryset = queryset.filter(
                due_date__lte=add_business_days(today, filters.due_within),
                status__in=OPEN_STATUSES,
            )
        if filters.submitted_from:
            queryset = queryset.filter(submitted_at__date__gte=filters.submitted_from)
        if filters.submitted_to:
            queryset = queryset.filter(submitted_at__date__lte=filters.submitted_to)
        search = _normalized(filters.search)
        if search:
            reference = search.upper().replace(" ", "")
            queryset = queryset.filter(
                Q(reference=reference)
                | Q(reference__startswith=reference)
                | Q(applicant_name__icontains=search)
                | Q(applicant__display_name__icontains=search)
                | Q(on_behalf_of_name__icontains=search)
            )
        return queryset

    def _counts_query(self) -> QuerySet:
        # COUNT(*), not COUNT(id): PostgreSQL then counts from the (procedure, status)
        # index alone, without reading the table (docs/performance.md, B2).
        return (
            self.applications(with_status=False)
            .order_by()
            .values_list("status")
            .annotate(total=Count("*"))
        )

    def counts(self) -> dict[str, int]:
        """How many applications are in each state, under every filter but the state
        (one query)."""
        return _per_state(self._counts_query())

    def page(self, cursor: str = "", size: int = PAGE_SIZE) -> QueuePage:
        """One page after `cursor` (the first page without one)."""
        return self._page(cursor, size, with_counts=False)[0]

    def page_and_counts(
        self, cursor: str = "", size: int = PAGE_SIZE
    ) -> tuple[QueuePage, dict[str, int]]:
        """The page and the counts per state, as a queue request shows them, with one
        statement instead of two (docs/performance.md, B2)."""
        page, counts = self._page(cursor, size, with_counts=True)
        return page, counts if counts is not None else self.counts()

    def _page(
        self, cursor: str, size: int, *, with_counts: bool
    ) -> tuple[QueuePage, dict[str, int] | None]:
        size = max(1, min(int(size), MAX_PAGE_SIZE))
        sort = self.filters.sort
        filtered = self.applications()
        payload = _decode(cursor) if cursor else None
        queryset = _after(filtered, sort, payload) if payload else filtered

        def ids_of(applications: QuerySet, limit: int) -> QuerySet:
            # "id", not "pk": the statement around it joins on the column's name.
            return applications.order_by(*_ordering(sort)).values_list("id")[:limit]

        counts = None
        # The counts ride along as arrays, which SQLite (the embedded default) lacks.
        if with_counts and connection.vendor == "postgresql":
            rows, counts = _rows(ids_of(queryset, size + 1), sort, self._counts_query())
        else:
            rows = _rows(ids_of(queryset, size + 1), sort)[0]
        if payload and sort == "due" and payload.get("k") is not None and len(rows) <= size:
            # The dated rows ran out on this page: the rows without a due date follow.
            undated = filtered.filter(due_date__isnull=True)
            rows += _rows(ids_of(undated, size + 1 - len(rows)), sort)[0]
        more = len(rows) > size
        procedures = {item.id: item for item in self.procedures}
        today = timezone.localdate()
        items = [
            QueueRow(
                *values[:2],
                procedures[values[2]],
                *values[3:],
                overdue=_overdue(values[-1], values[7], today),
            )
            for values in rows[:size]
        ]
        next_cursor = _encode(_key(items[-1], sort)) if more and items else None
        return QueuePage(items=items, next_cursor=next_cursor), counts


def _per_state(pairs: Any) -> dict[str, int]:
    counts = dict(pairs)
    return {status: counts.get(status, 0) for status in QUEUE_STATUSES}


# The page's columns (QueueRow's order, the procedure by id) for the ids the ORM chose,
# ordered as each sort's _ordering orders them. Joined after the LIMIT: with the joins
# to the applicant and the assignee in the query that sorts, PostgreSQL joined every
# matching row before sorting (717 rows for a small department's 26: 20 to 40 ms
# instead of 2; docs/performance.md, B2).
_ROWS = """
SELECT a.id, a.reference, a.procedure_id, a.applicant_id,
       COALESCE(NULLIF(a.applicant_name, ''), applicant.display_name),
       a.on_behalf_of_name, a.on_behalf_of_relationship, a.status, a.assignee_id,
       assignee.display_name, a.submitted_at, a.due_date
FROM ({ids}) AS page
JOIN applications_application a ON a.id = page.id
JOIN accounts_user applicant ON applicant.id = a.applicant_id
LEFT JOIN accounts_user assignee ON assignee.id = a.assignee_id
"""
# Qualified by the table (`t`): SQLite does not take a bare "id" for the selected one.
_ORDER = {
    "due": "{t}.due_date ASC NULLS LAST, {t}.id ASC",
    "submitted": "{t}.submitted_at ASC, {t}.id ASC",
    "-submitted": "{t}.submitted_at DESC, {t}.id DESC",
}
# With the counts per state (two arrays, computed once and joined to every row, so
# that an empty page still brings them).
_ROWS_AND_COUNTS = """
SELECT page.*, per_state.states, per_state.totals
FROM (SELECT array_agg(state) AS states, array_agg(total) AS totals
      FROM ({counts}) AS counts (state, total)) AS per_state
LEFT JOIN ({rows}) AS page ON TRUE
ORDER BY {order}
"""


def _rows(
    ids: QuerySet, sort: str, counts: QuerySet | None = None
) -> tuple[list[tuple], dict[str, int] | None]:
    """The page's rows for the ids the ORM selected (every filter, the keyset and the
    LIMIT are the ORM's), and with `counts` (as the ORM compiles them) the counts
    per state in the same statement. Each statement is a round trip and a pass
    through Django's query execution, and compiling the ORM's own two-level query
    for the columns cost about as much as PostgreSQL spends on a small queue
    (docs/performance.md, B2). The counts are None when the ORM finds the query
    can match nothing (no procedures): it then sends no query."""
    try:
        ids_sql, ids_params = ids.query.sql_with_params()
        counts_sql, counts_params = (
            counts.query.sql_with_params() if counts is not None else ("", ())
        )
    except EmptyResultSet:
        return [], None
    rows = _ROWS.format(ids=ids_sql)
    if counts is None:
        statement, params = f"{rows} ORDER BY {_ORDER[sort].format(t='a')}", ids_params
    else:
        statement = _ROWS_AND_COUNTS.format(
            counts=counts_sql, rows=rows, order=_ORDER[sort].format(t="page")
        )
        params = (*counts_params, *ids_params)
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        fetched = cursor.fetchall()
    if connection.vendor != "postgresql":
        fetched = [_typed(row) for row in fetched]
    if counts is None:
        return fetched, None
    states, totals = fetched[0][-2:]
    page = [row[:-2] for row in fetched if row[0] is not None]
    return page, _per_state(zip(states or [], totals or [], strict=True))


def _typed(row: tuple) -> tuple:
    """A row of SQLite (the embedded default), which gives dates and times as text
    to a statement Django did not compile: converted as Django converts them."""
    ops = connection.ops
    submitted_at = ops.convert_datetimefield_value(row[10], None, connection)
    due_date = ops.convert_datefield_value(row[11], None, connection)
    return (*row[:10], submitted_at, due_date, *row[12:])


def _filtered(actor: Any, filters: QueueFilters, *, with_status: bool = True) -> QuerySet:
    return Queue(actor, filters).applications(with_status=with_status)


def state_counts(actor: Any, filters: QueueFilters) -> dict[str, int]:
    """How many applications are in each state, under every filter but the state."""
    return Queue(actor, filters).counts()


# --- Keyset pagination ------------------------------------------------------------------


def _encode(payload: dict) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> dict:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(payload, dict) or not isinstance(payload.get("id"), int):
            raise ValueError
        if not 0 < payload["id"] < 2**63:  # a bigint, or PostgreSQL refuses the query
            raise ValueError
        return payload
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as error:
        raise ValidationFailed(details={"cursor": [_("This page link is not valid.")]}) from error


class _Row(Func):
    """A row value, `(a, b)`, as SQL compares them: column by column, the first
    difference decides."""

    template = "(%(expressions)s)"
    output_field = Field()


def _after(queryset: QuerySet, sort: str, payload: dict) -> QuerySet:
    """Rows after the cursor position in the sort order (ties broken by id).

    Written as one row comparison, `(due_date, id) > (day, last id)`, which
    PostgreSQL uses as a single range of the (status, due_date, id) index: the
    scan starts at the cursor's own row, so page 1,000 costs what page 1 costs.
    An OR of the cases ("later day, or same day and larger id") made it walk the
    index from the start; a range on the day plus a filter for the tie walked
    every row of the cursor's day, twenty thousand at a million applications
    (docs/performance.md, B2). Rows without a due date (sorted last) are fetched
    by `Queue.page` once the dated rows run out."""
    last_id = payload["id"]
    key = payload.get("k")
    if sort == "due":
        if key is None:  # already among the rows without a due date (sorted last)
            return queryset.filter(due_date__isnull=True, id__gt=last_id)
        try:
            day = date.fromisoformat(key)
        except (TypeError, ValueError) as error:
            raise ValidationFailed(
                details={"cursor": [_("This page link is not valid.")]}
            ) from error
        return queryset.filter(
            GreaterThan(_Row(F("due_date"), F("id")), _Row(Value(day), Value(last_id)))
        )
    moment = parse_datetime(key) if isinstance(key, str) else None
    if moment is None:
        raise ValidationFailed(details={"cursor": [_("This page link is not valid.")]})
    after = GreaterThan if sort == "submitted" else LessThan
    return queryset.filter(
        after(_Row(F("submitted_at"), F("id")), _Row(Value(moment), Value(last_id)))
    )


def _ordering(sort: str) -> list[Any]:
    if sort == "due":
        return [F("due_date").asc(nulls_last=True), "id"]
    if sort == "submitted":
        return ["submitted_at", "id"]
    return ["-submitted_at", "-id"]


def _key(row: Any, sort: str) -> dict:
    """The cursor after `row` (a queue row or an application)."""
    if sort == "due":
        value = row.due_date.isoformat() if row.due_date else None
    else:
        value = row.submitted_at.isoformat() if row.submitted_at else None
    return {"k": value, "id": row.id}


STATUS_LABELS = dict(S.choices)


class QueueRow(NamedTuple):
    """An application as the queue shows it: plain values read with one query, not
    model instances (building an application, its applicant and its assignee per
    row was most of the cost of a small queue: docs/performance.md, B2)."""

    id: int
    reference: str
    procedure: QueueProcedure
    applicant_id: int
    applicant_name: str
    on_behalf_of_name: str
    on_behalf_of_relationship: str
    status: str
    assignee_id: int | None
    assignee_name: str | None
    submitted_at: datetime | None
    due_date: date | None
    overdue: bool

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @classmethod
    def of(cls, application: Application) -> QueueRow:
        """The row of an application loaded with its procedure, applicant and assignee."""
        procedure = application.procedure
        assignee = application.assignee
        return cls(
            id=application.pk,
            reference=application.reference,
            procedure=QueueProcedure(
                procedure.pk, procedure.code, procedure.title_ja, procedure.title_en
            ),
            applicant_id=application.applicant_id,
            applicant_name=application.filed_name,
            on_behalf_of_name=application.on_behalf_of_name,
            on_behalf_of_relationship=application.on_behalf_of_relationship,
            status=application.status,
            assignee_id=application.assignee_id,
            assignee_name=assignee.display_name if assignee is not None else None,
            submitted_at=application.submitted_at,
            due_date=application.due_date,
            overdue=is_overdue(application),
        )


@dataclass
class QueuePage:
    items: list[QueueRow]
    next_cursor: str | None


def queue_page(
    actor: Any, filters: QueueFilters, *, cursor: str = "", size: int = PAGE_SIZE
) -> QueuePage:
    """One page of the queue after `cursor` (the first page without one)."""
    return Queue(actor, filters).page(cursor, size)


def _overdue(due_date: date | None, status: str, today: date) -> bool:
    return bool(due_date and due_date < today and status in _OPEN)


def is_overdue(application: Application, today: date | None = None) -> bool:
    today = today or timezone.localdate()
    return _overdue(application.due_date, application.status, today)


def parse_date(text: str, field_name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise ValidationFailed(details={field_name: [_("Enter a date as YYYY-MM-DD.")]}) from error


def filters_from_query(params: Any, *, statuses: list[str] | None = None) -> QueueFilters:
    """Filters from a query string (pages and API read the same parameters)."""
    due_within = params.get("due_within") or None
    if due_within is not None:
        try:
            due_within = int(due_within)
        except ValueError as error:
            raise ValidationFailed(
                details={"due_within": [_("Give a number of business days from 0 to 365.")]}
            ) from error
    return QueueFilters(
        procedure=params.get("procedure", "").strip(),
        statuses=statuses if statuses is not None else [s for s in params.getlist("status") if s],
        assignee=params.get("assignee", "anyone") or "anyone",
        overdue=params.get("overdue") in ("1", "true", "on", "yes"),
        due_within=due_within,
        submitted_from=parse_date(params.get("submitted_from", ""), "submitted_from"),
        submitted_to=parse_date(params.get("submitted_to", ""), "submitted_to"),
        search=params.get("q", "")[:100],
        sort=params.get("sort", "due") or "due",
    )
