"""What applications announce to the apps above it (core.hooks)."""

from core.hooks import Hook

case_counted = Hook(
    "applications.case_counted",
    "A filing was counted in the month's CaseCount (procedure=, month=), inside the "
    "submitting transaction. digitization subscribes: the auditors' kept figures "
    "count the filings.",
)
