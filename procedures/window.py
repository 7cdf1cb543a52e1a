"""The application window: when a procedure takes new applications (a subsidy open
from 1 April to 30 April, Japan time). The one rule every path that starts or
submits an application asks (pages, API, code):

- before `opens_at` the procedure is not yet open; from `closes_at` on it is closed
  (`closes_at` is exclusive: a window closing at 2027-05-01T00:00+09:00 still takes
  an application submitted at 23:59:59 on 30 April); an empty bound is no bound;
- only starting a draft and submitting it are refused outside the window; cases
  already submitted go on (corrections, payments, casework, withdrawal), and a
  draft is kept, so that nothing typed is lost if the window opens again;
- residents read the close as the last minute applications are taken ("2027年4月30日
  23:59まで"), never as the exclusive bound, everywhere it is shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import models
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from core.errors import Conflict

# Windows are set and shown in Japan time, whoever looks and wherever the server is.
TOKYO = ZoneInfo("Asia/Tokyo")


class WindowState(models.TextChoices):
    OPEN = "open", pgettext_lazy("application window", "Accepting applications")
    NOT_YET_OPEN = "not_yet_open", pgettext_lazy("application window", "Not yet open")
    CLOSED = "closed", pgettext_lazy("application window", "Closed")


@dataclass(frozen=True)
class ApplicationWindow:
    state: str
    opens_at: datetime | None
    closes_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.state == WindowState.OPEN

    @property
    def opens(self) -> str:
        """When applications open, in Japan time, as residents read it."""
        return format_moment(self.opens_at) if self.opens_at else ""

    @property
    def until(self) -> str:
        """The last minute applications are taken, as residents read it."""
        return format_moment(last_minute(self.closes_at)) if self.closes_at else ""

    @property
    def state_label(self) -> str:
        return WindowState(self.state).label

    @property
    def period(self) -> str:
        """The window in words ("2027年4月1日 0:00 から 2027年4月30日 23:59 まで");
        empty when it has no bound."""
        if self.opens_at and self.closes_at:
            return _("%(opens)s to %(until)s") % {"opens": self.opens, "until": self.until}
        if self.opens_at:
            return _("From %(opens)s") % {"opens": self.opens}
        if self.closes_at:
            return _("Until %(until)s") % {"until": self.until}
        return ""

    @property
    def label(self) -> str:
        """The short status of the catalogue's list and the resident's drafts;
        empty for a procedure open without a deadline (the common case)."""
        if self.state == WindowState.NOT_YET_OPEN:
            return _("Opens on %(opens)s") % {"opens": self.opens}
        if self.state == WindowState.CLOSED:
            return _("Closed: accepted until %(until)s") % {"until": self.until}
        if self.closes_at:
            return _("Open until %(until)s") % {"until": self.until}
        return ""

    @property
    def explanation(self) -> str:
        """What the procedure's page says in place of (or above) the start button."""
        if self.state == WindowState.NOT_YET_OPEN:
            if self.closes_at:
                return _(
                    "Applications open on %(opens)s and are accepted until %(until)s. You "
                    "can start an application from then."
                ) % {"opens": self.opens, "until": self.until}
            return _("Applications open on %(opens)s. You can start an application from then.") % {
                "opens": self.opens
            }
        if self.state == WindowState.CLOSED:
            return _(
                "Applications have closed: they were accepted until %(until)s. No new "
                "application can be started or submitted."
            ) % {"until": self.until}
        if self.closes_at:
            return _(
                "Applications are accepted until %(until)s. Submit yours before then: "
                "after that, a draft can no longer be submitted."
            ) % {"until": self.until}
        return ""

    @property
    def draft_notice(self) -> str:
        """Why a draft cannot be submitted now (its pages, the resident's list, the
        API's next step); empty while the window is open."""
        if self.state == WindowState.NOT_YET_OPEN:
            return _(
                "This draft cannot be submitted yet: applications open on %(opens)s. "
                "It is kept, and you can go on filling it in."
            ) % {"opens": self.opens}
        if self.state == WindowState.CLOSED:
            return _(
                "This draft can no longer be submitted: applications for this procedure "
                "were accepted until %(until)s. It is kept until it expires."
            ) % {"until": self.until}
        return ""

    @property
    def draft_label(self) -> str:
        """The short form of draft_notice, for the resident's list of applications."""
        if self.state == WindowState.NOT_YET_OPEN:
            return _("Can be submitted from %(opens)s") % {"opens": self.opens}
        if self.state == WindowState.CLOSED:
            return _("Cannot be submitted: applications were accepted until %(until)s") % {
                "until": self.until
            }
        return ""


