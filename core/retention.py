"""Retention periods of public records (文書の保存期間) and when one runs out.

The vocabulary is shared by the departments' defaults (accounts), the procedures'
definitions (procedures) and the cases that keep the period they were filed under
(applications), so it lives at the bottom of the layers.

A period runs from the end of the case (decided, withdrawn). By default it starts,
as the Public Records Management Act's order prescribes for administrative files
(公文書等の管理に関する法律施行令 第8条), on the 1st of April after the end, so
a period of 5 years for a case ended on 2026-12-08 keeps it until 2032-03-31;
RETENTION_PERIOD_START = "case_end" counts from the day of the end instead. Days
are Japan's."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

TOKYO = ZoneInfo("Asia/Tokyo")


class RetentionPeriod(models.TextChoices):
    ONE_YEAR = "1y", _("1 year")
    THREE_YEARS = "3y", _("3 years")
    FIVE_YEARS = "5y", _("5 years")
    TEN_YEARS = "10y", _("10 years")
    THIRTY_YEARS = "30y", _("30 years")
    PERMANENT = "permanent", _("Permanently")


DEFAULT_PERIOD = RetentionPeriod.FIVE_YEARS.value


def japan_day(moment: datetime) -> date:
    return moment.astimezone(TOKYO).date()


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


def kept_until(period: str, ended_at: datetime) -> date | None:
    """The last day a case that ended at `ended_at` is kept; None: permanently."""
    if period == RetentionPeriod.PERMANENT:
        return None
    years = int(period.removesuffix("y"))
    ended = japan_day(ended_at)
    if getattr(settings, "RETENTION_PERIOD_START", "fiscal_year") == "case_end":
        return _years_later(ended, years)
    first_april = date(ended.year if ended.month < 4 else ended.year + 1, 4, 1)
    return date(first_april.year + years, 3, 31)
