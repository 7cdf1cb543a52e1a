"""What applications announce to the apps above it (core.hooks)."""

from core.hooks import Hook

case_counted = Hook(
    "applications.case_counted",
    "A filing was counted in the month's CaseCount (procedure=, month=), inside the "
    "submitting transaction. digitization subscribes: the auditors' kept figures "
    "count the filings.",
)

case_event = Hook(
    "applications.case_event",
    "A filing moved in a way the department's own systems follow (application=, "
    "event=, revision=), inside the transaction of the change: event is "
    '"submitted", "corrected" (a correction answered; revision is the new one), '
    '"decided" (approved or rejected) or "withdrawn". deliveries subscribes: one '
    "delivery per target of the procedure that wants the event (docs/deliveries.md).",
)