def accepting_applications(procedure: Any, at: datetime | None = None) -> ApplicationWindow:
    """Whether the procedure takes new applications at `at` (now by default): open,
    not yet open or closed, with its bounds."""
    moment = at or timezone.now()
    opens_at, closes_at = procedure.opens_at, procedure.closes_at
    if opens_at is not None and moment < opens_at:
        state = WindowState.NOT_YET_OPEN
    elif closes_at is not None and moment >= closes_at:
        state = WindowState.CLOSED
    else:
        state = WindowState.OPEN
    return ApplicationWindow(state, opens_at, closes_at)


class ProcedureNotOpen(Conflict):
    """Refused outside the application window (409 procedure_not_yet_open or
    procedure_closed); nothing is written and a draft stays as it is."""

    code = "procedure_closed"


def window_require_open(
    procedure: Any, *, submitting: bool, at: datetime | None = None
) -> ApplicationWindow:
    """Raise ProcedureNotOpen unless the procedure takes applications now; the
    message says when it opens or until when it took them."""
    window = accepting_applications(procedure, at)
    if window.is_open:
        return window
    if window.state == WindowState.NOT_YET_OPEN:
        if submitting:
            message = _(
                "This application cannot be submitted yet: applications open on %(opens)s. "
                "Your draft is kept."
            ) % {"opens": window.opens}
        else:
            message = _(
                "Applications for this procedure open on %(opens)s. You can start one then."
            ) % {"opens": window.opens}
        raise ProcedureNotOpen(message, code="procedure_not_yet_open")
    if submitting:
        message = _(
            "This application can no longer be submitted: applications for this procedure "
            "were accepted until %(until)s. Your draft is kept."
        ) % {"until": window.until}
    else:
        message = _(
            "Applications for this procedure have closed: they were accepted until %(until)s."
        ) % {"until": window.until}
    raise ProcedureNotOpen(message, code="procedure_closed")


# Bounds a window may have: any real one, and none the database could not read back
# (a year-1 moment in Japan time is year 0 in UTC).
EARLIEST = datetime(2000, 1, 1, tzinfo=TOKYO)
LATEST = datetime(3000, 1, 1, tzinfo=TOKYO)


def window_problems(opens_at: datetime | None, closes_at: datetime | None) -> dict[str, str]:
    """What is wrong with a window's (aware) bounds, by field: a year out of range,
    or a close at or before the opening. The form, the services and the import all
    refuse these before the database's constraint does."""
    problems = {}
    for name, moment in (("opens_at", opens_at), ("closes_at", closes_at)):
        if moment is not None and not EARLIEST <= moment < LATEST:
            problems[name] = _("Enter a date and time between the years 2000 and 2999.")
    if not problems and opens_at is not None and closes_at is not None and opens_at >= closes_at:
        problems["closes_at"] = _("The closing time must be after the opening time.")
    return problems


def in_japan_time(moment: datetime | None) -> datetime | None:
    """An aware moment; a naive one is read as Japan time."""
    if moment is None or timezone.is_aware(moment):
        return moment
    return moment.replace(tzinfo=TOKYO)


def last_minute(closes_at: datetime) -> datetime:
    """The minute holding the last instant before the exclusive close: 23:59 for a
    close at 0:00, 16:59 for one at 17:00."""
    return (closes_at - timedelta(microseconds=1)).replace(second=0, microsecond=0)


def format_moment(moment: datetime) -> str:
    """A moment in Japan time with the active language's date format:
    "2027年4月1日 0:00", "April 1, 2027, 0:00 (Japan time)"."""
    local = moment.astimezone(TOKYO)
    return _("%(date)s, %(time)s (Japan time)") % {
        "date": formats.date_format(local, "DATE_FORMAT"),
        "time": formats.date_format(local, "G:i"),
    }


def iso_moment(moment: datetime) -> str:
    """ISO 8601 with Japan's offset, as the exchange format writes it."""
    return moment.astimezone(TOKYO).isoformat()
