"""Retention of cases: the period a case keeps, from the version it was filed
under, and the day it runs out, fixed when the case ends (core.retention).

It imports the models and core only, so transitions (which end cases) may use it."""

from __future__ import annotations

from datetime import datetime, timedelta

from applications.models import Application, ApplicationStatus
from core.retention import japan_day, kept_until

# A case ends with its decision or its withdrawal; its period runs from then.
ENDING_STATES = frozenset(
    {ApplicationStatus.APPROVED, ApplicationStatus.REJECTED, ApplicationStatus.WITHDRAWN}
)


def period_of(version) -> str:
    """The version's own period (stamped at publication); for a version published
    before periods existed, its department's default."""
    period = (version.definition.get("retention") or {}).get("period")
    return period or version.procedure.owning_organization.default_retention_period


def case_end(locked: Application, moment: datetime) -> None:
    """Record the end of the (locked) case: once, at its first ending state."""
    if locked.ended_at is not None:
        return
    locked.ended_at = moment
    locked.retention_period = period_of(locked.version)
    locked.kept_until = kept_until(locked.retention_period, moment)
    days = (locked.version.definition.get("retention") or {}).get("individual_number_days", 0)
    locked.individual_numbers_erase_on = japan_day(moment) + timedelta(days=days)
