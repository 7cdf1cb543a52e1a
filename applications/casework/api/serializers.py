"""Shapes of the casework API (staff). Input serializers check only the shape of a
request; the rules live in applications.casework.services. The case is rendered from the
same case file (applications.casework.review) as the review page, so both show the same:
answers with the Individual Number masked, revisions with their signature checked,
the full timeline with staff-only steps, internal notes."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from applications.api.serializers import (
    ANSWERS_HELP,
    ApplicationProcedureSerializer,
    AttachmentSerializer,
    OnBehalfOfSerializer,
    masked_answers,
)
from applications.casework.queue import QueueRow, is_overdue
from applications.casework.review import previewable
from applications.workflow import ACTION_LABELS

STATUS_HELP = (
    "submitted, cosignature_pending (waiting for co-signers; not in the default queue), "
    "payment_pending, under_review, correction_requested, resubmitted, recommended, approved, "
    "rejected, result_issued or withdrawn."
)

# --- Input ----------------------------------------------------------------------------------


class ClaimNextSerializer(serializers.Serializer):
    procedure = serializers.SlugField(
        max_length=63,
        required=False,
        allow_blank=True,
        default="",
        help_text="Only applications of this procedure (its code); any procedure if blank.",
    )


class ActionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=sorted(ACTION_LABELS),
        help_text="claim, request_correction, recommend_approval, recommend_rejection, "
        "return_to_review, approve or reject (see allowed_actions of the case).",
    )
    comment = serializers.CharField(
        max_length=4000,
        required=False,
        allow_blank=True,
        default="",
        help_text="The message or reason; required by request_correction, "
        "recommend_rejection, return_to_review and reject.",
    )
    fields = serializers.ListField(
        child=serializers.SlugField(max_length=63),
        required=False,
        default=list,
        max_length=200,
        help_text="request_correction: keys of the answers the resident must correct.",
    )


class AssignSerializer(serializers.Serializer):
    assignee = serializers.IntegerField(
        allow_null=True, help_text="Id of a reviewer of the procedure; null to unassign."
    )


class BulkAssignSerializer(AssignSerializer):
    applications = serializers.ListField(
        child=serializers.IntegerField(),
        min_length=1,
        max_length=100,
        help_text="Ids of the applications; all are assigned or none.",
    )


class NoteInputSerializer(serializers.Serializer):
    text = serializers.CharField(
        max_length=4000, help_text="Seen by staff only, never by the resident."
    )


# --- Output ---------------------------------------------------------------------------------


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="display_name")


class ApplicantSerializer(serializers.Serializer):
    """The applicant of a case: the name the filing states, and the account it came from."""

    id = serializers.IntegerField(source="applicant_id")
    name = serializers.CharField(
        source="filed_name",
        help_text="The applicant as filed (a proxy filing: the person filing).",
    )
    account_name = serializers.CharField(
        source="applicant.display_name", help_text="The name of the account that filed."
    )


# The fields document a queue row's shape (OpenAPI); `queue_item` builds it, here from
# a model instance (bulk assignment answers with the rows it changed).
class QueueItemSerializer(serializers.Serializer):
    """An application in the queue."""

    id = serializers.IntegerField()
    reference = serializers.CharField()
    procedure = ApplicationProcedureSerializer()
    applicant = PersonSerializer()
    on_behalf_of = serializers.SerializerMethodField(
        help_text="The person filed for; null when the applicant filed for themselves."
    )
    status = serializers.CharField(help_text=STATUS_HELP)
    status_label = serializers.CharField(source="get_status_display")
    assignee = PersonSerializer(allow_null=True)
    submitted_at = serializers.DateTimeField()
    due_date = serializers.DateField(allow_null=True)
    overdue = serializers.SerializerMethodField(help_text="Open and past its due date.")
    url = serializers.SerializerMethodField(help_text="The case in this API.")

    def to_representation(self, instance) -> dict[str, Any]:
        return queue_item(QueueRow.of(instance), case_url_template())

    @extend_schema_field(OnBehalfOfSerializer(allow_null=True))
    def get_on_behalf_of(self, application) -> dict[str, str] | None:
        return on_behalf_of(application.on_behalf_of_name, application.on_behalf_of_relationship)

    def get_overdue(self, application) -> bool:
        return is_overdue(application)

    def get_url(self, application) -> str:
        return reverse("api-queue-case", args=[application.pk])


def on_behalf_of(name: str, relationship: str) -> dict[str, str] | None:
    return {"name": name, "relationship": relationship} if name else None


_DATETIME = serializers.DateTimeField()
_DATE = serializers.DateField()
_ID_MARK = "2147483647"


def case_url_template() -> str:
    """The case URL with `{}` for the id (reversed once per page, not once per row)."""
    return reverse("api-queue-case", args=[int(_ID_MARK)]).replace(_ID_MARK, "{}")


def queue_item(row: QueueRow, case_url: str) -> dict[str, Any]:
    """A queue row in the shape QueueItemSerializer documents, built directly: the
    nested serializers' field machinery cost more than the query for a small queue
    (docs/performance.md, B2). The times go through DRF's own fields, so they read
    exactly as elsewhere in the API."""
    procedure = row.procedure
    return {
        "id": row.id,
        "reference": row.reference,
        "procedure": {"code": procedure.code, "title": procedure.title},
        "applicant": {"id": row.applicant_id, "name": row.applicant_name},
        "on_behalf_of": on_behalf_of(row.on_behalf_of_name, row.on_behalf_of_relationship),
        "status": row.status,
        "status_label": str(row.status_label),
        "assignee": {"id": row.assignee_id, "name": row.assignee_name}
        if row.assignee_id is not None
        else None,
        "submitted_at": _DATETIME.to_representation(row.submitted_at),
        "due_date": _DATE.to_representation(row.due_date),
        "overdue": row.overdue,
        "url": case_url.format(row.id),
    }


class QueuePageSerializer(serializers.Serializer):
    """The schema of a queue page (the view builds the dictionary)."""

    results = QueueItemSerializer(many=True)
    next = serializers.URLField(
        allow_null=True, help_text="The next page (same filters, a cursor); null on the last."
    )
    counts = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Applications per state under every filter but the state.",
    )


class RevisionCheckSerializer(serializers.Serializer):
    number = serializers.IntegerField(source="revision.number")
    submitted_at = serializers.DateTimeField(source="revision.submitted_at")
    digest = serializers.CharField(
        source="revision.digest", help_text="SHA-256 of the canonical filing."
    )
    signature = serializers.CharField(
        source="revision.signature", help_text="The platform's Ed25519 signature."
    )
    digest_ok = serializers.BooleanField(
        help_text="The stored filing still hashes to the digest (checked now)."
    )
    signature_ok = serializers.BooleanField(
        help_text="The signature over the digest verifies with the platform key (checked now)."
    )
    valid = serializers.BooleanField()


class FieldChangeSerializer(serializers.Serializer):
    field = serializers.CharField(source="key")
    label = serializers.CharField()
    before = serializers.CharField(help_text="As read by people; Individual Numbers masked.")
    after = serializers.CharField()


class RevisionChangesSerializer(serializers.Serializer):
    before = serializers.IntegerField(help_text="The earlier revision.")
    after = serializers.IntegerField(help_text="The next revision.")
    changes = FieldChangeSerializer(many=True, help_text="Changed answers only.")


class StaffCorrectionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    message = serializers.CharField()
    fields = serializers.ListField(child=serializers.CharField(), help_text="Field keys.")
    field_labels = serializers.ListField(child=serializers.CharField())
    requested_at = serializers.DateTimeField()
    requested_by = PersonSerializer()
    answered_at = serializers.DateTimeField(allow_null=True)
    response = serializers.CharField(help_text="The resident's note with the corrections.")
    revision = serializers.IntegerField(allow_null=True, help_text="The revision that answered it.")


class StaffAttachmentSerializer(AttachmentSerializer):
    download = serializers.SerializerMethodField()
    previewable = serializers.SerializerMethodField(
        help_text="An image or PDF that may be shown in place (the download URL with ?inline=1)."
    )

    def get_download(self, attachment) -> str:
        return reverse(
            "api-queue-attachment", args=[attachment.application_id, attachment.public_id]
        )

    def get_previewable(self, attachment) -> bool:
        return previewable(attachment)


class StaffDocumentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField(help_text="receipt, decision or payment_receipt")
    title = serializers.CharField()
    verification_code = serializers.CharField()
    issued_at = serializers.DateTimeField(source="created_at")
    download = serializers.SerializerMethodField()

    def get_download(self, document) -> str:
        return reverse("api-queue-document", args=[document.application_id, document.pk])


class StaffEventSerializer(serializers.Serializer):
    kind = serializers.CharField()
    kind_label = serializers.CharField(source="get_kind_display")
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    message = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    actor = PersonSerializer(allow_null=True, help_text="Null: the platform itself.")
    internal = serializers.BooleanField(help_text="A staff-only step the resident does not see.")


class NoteSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    author = PersonSerializer()
    text = serializers.CharField()
    created_at = serializers.DateTimeField()


class AllowedActionSerializer(serializers.Serializer):
    action = serializers.CharField()
    label = serializers.CharField()
    comment_required = serializers.BooleanField()


class BlockedActionSerializer(serializers.Serializer):
    action = serializers.CharField(source="transition.action")
    label = serializers.CharField(source="transition.label")
    reasons = serializers.ListField(child=serializers.CharField())


class CorrectableFieldSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    step = serializers.CharField()


class StaffCosignatureSerializer(serializers.Serializer):
    """A co-signature request of the case: who was asked, who signed, and the check."""

    role = serializers.CharField(source="request.role")
    label = serializers.CharField(source="row.label", help_text="In the requester's language.")
    required = serializers.BooleanField(source="request.required")
    current = serializers.BooleanField(source="request.is_current")
    name = serializers.CharField(source="request.name", help_text="As the applicant named them.")
    email = serializers.CharField(source="request.email")
    status = serializers.CharField(
        source="request.status", help_text="pending, signed, declined, expired or cancelled."
    )
    status_label = serializers.CharField(source="request.get_status_display")
    requested_at = serializers.DateTimeField(source="request.requested_at")
    expires_on = serializers.DateField(source="request.expires_on")
    answered_at = serializers.DateTimeField(source="request.closed_at", allow_null=True)
    decline_reason = serializers.CharField(source="request.decline_reason")
    signer = PersonSerializer(source="request.signer", allow_null=True)
    verified_name = serializers.CharField(
        source="row.verified_name",
        help_text="The co-signer's verified identity, if the role asked.",
    )
    revision = serializers.IntegerField(source="request.revision")
    filing_digest = serializers.CharField(
        source="request.filing_digest", help_text="The revision's digest it consents to."
    )
    document = serializers.JSONField(
        source="request.document",
        help_text="What the co-signer signed (RFC 8785 canonical JSON hashes to `digest`).",
    )
    digest = serializers.CharField(source="request.digest")
    signature = serializers.CharField(
        source="request.signature", help_text="The platform's Ed25519 signature of the digest."
    )
    valid = serializers.SerializerMethodField(
        help_text="Signed, and checked now: digest, signature and filing digest hold; null "
        "when not signed."
    )

    def get_valid(self, entry) -> bool | None:
        return entry.check.valid if entry.check is not None else None


class CaseSerializer(serializers.Serializer):
    """One application as its reviewers see it (a case file of applications.review)."""

    id = serializers.IntegerField(source="application.id")
    reference = serializers.CharField(source="application.reference")
    procedure = ApplicationProcedureSerializer(source="application.procedure")
    version = serializers.IntegerField(source="application.version.number")
    status = serializers.CharField(source="application.status", help_text=STATUS_HELP)
    status_label = serializers.CharField(source="application.get_status_display")
    applicant = ApplicantSerializer(source="application")
    on_behalf_of = serializers.SerializerMethodField()
    submitted_at = serializers.DateTimeField(source="application.submitted_at")
    due_date = serializers.DateField(source="application.due_date", allow_null=True)
    overdue = serializers.BooleanField()
    assignee = PersonSerializer(source="application.assignee", allow_null=True)
    fee_amount = serializers.IntegerField(source="application.fee_amount", help_text="Yen.")
    revision = serializers.IntegerField(source="application.revision")
    recommendation = serializers.CharField(source="application.recommendation")
    recommended_by = PersonSerializer(source="application.recommended_by", allow_null=True)
    recommendation_reason = serializers.CharField(source="application.recommendation_reason")
    decision = serializers.CharField(source="application.decision")
    decided_by = PersonSerializer(source="application.decided_by", allow_null=True)
    decision_reason = serializers.CharField(source="application.decision_reason")
    answers = serializers.SerializerMethodField(
        help_text=f"The answers of the current revision. {ANSWERS_HELP}"
    )
    form = serializers.SerializerMethodField(
        help_text="The form of the pinned procedure version, to render the answers."
    )
    revisions = RevisionCheckSerializer(many=True)
    changes = RevisionChangesSerializer(
        many=True, help_text="What changed from each revision to the next."
    )
    corrections = StaffCorrectionSerializer(many=True)
    cosignatures = StaffCosignatureSerializer(
        many=True, help_text="The requests to co-sign, current and replaced."
    )
    attachments = StaffAttachmentSerializer(many=True)
    documents = StaffDocumentSerializer(many=True)
    events = StaffEventSerializer(many=True, help_text="The full timeline, staff-only steps too.")
    notes = NoteSerializer(many=True)
    allowed_actions = AllowedActionSerializer(
        many=True, source="actions", help_text="What the caller can do now."
    )
    blocked_actions = BlockedActionSerializer(
        many=True,
        source="blocked",
        help_text="What the caller's role allows but a rule refuses now, and why.",
    )
    correctable_fields = CorrectableFieldSerializer(
        many=True, help_text="The answers a correction request may name."
    )
    may_assign = serializers.BooleanField()
    verified_identity = serializers.JSONField(
        allow_null=True,
        help_text="What the identity provider vouched for, as signed into the current "
        "revision: issuer, full_name, birth_date, verified_at (the subject only as a "
        "keyed digest); null when the applicant had no verified identity.",
    )

    @extend_schema_field(OnBehalfOfSerializer(allow_null=True))
    def get_on_behalf_of(self, case) -> dict[str, str] | None:
        application = case.application
        return on_behalf_of(application.on_behalf_of_name, application.on_behalf_of_relationship)

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_answers(self, case) -> dict[str, Any]:
        return masked_answers(case.application.version.form, case.application.data)

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_form(self, case) -> dict[str, Any]:
        return case.application.version.form
