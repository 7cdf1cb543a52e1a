import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from core.retention import RetentionPeriod, japan_day


def _new_public_id() -> str:
    return uuid.uuid4().hex


class ApplicationStatus(models.TextChoices):
    """Every state of the default workflow (issue #6 drives the states after
    submission); a resident's own actions are draft, submit and withdraw."""

    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    # Filed, but the consent of a co-signer the procedure requires is not in yet:
    # not in the clerks' queue, no fee due, the processing period not started.
    COSIGNATURE_PENDING = "cosignature_pending", _("Waiting for co-signatures")
    PAYMENT_PENDING = "payment_pending", _("Waiting for payment")
    UNDER_REVIEW = "under_review", _("Under review")
    CORRECTION_REQUESTED = "correction_requested", _("Correction requested")
    RESUBMITTED = "resubmitted", _("Resubmitted")
    RECOMMENDED = "recommended", _("Recommended for decision")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    RESULT_ISSUED = "result_issued", _("Result issued")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Decision(models.TextChoices):
    APPROVE = "approve", _("Approve")
    REJECT = "reject", _("Reject")


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
    # The applicant's name as the filing states it (set at each signed revision):
    # what clerks, documents and deliveries call the applicant, which need not be
    # the account's display name (a family member's account, a proxy).
    applicant_name = models.CharField(_("applicant's name as filed"), max_length=200, blank=True)
    # Filing on behalf of someone else (proxy filing); blank when filing for oneself.
    on_behalf_of_name = models.CharField(_("filed on behalf of"), max_length=150, blank=True)
    on_behalf_of_relationship = models.CharField(
        _("relationship to that person"), max_length=100, blank=True
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    submission_digest = models.CharField(_("digest of the filing"), max_length=64, blank=True)
    signature = models.CharField(_("platform signature"), max_length=200, blank=True)
    withdrawn_reason = models.TextField(_("reason for withdrawal"), blank=True)
    # The current version of the filing: 1 at submission, +1 per answered correction.
    revision = models.PositiveSmallIntegerField(_("revision"), default=0)
    fee_amount = models.PositiveIntegerField(_("fee (yen)"), default=0)

    # Casework (the workflow engine writes these).
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_applications",
    )
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True)
    # The processing period runs from the day the filing is complete (submitted,
    # or its fee paid when due before review).
    clock_started_on = models.DateField(null=True, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    # Business days spent waiting for the resident's corrections: they do not
    # count toward the processing period (Administrative Procedure Act, art. 6).
    paused_business_days = models.PositiveSmallIntegerField(default=0)
    recommendation = models.CharField(
        _("recommendation"), max_length=10, choices=Decision.choices, blank=True
    )
    recommended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recommended by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    recommendation_reason = models.TextField(_("reason for the recommendation"), blank=True)
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.TextField(_("reason for the decision"), blank=True)
    # Retention (core.retention): the period of the version it was filed under, set
    # at submission; the end of the case (decided, withdrawn) and the last day it is
    # kept, set when it ends (None: permanently); when it was purged to a tombstone.
    retention_period = models.CharField(
        _("retention period"), max_length=10, choices=RetentionPeriod.choices, blank=True
    )
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    kept_until = models.DateField(_("kept until"), null=True, blank=True)
    purged_at = models.DateTimeField(_("purged at"), null=True, blank=True)
    # A draft never submitted is deleted DRAFT_EXPIRY_DAYS after its last change,
    # its owner reminded DRAFT_REMINDER_DAYS before (applications.purge).
    draft_reminded_at = models.DateTimeField(null=True, blank=True)
    # The My Number Act: the Individual Numbers in the answers are erased once the
    # procedure no longer needs them (at its end, or the version's days after).
    individual_numbers_erase_on = models.DateField(null=True, blank=True)
    individual_numbers_erased_at = models.DateTimeField(
        _("Individual Numbers erased at"), null=True, blank=True
    )
    # The daily reminder and escalation run at most once per application per day.
    reminded_on = models.DateField(null=True, blank=True)
    escalated_on = models.DateField(null=True, blank=True)
    # The co-signers a draft names (applications.cosigners), as typed, valid or not,
    # by role key: {"spouse": {"name": ..., "email": ...}}. Their requests are the
    # Cosignature rows made at submission; cosigned_at is when the last required
    # co-signature came in and the filing went on to the office.
    cosigner_answers = models.JSONField(_("co-signers named"), default=dict, blank=True)
    cosigned_at = models.DateTimeField(_("co-signatures complete at"), null=True, blank=True)

    class Meta:
        ordering = ["-updated_at"]
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        indexes = [
            models.Index(fields=["applicant", "-updated_at"]),
            models.Index(fields=["procedure", "status"]),
            # The clerk queue: keyset pagination by due date or submission time.
            models.Index(fields=["status", "due_date", "id"]),
            models.Index(fields=["status", "submitted_at", "id"]),
            models.Index(fields=["assignee", "status"]),
            # The purge: ended cases whose period has run out, not yet purged.
            models.Index(
                fields=["kept_until", "id"],
                name="application_purge_due",
                condition=Q(purged_at__isnull=True, kept_until__isnull=False),
            ),
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
            # Four eyes, kept by the database too: who recommended never decides.
            models.CheckConstraint(
                condition=Q(recommended_by__isnull=True)
                | Q(decided_by__isnull=True)
                | ~Q(recommended_by=F("decided_by")),
                name="application_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return self.reference or f"draft #{self.pk}"

    @property
    def draft_expires_on(self):
        """The day an unsent draft is deleted (Japan's), counted from its last change."""
        if not self.is_draft or self.updated_at is None:
            return None
        return japan_day(self.updated_at + timedelta(days=settings.DRAFT_EXPIRY_DAYS))

    @property
    def draft_expiry_days(self) -> int:
        return settings.DRAFT_EXPIRY_DAYS

    @property
    def filed_name(self) -> str:
        """The applicant as filed; the account's name for an older filing."""
        return self.applicant_name or self.applicant.display_name

    @property
    def owning_organization(self):
        return self.procedure.owning_organization

    @property
    def is_draft(self) -> bool:
        return self.status == ApplicationStatus.DRAFT

    @property
    def can_withdraw(self) -> bool:
        return self.status not in CLOSED_STATUSES and self.status != ApplicationStatus.DRAFT

    @property
    def current_attachments(self):
        return self.attachments.filter(removed_at__isnull=True)

    @property
    def is_correcting(self) -> bool:
        return self.status == ApplicationStatus.CORRECTION_REQUESTED

    @property
    def is_editable(self) -> bool:
        """The resident may change answers: a draft, or while a correction is due."""
        return self.is_draft or self.is_correcting

    @property
    def open_correction(self) -> "CorrectionRequest | None":
        if not self.is_correcting:
            return None
        return self.corrections.filter(answered_at__isnull=True).order_by("-id").first()


class EventKind(models.TextChoices):
    DRAFT_STARTED = "draft_started", _("Draft started")
    SUBMITTED = "submitted", _("Submitted")
    RECEIPT_ISSUED = "receipt_issued", _("Receipt issued")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    STATUS_CHANGED = "status_changed", _("Status changed")
    # Workflow transitions (applications.workflow), named after the action taken.
    PAYMENT_SETTLED = "payment_settled", _("Fee paid")
    CLAIMED = "claim", _("Review started")
    ASSIGNED = "assigned", _("Assigned")
    CORRECTION_REQUESTED = "request_correction", _("Correction requested")
    RESUBMITTED = "resubmit", _("Corrections submitted")
    RECOMMENDED_APPROVAL = "recommend_approval", _("Approval recommended")
    RECOMMENDED_REJECTION = "recommend_rejection", _("Rejection recommended")
    RETURNED = "return_to_review", _("Returned for review")
    APPROVED = "approve", _("Approved")
    REJECTED = "reject", _("Rejected")
    RESULT_ISSUED = "issue_result", _("Result issued")
    # Co-signatures (applications.cosigning).
    COSIGNATURE_REQUESTED = "cosignature_requested", _("Co-signature requested")
    COSIGNED = "cosigned", _("Co-signed")
    COSIGNATURE_DECLINED = "cosignature_declined", _("Co-signature declined")
    COSIGNATURE_EXPIRED = "cosignature_expired", _("Co-signature request expired")
    COSIGNATURES_COMPLETE = "cosignatures_complete", _("All co-signatures received")
    COSIGNATURES_LAPSED = "cosignatures_lapsed", _("Closed: co-signature not obtained")


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
    # Staff-only steps (claiming, assigning, recommending): not on the resident's timeline.
    internal = models.BooleanField(default=False)

    class Meta:
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.application} {self.kind}"


class ApplicationRevision(models.Model):
    """One signed version of a filing: revision 1 at submission, one more each
    time the resident answers a correction request. Nothing is overwritten, so
    clerks and the resident can compare what changed."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveSmallIntegerField(_("revision"))
    data = models.JSONField(_("submitted answers"))
    filing = models.JSONField(_("signed filing"))
    digest = models.CharField(_("digest of the filing"), max_length=64)
    signature = models.CharField(_("platform signature"), max_length=200)
    submitted_at = models.DateTimeField(_("submitted at"))

    class Meta:
        ordering = ["application", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "number"], name="application_revision_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application} r{self.number}"


class CorrectionRequest(models.Model):
    """A clerk's request that the resident fix some answers (補正). The clock of
    the processing period stops while it is open."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="corrections"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    message = models.TextField(_("what to correct"))
    fields = models.JSONField(_("fields to correct"), default=list)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    response = models.TextField(_("resident's note"), blank=True)
    revision = models.PositiveSmallIntegerField(_("revision answering it"), null=True, blank=True)

    class Meta:
        ordering = ["application", "requested_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(answered_at__isnull=True),
                name="correction_one_open_per_application",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application} correction {self.pk}"


class CosignatureStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for the signature")
    SIGNED = "signed", _("Signed")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")


class Cosignature(models.Model):
    """A request to a co-signer (a spouse, a co-owner, a guarantor) named by the
    applicant, and its answer: one row per request, a new one when the applicant
    names someone else or asks again (the earlier one is then superseded).

    The e-mailed link carries a random token; only its SHA-256 is looked up, and the
    token itself is kept encrypted for the reminder's link. A signature is the
    platform's Ed25519 signature over the digest of `document` (RFC 8785), which
    binds the co-signer's consent to the digest of the filing's revision."""

    public_id = models.CharField(max_length=32, unique=True, default=_new_public_id, editable=False)
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="cosignatures"
    )
    role = models.CharField(_("role"), max_length=63)
    required = models.BooleanField(_("required"), default=True)
    identity_level = models.CharField(_("identity required"), max_length=20)
    # The co-signer as the applicant named them.
    name = models.CharField(_("name"), max_length=150)
    email = models.EmailField(_("e-mail address"), max_length=254)
    token_digest = models.CharField(max_length=64, unique=True)
    token_sealed = models.TextField(blank=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=CosignatureStatus.choices,
        default=CosignatureStatus.PENDING,
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    # The link works until the end of this day (Japan's); the co-signer is reminded
    # a few days before, once.
    expires_on = models.DateField(_("answer by"))
    reminded_on = models.DateField(null=True, blank=True)
    # The signed revision of the filing the request is about.
    revision = models.PositiveSmallIntegerField(_("revision"))
    filing_digest = models.CharField(_("digest of the filing"), max_length=64)
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("signed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cosignatures_given",
    )
    # When it stopped waiting: signed, declined, expired or cancelled.
    closed_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    decline_reason = models.TextField(_("reason for declining"), blank=True)
    # A required co-signature declined or expired: the applicant names someone by
    # this day (Japan's), or the application is closed (cosignatures_lapsed).
    replace_by = models.DateField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    document = models.JSONField(_("signed co-signature"), default=dict, blank=True)
    digest = models.CharField(_("digest of the co-signature"), max_length=64, blank=True)
    signature = models.CharField(_("platform signature"), max_length=200, blank=True)

    class Meta:
        ordering = ["application", "requested_at", "id"]
        verbose_name = _("co-signature")
        verbose_name_plural = _("co-signatures")
        indexes = [
            # The daily run: pending requests by the day they run out.
            models.Index(
                fields=["expires_on", "id"],
                name="cosignature_pending_due",
                condition=Q(status="pending"),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "role"],
                condition=Q(superseded_at__isnull=True),
                name="cosignature_one_current_per_role",
            ),
            models.CheckConstraint(
                condition=~Q(status="signed")
                | (Q(signer__isnull=False) & ~Q(digest="") & ~Q(signature="")),
                name="cosignature_signed_has_signature",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application} co-signature {self.role}"

    @property
    def is_pending(self) -> bool:
        return self.status == CosignatureStatus.PENDING

    @property
    def is_current(self) -> bool:
        return self.superseded_at is None


class CosignerEmailKind(models.TextChoices):
    INVITATION = "invitation", _("Request to co-sign")
    REMINDER = "reminder", _("Reminder")


class CosignerEmail(models.Model):
    """An e-mail to a co-signer (who may have no account yet, so no Notification):
    sent once, after the commit that made it, by the claim of accounts.mail."""

    cosignature = models.ForeignKey(Cosignature, on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(max_length=12, choices=CosignerEmailKind.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} for {self.cosignature_id}"


class InternalNote(models.Model):
    """A note among staff about an application; never shown to the resident."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    text = models.TextField(_("note"))

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"note {self.pk} on {self.application}"


def attachment_path(instance: "Attachment", filename: str) -> str:
    """A generated name under MEDIA_ROOT (outside the web root); the resident's
    own file name is kept only in the database."""
    return f"attachments/{timezone.now():%Y/%m}/{uuid.uuid4().hex}"


class ScanResult(models.TextChoices):
    CLEAN = "clean", _("No virus found")
    SKIPPED = "skipped", _("Not scanned (no scanner configured)")


class Attachment(TimeStampedModel):
    """A file uploaded for a file field of an application. The answer of that
    field holds the attachments' public ids; the digest goes into the signed
    filing, so the file cannot be swapped afterwards unnoticed."""

    public_id = models.CharField(max_length=32, unique=True, default=_new_public_id, editable=False)
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="attachments"
    )
    field_key = models.CharField(_("field"), max_length=63)
    original_name = models.CharField(_("file name"), max_length=120)
    file = models.FileField(upload_to=attachment_path, max_length=200)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    scan_result = models.CharField(max_length=10, choices=ScanResult.choices)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # A file replaced while answering a correction is kept for the history
    # (an earlier signed revision lists its digest), only marked as removed.
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        indexes = [models.Index(fields=["application", "field_key"])]

    def __str__(self) -> str:
        return self.original_name


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


class DocumentKind(models.TextChoices):
    RECEIPT = "receipt", _("Receipt")
    DECISION = "decision", _("Decision notice")
    PAYMENT_RECEIPT = "payment_receipt", _("Payment receipt")


def document_upload_to(instance: "IssuedDocument", filename: str) -> str:
    """documents/<year>/<random>.pdf: the name says nothing about the application,
    and the files live under MEDIA_ROOT, outside the web root."""
    return f"documents/{timezone.localdate():%Y}/{secrets.token_hex(16)}.pdf"


class IssuedDocument(TimeStampedModel):
    """A PDF the platform issued (receipt, decision, payment receipt), signed so
    that anyone holding it can check it: by its verification code, or by uploading
    the file (its SHA-256 must match `pdf_digest`).

    `content` is what the document says, as data; `content_digest` is the SHA-256
    of its canonical JSON. The signature covers `seal_digest`, which binds the
    kind, the verification code, the content digest and the PDF digest together,
    so none of them can be changed in the database without the check failing."""

    application = models.ForeignKey(
        Application,
        verbose_name=_("application"),
        on_delete=models.PROTECT,
        related_name="documents",
    )
    kind = models.CharField(_("kind of document"), max_length=20, choices=DocumentKind.choices)
    title = models.CharField(_("title"), max_length=200)
    # "ABCD-EFGH-JKMN-PQRS": 16 characters of the reference alphabet (about 79 bits).
    verification_code = models.CharField(_("verification code"), max_length=19, unique=True)
    content = models.JSONField(_("content"), default=dict)
    content_digest = models.CharField(_("SHA-256 of the content"), max_length=64)
    pdf_digest = models.CharField(_("SHA-256 of the PDF"), max_length=64, db_index=True)
    signature = models.CharField(_("platform signature"), max_length=200)
    pdf = models.FileField(_("PDF file"), upload_to=document_upload_to, max_length=200)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("issued document")
        verbose_name_plural = _("issued documents")
        constraints = [
            models.UniqueConstraint(
                fields=["application", "kind"],
                condition=Q(kind="receipt"),
                name="issued_document_one_receipt",
            ),
            models.UniqueConstraint(
                fields=["application", "kind"],
                condition=Q(kind="decision"),
                name="issued_document_one_decision",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.verification_code})"

    @property
    def seal(self) -> dict[str, str]:
        """What the platform signs for this document."""
        return {
            "kind": self.kind,
            "verification_code": self.verification_code,
            "content_digest": self.content_digest,
            "pdf_digest": self.pdf_digest,
        }

    @property
    def issued_at(self):
        return self.created_at


class LegalHold(models.Model):
    """A department admin's hold on a case (litigation, an open complaint): while
    one is open (not released), the case is never purged, whatever its period."""

    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="legal_holds"
    )
    reason = models.TextField(_("reason"))
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    placed_at = models.DateTimeField(_("placed at"), default=timezone.now)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    release_reason = models.TextField(_("reason for the release"), blank=True)

    class Meta:
        ordering = ["-placed_at"]
        verbose_name = _("legal hold")
        verbose_name_plural = _("legal holds")
        indexes = [
            models.Index(
                fields=["application"],
                name="legal_hold_open",
                condition=Q(released_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.application} hold #{self.pk}"


class PendingFileRemoval(models.Model):
    """A stored file to remove once the transaction that let go of it has
    committed (the purge): removed by the purge right after, or by its next run."""

    name = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name
