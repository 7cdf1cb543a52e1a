"""The daily watch over processing periods: assignees hear about applications due
within two business days, and department admins about overdue ones, in the app
and by e-mail, at most once per application per day (the day is recorded on the
application in the same transaction as the notification). The same daily task runs
the co-signatures' reminders and expiry (applications.cosigning)."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts.models import Membership, User
from accounts.permissions import Action, roles_granting
from accounts.services import notify
from applications.business_days import add_business_days
from applications.models import Application, ApplicationStatus

S = ApplicationStatus
# The clock runs in these states; waiting for the fee or for the resident's
# corrections does not count against the office.
CLOCK_RUNNING = [S.SUBMITTED, S.UNDER_REVIEW, S.RESUBMITTED, S.RECOMMENDED, S.APPROVED]
REMIND_WITHIN_BUSINESS_DAYS = 2


def _link(application: Application) -> str:
    return reverse("casework:case", args=[application.pk])


def _supervisors_by_path() -> dict[str, list[User]]:
    """Active people who may assign applications, by the path of their organization."""
    supervisors: dict[str, list[User]] = {}
    memberships = Membership.objects.filter(
        role__in=roles_granting(Action.ASSIGN_APPLICATIONS), user__is_active=True
    ).select_related("user", "organization")
    for membership in memberships:
        supervisors.setdefault(membership.organization.path, []).append(membership.user)
    return supervisors


def _supervisors_of(path: str, by_path: dict[str, list[User]]) -> list[User]:
    """Supervisors of the organization or any organization above it."""
    found: dict[int, User] = {}
    for supervisor_path, users in by_path.items():
        if path.startswith(supervisor_path):
            for user in users:
                found[user.pk] = user
    return list(found.values())


def deadline_reminders_send(*, today: date | None = None) -> dict[str, int]:
    """Remind and escalate; returns how many of each were sent. Safe to run twice a
    day: an application already reminded (or escalated) today is skipped."""
    today = today or timezone.localdate()
    soon = add_business_days(today, REMIND_WITHIN_BUSINESS_DAYS)
    reminded = escalated = 0
    running = Application.objects.filter(status__in=CLOCK_RUNNING, due_date__isnull=False)

    with transaction.atomic():
        due_soon = (
            running.filter(assignee__isnull=False, due_date__gte=today, due_date__lte=soon)
            .exclude(reminded_on=today)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("assignee", "procedure")
        )
        for application in due_soon:
            notify(
                user=application.assignee,
                subject=gettext_lazy("Due soon: %(reference)s (by %(due)s)"),
                body=gettext_lazy(
                    "%(procedure)s: the standard processing period of this application ends "
                    "on %(due)s."
                ),
                params={
                    "reference": application.reference,
                    "due": application.due_date.isoformat(),
                    "procedure": lambda application=application: application.procedure.title,
                },
                link=_link(application),
            )
            application.reminded_on = today
            application.save(update_fields=["reminded_on"])
            reminded += 1

    with transaction.atomic():
        overdue = (
            running.filter(due_date__lt=today)
            .exclude(escalated_on=today)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("procedure__owning_organization", "assignee")
        )
        by_path = _supervisors_by_path()
        for application in overdue:
            supervisors = _supervisors_of(application.procedure.owning_organization.path, by_path)
            for supervisor in supervisors:
                notify(
                    user=supervisor,
                    subject=gettext_lazy("Overdue: %(reference)s (due %(due)s)"),
                    body=gettext_lazy(
                        "%(procedure)s: the standard processing period of this application "
                        "ended on %(due)s. Assigned to: %(assignee)s."
                    ),
                    params={
                        "reference": application.reference,
                        "due": application.due_date.isoformat(),
                        "procedure": lambda application=application: application.procedure.title,
                        "assignee": application.assignee.display_name
                        if application.assignee
                        else "—",
                    },
                    link=_link(application),
                )
            application.escalated_on = today
            application.save(update_fields=["escalated_on"])
            escalated += 1
    return {"reminded": reminded, "escalated": escalated}
