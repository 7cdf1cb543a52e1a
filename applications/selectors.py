"""Reads of applications, filtered by who asks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from applications.cosigners import needs_replacement
from applications.models import Application, ApplicationEvent, ApplicationStatus
from applications.workflow import fee_settled
from core.errors import NotFound


def applications_of(actor: Any) -> QuerySet[Application]:
    """The actor's own applications, newest activity first."""
    if not getattr(actor, "is_authenticated", False):
        return Application.objects.none()
    return Application.objects.filter(applicant=actor).select_related(
        "procedure", "version", "procedure__owning_organization"
    )


def own_application(actor: Any, pk: Any) -> Application:
    """One of the actor's applications; anyone else's does not exist for them."""
    try:
        pk = int(pk)
    except (TypeError, ValueError) as error:
        raise NotFound() from error
    application = applications_of(actor).filter(pk=pk).first()
    if application is None:
        raise NotFound()
    return application


def resident_events(application: Application) -> QuerySet[ApplicationEvent]:
    """The timeline the resident sees: staff-only steps (claiming, assigning,
    recommending) are left out."""
    return application.events.filter(internal=False)


@dataclass(frozen=True)
class NextStep:
    code: str
    message: str


def resident_next_step(application: Application) -> NextStep | None:
    """What the resident must do next, if anything, for the status page and the API."""
    status = application.status
    if status == ApplicationStatus.DRAFT:
        return NextStep("complete_draft", _("Finish the form and submit it."))
    if status == ApplicationStatus.COSIGNATURE_PENDING:
        if needs_replacement(application):
            return NextStep(
                "name_cosigner",
                _(
                    "A co-signer declined or did not answer in time. Name another person or "
                    "ask the same person again, or withdraw the application."
                ),
            )
        return NextStep(
            "wait_for_cosigners",
            _(
                "We asked your co-signers to sign. The application goes on to the office "
                "once every required co-signer has signed."
            ),
        )
    if status == ApplicationStatus.PAYMENT_PENDING:
        return NextStep("pay_fee", _("Pay the fee online. The review starts once it is paid."))
    if status == ApplicationStatus.CORRECTION_REQUESTED:
        return NextStep(
            "answer_correction",
            _("Correct the answers the office asked about and send the corrections."),
        )
    if (
        status == ApplicationStatus.APPROVED
        and application.fee_amount
        and not fee_settled(application)
    ):
        return NextStep("pay_fee", _("Pay the fee online to receive your result."))
    if status == ApplicationStatus.RESULT_ISSUED:
        return NextStep("download_result", _("Download your result document below."))
    if status in (ApplicationStatus.WITHDRAWN,):
        return None
    return NextStep("wait", _("Nothing for now. We will notify you when something changes."))
