"""Fiscal years (April to March, named by the calendar year they start in, as
Japanese public bodies do: 令和8年度 = FY2026 = April 2026 to March 2027) and
months, the periods in which cases are counted."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


def fiscal_year_of(day: date) -> int:
    return day.year if day.month >= 4 else day.year - 1


def fiscal_year_start(year: int) -> date:
    return date(year, 4, 1)


def fiscal_year_end(year: int) -> date:
    return date(year + 1, 3, 31)


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def is_month_end(day: date) -> bool:
    return day == month_end(day)


def is_fiscal_year_end(day: date) -> bool:
    return day.month == 3 and day.day == 31


def parse_month(text: str) -> date | None:
    """'2026-04' (or '2026-4', or '2026/04') as the first day of that month, else None."""
    match = _MONTH.match(text.strip().replace("/", "-"))
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not (1 <= month <= 12 and 2000 <= year <= 2100):
        return None
    return date(year, month, 1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """Whole months from `first` to `last` (first days of months), inclusive."""

    first: date
    last: date

    @classmethod
    def fiscal_year(cls, year: int) -> Period:
        return cls(fiscal_year_start(year), date(year + 1, 3, 1))

    @classmethod
    def fiscal_year_to_date(cls, day: date) -> Period:
        year = fiscal_year_of(day)
        return cls(fiscal_year_start(year), month_start(day))

    @property
    def months(self) -> int:
        return (self.last.year - self.first.year) * 12 + self.last.month - self.first.month + 1

    def label(self) -> str:
        return f"{self.first:%Y-%m} – {self.last:%Y-%m}"
