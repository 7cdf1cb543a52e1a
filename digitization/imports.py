"""Reading departments' CSV files: the case figures of a period, and entries of
the inventory. Parsing and checking only; digitization.services writes, and only
when every row passed (a file is imported whole or not at all).

Rows are numbered as a spreadsheet shows them: the header is row 1. Each problem
names its row and its column (as written in the file's header), so a department
can find and fix it. Files may be UTF-8 (with or without a byte order mark) or
Shift_JIS (CP932), as spreadsheet programs in Japan save them; numbers may carry
thousands separators or be written in full-width digits."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import ValidationFailed
from digitization.models import PRINCIPLES, STAGES, Channel
from digitization.periods import parse_month

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000
MAX_ERRORS = 200
MAX_COUNT = 10**12
_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
TRUE_WORDS = {"1", "yes", "y", "true", "はい", "○", "◯", "可"}
FALSE_WORDS = {"0", "no", "n", "false", "いいえ", "×", "✕", "不可"}


class ImportRejected(ValidationFailed):
    """A file with problems: nothing of it was imported. `details` lists every
    problem as {"row", "column", "message"}."""

    code = "import_rejected"
    default_message = gettext_lazy(
        "The file was not imported: correct the rows listed and upload it again."
    )


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass(frozen=True)
class Column:
    name: str
    aliases: tuple[str, ...] = ()
    required: bool = True

    def matches(self, header: str) -> bool:
        text = unicodedata.normalize("NFKC", header).strip().lower()
        return text == self.name or text in self.aliases


@dataclass
class Table:
    """The file's rows as {column name: text}, each with its row number, and the
    header text of each column (for messages)."""

    headers: dict[str, str]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportRejected(
        details=[
            RowError(
                1, "", _("The file is neither UTF-8 nor Shift_JIS text. Save it as CSV (UTF-8).")
            ).as_dict()
        ]
    )


def read_table(data: bytes, columns: list[Column]) -> Table:
    """Decode and split the file; refuse it when the header lacks a required
    column or names one twice."""
    if len(data) > MAX_BYTES:
        raise ImportRejected(
            details=[
                RowError(
                    1, "", _("The file is larger than %(size)d MB.") % {"size": MAX_BYTES // 2**20}
                ).as_dict()
            ]
        )
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportRejected(details=[RowError(1, "", _("The file is empty.")).as_dict()]) from None
    except csv.Error as error:
        raise ImportRejected(details=[RowError(1, "", str(error)).as_dict()]) from None
    positions: dict[str, int] = {}
    headers: dict[str, str] = {}
    errors: list[RowError] = []
    for index, title in enumerate(header):
        for column in columns:
            if column.matches(title):
                if column.name in positions:
                    errors.append(RowError(1, title, _("This column appears twice.")))
                positions[column.name] = index
                headers[column.name] = title.strip()
    for column in columns:
        if column.required and column.name not in positions:
            errors.append(
                RowError(
                    1,
                    column.name,
                    _("The header has no column “%(name)s”.") % {"name": column.name},
                )
            )
    if errors:
        raise ImportRejected(details=[error.as_dict() for error in errors])
    table = Table(
        headers={column.name: headers.get(column.name, column.name) for column in columns}
    )
    try:
        for number, record in enumerate(reader, start=2):
            if not any(cell.strip() for cell in record):
                continue  # a blank line
            if len(table.rows) >= MAX_ROWS:
                raise ImportRejected(
                    details=[
                        RowError(
                            number,
                            "",
                            _("A file may have at most %(rows)d rows.") % {"rows": MAX_ROWS},
                        ).as_dict()
                    ]
                )
            table.rows.append(
                (
                    number,
                    {
                        name: record[index].strip() if index < len(record) else ""
                        for name, index in positions.items()
                    },
                )
            )
    except csv.Error as error:
        raise ImportRejected(
            details=[RowError(reader.line_num, "", str(error)).as_dict()]
        ) from None
    return table


class Collector:
    """Problems of a file, capped so a wholly wrong file does not produce a
    hundred thousand messages."""

    def __init__(self, table: Table):
        self.table = table
        self.errors: list[RowError] = []
        self.more = 0

    def add(self, row: int, column: str, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RowError(row, self.table.headers.get(column, column), message))
        else:
            self.more += 1

    def raise_if_any(self) -> None:
        if not self.errors:
            return
        details = [error.as_dict() for error in self.errors]
        if self.more:
            details.append(
                {
                    "row": None,
                    "column": "",
                    "message": _("… and %(count)d more problems.") % {"count": self.more},
                }
            )
        raise ImportRejected(details=details)


def parse_count(text: str) -> int | None:
    """A non-negative whole number ('1,234', '１２３４'), else None."""
    cleaned = unicodedata.normalize("NFKC", text).replace(",", "").replace("_", "").strip()
    if not cleaned.isdigit():
        return None
    value = int(cleaned)
    return value if value <= MAX_COUNT else None


def parse_flag(text: str) -> bool | None:
    word = unicodedata.normalize("NFKC", text).strip().lower()
    if word in TRUE_WORDS or text.strip() in TRUE_WORDS:
        return True
    if word in FALSE_WORDS or text.strip() in FALSE_WORDS:
        return False
    return None


# --- Case figures ------------------------------------------------------------------------------

CASE_COLUMNS = [
    Column("procedure_code", ("code", "手続コード")),
    Column("month", ("年月", "月")),
    Column("online_cases", ("online", "オンライン件数")),
    Column("offline_cases", ("offline", "オフライン件数")),
]


@dataclass(frozen=True)
class CaseRow:
    row: int
    code: str
    month: date
    online_cases: int
    offline_cases: int


def case_rows(
    table: Table,
    *,
    entries: Callable[[set[str]], dict[str, Any]],
    latest_month: date,
) -> list[CaseRow]:
    """Check every row of a case-figures file. `entries(codes)` returns the
    inventory entries (by code) the uploader may report for; others are
    reported as unknown, so the file reveals nothing about other departments."""
    found = entries({values["procedure_code"] for _row, values in table.rows})
    problems = Collector(table)
    seen: dict[tuple[str, date], int] = {}
    result: list[CaseRow] = []
    for number, values in table.rows:
        ok = True
        code = values["procedure_code"]
        entry = found.get(code)
        if not code:
            problems.add(number, "procedure_code", _("Enter the procedure code."))
            ok = False
        elif entry is None:
            problems.add(
                number,
                "procedure_code",
                _("“%(code)s” is not a procedure of the inventory that you report for.")
                % {"code": code},
            )
            ok = False
        month = parse_month(values["month"])
        if month is None:
            problems.add(number, "month", _("Write the month as YYYY-MM, for example 2026-04."))
            ok = False
        elif month > latest_month:
            problems.add(number, "month", _("The month is in the future."))
            ok = False
        counts: dict[str, int] = {}
        for name in ("online_cases", "offline_cases"):
            value = parse_count(values[name]) if values[name] else 0
            if value is None:
                problems.add(number, name, _("Enter a whole number of cases, 0 or more."))
                ok = False
            else:
                counts[name] = value
        if ok and entry.hosted and counts["online_cases"]:
            problems.add(
                number,
                "online_cases",
                _(
                    "This procedure is on the platform, which counts its online cases itself: leave it empty or 0."
                ),
            )
            ok = False
        if ok:
            key = (code, month)
            if key in seen:
                problems.add(
                    number,
                    "month",
                    _("Row %(row)d already reports this procedure and month.") % {"row": seen[key]},
                )
                continue
            seen[key] = number
            result.append(
                CaseRow(number, code, month, counts["online_cases"], counts["offline_cases"])
            )
    problems.raise_if_any()
    return result


# --- Inventory entries ----------------------------------------------------------------------------

INVENTORY_COLUMNS = [
    Column("code", ("procedure_code", "手続コード")),
    Column("title_ja", ("手続名",)),
    Column("title_en", ("title", "英語名"), required=False),
    Column("organization", ("organization_code", "所管組織コード")),
    Column("channel", ("受付方法",)),
    Column("annual_volume", ("volume", "年間件数")),
    Column("fiscal_year", ("年度",)),
    *[Column(f"{stage}_online") for stage in STAGES],
    Column("breaks", ("broken_principles", "満たさない原則"), required=False),
    Column("note", ("備考",), required=False),
]
CHANNEL_WORDS = {
    Channel.OTHER_ONLINE: {"other_online", "online", "他のオンラインシステム"},
    Channel.OFFLINE: {"offline", "オフライン", "紙", "窓口"},
}


@dataclass(frozen=True)
class InventoryRow:
    row: int
    code: str
    title_ja: str
    title_en: str
    organization: Any
    channel: str
    annual_volume: int
    fiscal_year: int
    online: dict[str, bool]
    breaks: list[str]
    note: str


def _words(text: str) -> Iterator[str]:
    for word in re.split(r"[\s,;|、]+", unicodedata.normalize("NFKC", text).strip().lower()):
        if word:
            yield word.replace("-", "_")


def inventory_rows(
    table: Table,
    *,
    organizations: Callable[[set[str]], dict[str, Any]],
    existing: Callable[[set[str]], dict[str, Any]],
    hosted_codes: Callable[[set[str]], set[str]],
    current_fiscal_year: int,
) -> list[InventoryRow]:
    """Check every row of an inventory file. `organizations(codes)` gives the
    organizations the uploader reports for; `existing(codes)` the entries of
    those codes that the uploader may change; `hosted_codes(codes)` the codes
    that belong to procedures on the platform or to other departments (which a
    file may not touch)."""
    codes = {values["code"] for _row, values in table.rows}
    orgs = organizations({values["organization"] for _row, values in table.rows})
    mine = existing(codes)
    untouchable = hosted_codes(codes)
    problems = Collector(table)
    seen: dict[str, int] = {}
    result: list[InventoryRow] = []
    for number, values in table.rows:
        ok = True
        code = values["code"]
        if not _CODE.match(code):
            problems.add(
                number,
                "code",
                _(
                    "Use 2 to 63 lower-case letters, digits and hyphens, starting with a letter or digit."
                ),
            )
            ok = False
        elif code in untouchable and code not in mine:
            problems.add(
                number,
                "code",
                _(
                    "“%(code)s” is a procedure on the platform or of another department; it cannot be changed here."
                )
                % {"code": code},
            )
            ok = False
        elif code in seen:
            problems.add(
                number, "code", _("Row %(row)d already has this code.") % {"row": seen[code]}
            )
            ok = False
        else:
            seen[code] = number
        title_ja = values["title_ja"]
        if not title_ja:
            problems.add(number, "title_ja", _("Enter the Japanese name of the procedure."))
            ok = False
        elif len(title_ja) > 200:
            problems.add(number, "title_ja", _("At most 200 characters."))
            ok = False
        title_en = values.get("title_en", "")
        if len(title_en) > 200:
            problems.add(number, "title_en", _("At most 200 characters."))
            ok = False
        organization = orgs.get(values["organization"])
        if organization is None:
            problems.add(
                number,
                "organization",
                _("“%(code)s” is not an organization that you report for.")
                % {"code": values["organization"]},
            )
            ok = False
        channel_word = unicodedata.normalize("NFKC", values["channel"]).strip().lower()
        channel = next((c for c, words in CHANNEL_WORDS.items() if channel_word in words), None)
        if channel is None:
            problems.add(number, "channel", _("Write other_online or offline."))
            ok = False
        volume = parse_count(values["annual_volume"])
        if volume is None:
            problems.add(number, "annual_volume", _("Enter a whole number of cases, 0 or more."))
            ok = False
        fiscal_year = parse_count(values["fiscal_year"])
        if fiscal_year is None or not (2000 <= fiscal_year <= current_fiscal_year):
            problems.add(
                number,
                "fiscal_year",
                _("Enter the fiscal year the volume was counted in, 2000 to %(year)d.")
                % {"year": current_fiscal_year},
            )
            ok = False
        online: dict[str, bool] = {}
        for stage in STAGES:
            flag = parse_flag(values[f"{stage}_online"])
            if flag is None:
                problems.add(number, f"{stage}_online", _("Write 1 (online) or 0 (not online)."))
                ok = False
            else:
                online[stage] = flag
        breaks = list(_words(values.get("breaks", "")))
        unknown = [word for word in breaks if word not in PRINCIPLES]
        if unknown:
            problems.add(
                number,
                "breaks",
                _("Unknown principle “%(word)s”; use %(names)s.")
                % {"word": unknown[0], "names": ", ".join(PRINCIPLES)},
            )
            ok = False
        if ok and channel == Channel.OTHER_ONLINE and not online["application"]:
            problems.add(
                number,
                "application_online",
                _("A procedure filed in another online system has its application online."),
            )
            ok = False
        if ok and channel == Channel.OFFLINE and all(online.values()):
            problems.add(
                number,
                "channel",
                _("Every stage is online: the channel is other_online, not offline."),
            )
            ok = False
        if ok:
            result.append(
                InventoryRow(
                    number,
                    code,
                    title_ja,
                    title_en,
                    organization,
                    channel,
                    volume,
                    fiscal_year,
                    online,
                    breaks,
                    values.get("note", ""),
                )
            )
    problems.raise_if_any()
    return result
