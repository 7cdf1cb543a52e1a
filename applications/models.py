from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel


class ApplicationStatus(models.TextChoices):
    """Every state of the default workflow (issue #6 drives the states after
    submission); a resident's own actions are draft, submit and withdraw."""

    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    PAYMENT_PENDING = "payment_pending", _("Waiting for payment")
    UNDER_REVIEW = "under_review", _("Under review")
    CORRECTION_REQUESTED = "correction_requested", _("Correction requested")
    RESUBMITTED = "resubmitted", _("Resubmitted")
    RECOMMENDED = "recommended", _("Recommended for decision")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    RESULT_ISSUED = "result_issued", _("Result issued")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# A decision has been taken (or the resident left): nothing more to withdraw.
CLOSED_STATUSES = frozenset(
    {
        ApplicationStatus.APPROVED,
        ApplicationStatus.REJECTED,
        ApplicationStatus.RESULT_ISSUED,
        ApplicationStatus.WITHDRAWN,
    }
)


class Application(TimeStampedModel):
    """What a resident files. It pins the procedure version it was filed under,
    so publishing a new version never changes an application in flight.

    `answers` holds what the resident typed, step by step, even when invalid (so
    nothing is lost); `data` holds the validated answers frozen at submission.
    Sensitive values (the Individual Number) are stored encrypted in both."""

    reference = models.CharField(_("reference number"), max_length=20, blank=True)
    procedure = models.ForeignKey(
        "procedures.Procedure",
        verbose_name=_("procedure"),
        on_delete=models.PROTECT,
        related_name="applications",
    )
    version = models.ForeignKey(
        "procedures.ProcedureVersion",
        verbose_name=_("procedure version"),
        on_delete=models.PROTECT,
        related_name="applications",
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("applicant"),
        on_delete=models.PROTECT,
        related_name="applications",
    )
    status = models.CharField(
        _("status"),
        max_length=30,
        choices=ApplicationStatus.choices,
        default=ApplicationStatus.DRAFT,
    )
    answers = models.JSONField(_("answers as entered"), default=dict, blank=True)
    data = models.JSONField(_("submitted answers"), default=dict, blank=True)
    current_step = models.CharField(_("current step"), max_length=63, blank=True)
    # Filing on behalf of someone else (proxy filing); blank when filing for oneself.
    on_behalf_of_name = models.CharField(_("filed on behalf of"), max_length=150, blank=True)
    on_behalf_of_relationship = models.CharField(
        _("relationship to that person"), max_length=100, blank=True
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    submission_digest = models.CharField(_("digest of the filing"), max_length=64, blank=True)
    signature = models.CharField(_("platform signature"), max_length=200, blank=True)
    withdrawn_reason = models.TextField(_("reason for withdrawal"), blank=True)

    class Meta:
        ordering = ["-updated_at"]
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        indexes = [
            models.Index(fields=["applicant", "-updated_at"]),
            models.Index(fields=["procedure", "status"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["reference"],
                condition=~Q(reference=""),
                name="application_reference_unique",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | (~Q(reference="") & Q(submitted_at__isnull=False)),
                name="application_submitted_has_reference",
            ),
        ]

    def __str__(self) -> str:
        return self.reference or f"draft #{self.pk}"

    @property
    def owning_organization(self):
        return self.procedure.owning_organization

    @property
    def is_draft(self) -> bool:
        return self.status == ApplicationStatus.DRAFT

    @property
    def can_withdraw(self) -> bool:
        return self.status not in CLOSED_STATUSES and self.status != ApplicationStatus.DRAFT


class EventKind(models.TextChoices):
    DRAFT_STARTED = "draft_started", _("Draft started")
    SUBMITTED = "submitted", _("Submitted")
    RECEIPT_ISSUED = "receipt_issued", _("Receipt issued")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    STATUS_CHANGED = "status_changed", _("Status changed")


class ApplicationEvent(models.Model):
    """The timeline a resident (and the clerk) sees: one row per thing that
    happened to the application, in order. Internal notes are not events."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="events")
    occurred_at = models.DateTimeField(_("time"), auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("what happened"), max_length=40, choices=EventKind.choices)
    from_status = models.CharField(max_length=30, blank=True)
    to_status = models.CharField(max_length=30, blank=True)
    message = models.TextField(_("message"), blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.application} {self.kind}"


class CaseCount(models.Model):
    """Running total of online filings per procedure and month, written in the
    same transaction as each submission, so auditors' rates never count rows."""

    procedure = models.ForeignKey(
        "procedures.Procedure", on_delete=models.CASCADE, related_name="case_counts"
    )
    month = models.DateField(help_text="First day of the month")
    online_filings = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["procedure", "month"], name="case_count_unique_month"),
        ]

    def __str__(self) -> str:
        return f"{self.procedure_id} {self.month:%Y-%m}: {self.online_filings}"
