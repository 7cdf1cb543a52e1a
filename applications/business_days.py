"""Business days of the city office, for processing periods (標準処理期間).

A business day is a weekday that is neither a Japanese public holiday (including
substitute and citizens' holidays, from jpholiday) nor part of the year-end and
New Year closure, December 29 to January 3 (行政機関の休日に関する法律).
"""

from __future__ import annotations

from datetime import date, timedelta

import jpholiday


def is_business_day(day: date) -> bool:
    if day.weekday() >= 5:
        return False
    if (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3):
        return False
    return not jpholiday.is_holiday(day)


def add_business_days(start: date, count: int) -> date:
    """The `count`-th business day after `start` (the day of filing does not
    count, as in the Civil Code's rule that the first day is not included)."""
    day = start
    remaining = count
    while remaining > 0:
        day += timedelta(days=1)
        if is_business_day(day):
            remaining -= 1
    return day


def business_days_between(start: date, end: date) -> int:
    """Business days in (start, end]: how many business days passed from one date
    to a later one. Zero when `end` is not after `start`."""
    count = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        if is_business_day(day):
            count += 1
    return count
