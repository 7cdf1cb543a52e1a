"""What the payments app needs to know about applications, registered at start-up
(ApplicationsConfig.ready) so that payments never imports applications:

- the subject resolver: what an application owes now, who pays it, to which
  organization, by which methods, and whether paying is allowed now;
- the settlement handler: a fee due before review moves the filing to the queue
  (`payment_settled`); a fee due on approval lets the decision document be issued;
  either way the payment receipt (領収書) is issued;
- the payment check behind the workflow guard `payment_settled`.

When may a resident pay? While the application waits for its fee before review
(`payment_pending`), or once approved while a fee due on approval is unpaid
(as `resident_next_step` says "pay_fee"). Not before: a refusal costs nothing, so
a fee due on approval is not collected in advance.
"""

from __future__ import annotations

import logging

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from applications.casework.services import workflow_act
from applications.documents import payment_receipt_issue
from applications.models import (
    Application,
    ApplicationStatus,
    Decision,
    DocumentKind,
)
from applications.selectors import application_fee
from applications.workflow import fee_settled, register_payment_check
from core.errors import Conflict
from core.tasks import enqueue
from payments.registry import PaymentSubject, register_subject
from payments.selectors import subject_settled

logger = logging.getLogger(__name__)

KIND = "application"
S = ApplicationStatus
ONLINE_METHODS = ("card", "qr_code", "bank_transfer", "convenience_store")


def application_fee_paid(application: Application) -> bool:
    """The workflow's payment check: a settled payment covers the fee."""
    return subject_settled(kind=KIND, subject_id=application.pk, amount=application.fee_amount)


def _payable(application: Application, settled: bool) -> tuple[bool, str, object]:
    if application.fee_amount <= 0:
        return False, "no_fee", _("This application has no fee.")
    if settled:
        return False, "already_paid", _("The fee for this application has been paid.")
    if application.status == S.PAYMENT_PENDING:
        return True, "", ""
    if application.status == S.COSIGNATURE_PENDING:
        # Nothing is collected for a filing that may still stop for want of consent.
        return (
            False,
            "awaiting_cosignatures",
            _("The fee is paid once every required co-signer has signed."),
        )
    if application.status == S.APPROVED and application.decision == Decision.APPROVE:
        return True, "", ""
    if application.status in (S.WITHDRAWN, S.REJECTED, S.RESULT_ISSUED):
        return False, "not_payable", _("No fee is to be paid for this application.")
    return (
        False,
        "not_due",
        _("The fee is not due yet: it is paid once the application is approved."),
    )


def _fee_lines(application: Application) -> list[str]:
    """How the fee was reached, as the check page told it before signing."""
    breakdown = application_fee(application)
    if breakdown is None or not breakdown.explained:
        return []
    return [line.text for line in breakdown.lines]


def resolve_application(subject_id: int, *, lock: bool = False) -> PaymentSubject | None:
    applications = Application.objects.select_related(
        "procedure__owning_organization", "version"
    ).exclude(status=S.DRAFT)
    if lock:
        applications = applications.select_for_update(of=("self",))
    application = applications.filter(pk=subject_id).first()
    if application is None:
        return None
    settled = fee_settled(application)
    payable, code, message = _payable(application, settled)
    procedure = application.procedure
    fee = application.version.fee or {}
    methods = tuple(method for method in fee.get("methods", []) if method in ONLINE_METHODS)
    return PaymentSubject(
        kind=KIND,
        id=application.pk,
        owner_id=application.applicant_id,
        amount_due=0 if settled or not payable else application.fee_amount,
        title=procedure.title,
        description=f"{procedure.title_ja} 手数料（受付番号 {application.reference}）",
        methods=methods,
        organization=procedure.owning_organization,
        payable=payable,
        blocked_code=code,
        blocked_message=message,
        reference=application.reference,
        resident_url=reverse("applications:detail", args=[application.pk]),
        staff_url=reverse("casework:case", args=[application.pk]),
        extra={
            "fee_amount": application.fee_amount,
            "fee_lines": _fee_lines(application),
            "due": fee.get("due", "before_review"),
        },
    )


def application_payment_settled(subject_id: int, payment_id: int) -> bool:
    """Move the application on now that its fee is paid, and issue the payment
    receipt. Idempotent: called again (task retry, reconciliation) it finds the
    application already moved and the receipt already issued."""
    application = Application.objects.filter(pk=subject_id).first()
    if application is None:
        return False
    moved = False
    if application.status == S.PAYMENT_PENDING:
        try:
            workflow_act(actor=None, application=application, action="payment_settled")
            moved = True
        except Conflict as refused:
            # Moved by a concurrent run meanwhile, or the workflow does not allow it.
            logger.info("payment_settled not taken for %s: %s", subject_id, refused.code)
    elif (
        application.status in (S.APPROVED, S.REJECTED)
        and not application.documents.filter(kind=DocumentKind.DECISION).exists()
    ):
        enqueue("applications.tasks.issue_decision", subject_id)
        moved = True
    payment_receipt_issue(application_id=subject_id, payment_id=payment_id)
    return moved


def register() -> None:
    register_payment_check(application_fee_paid)
    register_subject(KIND, resolve=resolve_application, settled=application_payment_settled)
