"""Reads of applications, filtered by who asks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from applications.cosigners import needs_replacement
from applications.models import Application, ApplicationEvent, ApplicationStatus, Decision
from applications.sensitive_answers import reveal
from applications.workflow import fee_settled
from core.errors import NotFound
from procedures.fees import FeeBreakdown, fee_breakdown
from procedures.window import WindowState, accepting_applications


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


# Once a decision is taken the resident reads the decision itself, in the words of
# the result on their page ("Approved." / "Not approved.") and of the e-mail, and
# whether its document has reached them. The staff's labels (ApplicationStatus)
# name the workflow's states instead, where "Result issued" alone says neither.
RESIDENT_DECISION_LABELS = {
    (ApplicationStatus.APPROVED, Decision.APPROVE): _("Approved (result document not issued yet)"),
    (ApplicationStatus.REJECTED, Decision.REJECT): _("Not approved (notice not issued yet)"),
    (ApplicationStatus.RESULT_ISSUED, Decision.APPROVE): _("Approved (result sent)"),
    (ApplicationStatus.RESULT_ISSUED, Decision.REJECT): _("Not approved (result sent)"),
}


def resident_status_label(application: Application) -> str:
    """The status as the resident sees it on their pages, in the API and in their
    data: the state's label, except after a decision (RESIDENT_DECISION_LABELS)."""
    label = RESIDENT_DECISION_LABELS.get((application.status, application.decision))
    return str(label) if label is not None else application.get_status_display()


@dataclass(frozen=True)
class NextStep:
    code: str
    message: str


def resident_next_step(application: Application) -> NextStep | None:
    """What the resident must do next, if anything, for the status page and the API."""
    status = application.status
    if status == ApplicationStatus.DRAFT:
        window = accepting_applications(application.procedure)
        if not window.is_open:
            code = (
                "procedure_closed"
                if window.state == WindowState.CLOSED
                else "procedure_not_yet_open"
            )
            return NextStep(code, window.draft_notice)
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


def application_fee(application: Application, data: dict | None = None) -> FeeBreakdown | None:
    """The fee and how it was reached, from the version's fee rules: for a draft,
    from the validated answers given (what the check page shows before signing);
    for a filing, from the answers it was signed with. None for a filing whose
    recorded fee those answers no longer give (the recorded fee is what is owed),
    so no page explains an amount that is not the one charged."""
    fee = application.version.fee or {}
    if application.is_draft:
        return fee_breakdown(fee, data or {})
    breakdown = fee_breakdown(fee, reveal(application.version.form, application.data or {}))
    return breakdown if breakdown.total == application.fee_amount else None
