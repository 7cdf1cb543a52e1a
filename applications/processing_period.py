"""The processing period (標準処理期間) of a filing: it counts business days from
the day the filing was complete, and stops while a correction is awaited from the
resident. Called by the services that move an application on (submission, the fee
settled, corrections sent back); a leaf, like applications.transitions.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from applications.business_days import add_business_days, business_days_between
from applications.models import Application, CorrectionRequest


def clock_start(application: Application, moment: datetime) -> None:
    """The filing is complete: the processing period starts counting."""
    day = timezone.localdate(moment)
    application.clock_started_on = day
    application.due_date = add_business_days(
        day, application.procedure.processing_days + application.paused_business_days
    )


def clock_resume(application: Application, correction: CorrectionRequest, moment: datetime) -> None:
    """The resident answered a correction: the business days it was open do not count."""
    paused = business_days_between(
        timezone.localdate(correction.requested_at), timezone.localdate(moment)
    )
    application.paused_business_days += paused
    if application.clock_started_on is not None:
        application.due_date = add_business_days(
            application.clock_started_on,
            application.procedure.processing_days + application.paused_business_days,
        )
