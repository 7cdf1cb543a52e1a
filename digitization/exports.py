"""Per-procedure and per-organization records as the API, the CSV and JSON
exports and the open data give them. Nothing here names a person: procedures,
organizations, volumes and statuses only.

Large exports are streamed in chunks: each chunk of entries is one query, plus
one for the exemptions of its catalogue procedures."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet

from accounts.models import Organization
from digitization import metrics
from digitization.models import PRINCIPLES, STAGES, InventoryEntry
from digitization.selectors import EntryRow, entry_rows

CHUNK = 2000


def organization_record(organization: Organization) -> dict[str, Any]:
    return {
        "code": organization.code,
        "name_ja": organization.name_ja,
        "name_en": organization.name_en,
    }


def entry_record(row: EntryRow, *, with_pending: bool = True) -> dict[str, Any]:
    entry = row.entry
    record = {
        "code": entry.code,
        "title_ja": entry.title_ja,
        "title_en": entry.title_en,
        "organization": organization_record(entry.organization),
        "channel": entry.channel,
        "hosted": entry.hosted,
        "in_force": entry.active,
        "annual_volume": entry.annual_volume,
        "volume_fiscal_year": entry.volume_fiscal_year,
        "digital": row.digital,
        "stages": dict(row.stages),
        "principles": dict(row.principles),
    }
    if with_pending:
        record["exemptions_requested"] = row.pending
    return record


def figures_record(figures: metrics.Figures) -> dict[str, Any]:
    return {**figures.as_dict(), "matrix": figures.matrix}


def rows_in_chunks(entries: QuerySet[InventoryEntry], today: date) -> Iterator[EntryRow]:
    """Every entry (ordered by code) with its statuses, CHUNK at a time, by keyset
    on the code so no chunk is read twice."""
    last = ""
    while True:
        chunk = list(entries.filter(code__gt=last).order_by("code")[:CHUNK])
        if not chunk:
            return
        yield from entry_rows(chunk, today)
        last = chunk[-1].code


CSV_HEADER = [
    "code",
    "title_ja",
    "title_en",
    "organization_code",
    "organization_ja",
    "organization_en",
    "channel",
    "in_force",
    "annual_volume",
    "volume_fiscal_year",
    "digital",
    *[f"{stage}_stage" for stage in STAGES],
    *PRINCIPLES,
]


def _csv_line(values: Iterable[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(
        [
            "1" if value is True else "0" if value is False else "" if value is None else value
            for value in values
        ]
    )
    return buffer.getvalue()


def entries_csv(rows: Iterable[EntryRow]) -> Iterator[str]:
    """UTF-8 with a byte order mark, so spreadsheet programs read the Japanese."""
    yield "\ufeff" + _csv_line(CSV_HEADER)
    for row in rows:
        entry = row.entry
        yield _csv_line(
            [
                entry.code,
                entry.title_ja,
                entry.title_en,
                entry.organization.code,
                entry.organization.name_ja,
                entry.organization.name_en,
                entry.channel,
                entry.active,
                entry.annual_volume,
                entry.volume_fiscal_year,
                row.digital,
                *[status for _stage, status in row.stages],
                *[status for _principle, status in row.principles],
            ]
        )


def entries_json(
    rows: Iterable[EntryRow], header: dict[str, Any], *, with_pending: bool = True
) -> Iterator[str]:
    """{"...header", "procedures": [...]}, streamed."""
    opening = json.dumps(header, cls=DjangoJSONEncoder, ensure_ascii=False)[:-1]
    yield opening + (', "procedures": [' if header else '"procedures": [')
    first = True
    for row in rows:
        text = json.dumps(
            entry_record(row, with_pending=with_pending), cls=DjangoJSONEncoder, ensure_ascii=False
        )
        yield text if first else "," + text
        first = False
    yield "]}"


DEPARTMENT_HEADER = [
    "code",
    "name_ja",
    "name_en",
    "parent_code",
    "depth",
    "procedures",
    "digital_procedures",
    "volume",
    "digital_volume",
    "online_cases",
    "offline_cases",
    "availability_by_count",
    "availability_by_volume",
    "usage",
]


def departments_csv(
    rows: Iterable[tuple[Organization, metrics.Figures]], parents: dict[int, str]
) -> Iterator[str]:
    yield "\ufeff" + _csv_line(DEPARTMENT_HEADER)
    for organization, figures in rows:
        values = figures.as_dict()
        yield _csv_line(
            [
                organization.code,
                organization.name_ja,
                organization.name_en,
                parents.get(organization.parent_id, ""),
                organization.depth,
                *[values[name] for name in DEPARTMENT_HEADER[5:]],
            ]
        )


def summary_record(overview: Any) -> dict[str, Any]:
    """The headline figures of an Overview: the dashboard's numbers."""
    root = overview.scope.root
    return {
        "organization": organization_record(root) if root is not None else None,
        "as_of": overview.today,
        "period": {
            "fiscal_year": overview.fiscal_year,
            "first_month": f"{overview.period.first:%Y-%m}",
            "last_month": f"{overview.period.last:%Y-%m}",
        },
        "figures": figures_record(overview.figures),
        "gap": overview.gap.as_dict(),
        "exemptions": overview.exemptions,
    }


def department_record(
    organization: Organization, figures: metrics.Figures, parents: dict[int, str]
) -> dict[str, Any]:
    return {
        **organization_record(organization),
        "kind": organization.kind,
        "parent": parents.get(organization.parent_id),
        "depth": organization.depth,
        "figures": figures_record(figures),
    }
