"""Shapes of the residents' applications API. Input serializers check only the
shape of a request; the rules live in applications.services. Output serializers
render what the selectors and services return.

Sensitive answers (the Individual Number) are stored encrypted; they leave the
API decrypted and then masked, never whole."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from applications.cosigners import cosignature_rows, draft_cosigners, roles_of
from applications.selectors import resident_events, resident_next_step, resident_status_label
from applications.sensitive_answers import masked_answers, reveal

ANSWERS_HELP = (
    "Answers keyed by field key (a repeating group's answer is a list of such "
    "objects). Individual Numbers are masked: only their last four digits are shown."
)
ERRORS_HELP = 'Messages keyed by field path, e.g. "full_name" or "household.1.birth_date".'


# --- Input ------------------------------------------------------------------------------


class ApplicationStartSerializer(serializers.Serializer):
    procedure = serializers.SlugField(
        max_length=63, help_text="Code of a published procedure (see /api/v1/procedures/)."
    )
    on_behalf_of_name = serializers.CharField(
        max_length=150,
        required=False,
        allow_blank=True,
        default="",
        help_text="Filing for someone else: their name. Blank when filing for yourself.",
    )
    on_behalf_of_relationship = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="Your relationship to that person; required with on_behalf_of_name.",
    )


@extend_schema_field(OpenApiTypes.OBJECT)
class AnswersField(serializers.JSONField):
    """A JSON object of answers; the form engine checks each answer."""

    default_error_messages = {"not_an_object": _("The answers must be a JSON object.")}

    def to_internal_value(self, data: Any) -> dict:
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            self.fail("not_an_object")
        return value


class StepAnswersSerializer(serializers.Serializer):
    answers = AnswersField(
        help_text="The step's answers as typed, keyed by field key; answers to fields of "
        "other steps are ignored."
    )


class SubmitSerializer(serializers.Serializer):
    declaration = serializers.BooleanField(
        help_text="The applicant declares the answers true; must be true to submit."
    )


class ResubmitSerializer(SubmitSerializer):
    note = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        help_text="An optional note to the reviewer about the corrections.",
    )


class AttachmentUploadSerializer(serializers.Serializer):
    field = serializers.SlugField(max_length=63, help_text="Key of a file field of the form.")
    file = serializers.FileField(
        help_text="The file; checked by size, extension and actual content."
    )


class WithdrawSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, allow_blank=True)


class CosignerInputSerializer(serializers.Serializer):
    name = serializers.CharField(
        max_length=150, allow_blank=True, help_text="The co-signer's name as they write it."
    )
    email = serializers.CharField(
        max_length=254,
        allow_blank=True,
        help_text="Where the request to co-sign goes; the co-signer logs in with an account "
        "of this address.",
    )


class CosignersSerializer(serializers.Serializer):
    cosigners = serializers.DictField(
        child=CosignerInputSerializer(),
        help_text="By role key (see `cosigners` of the application): the person named. "
        "Roles left out keep what was named before.",
    )


# --- Output -----------------------------------------------------------------------------


class FormResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), help_text=ERRORS_HELP
    )

    def to_representation(self, result) -> dict[str, Any]:
        return {"valid": result.is_valid, "errors": result.errors}


class ApplicationProcedureSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField(help_text="In the requester's language.")


class OnBehalfOfSerializer(serializers.Serializer):
    name = serializers.CharField()
    relationship = serializers.CharField()


class ApplicationEventSerializer(serializers.Serializer):
    kind = serializers.CharField(
        help_text="draft_started, submitted, receipt_issued, claim, request_correction, "
        "resubmit, approve, reject, issue_result, withdraw, ..."
    )
    kind_label = serializers.CharField(source="get_kind_display")
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    message = serializers.CharField()
    occurred_at = serializers.DateTimeField()


class AttachmentSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    field = serializers.CharField(source="field_key")
    name = serializers.CharField(source="original_name")
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    uploaded_at = serializers.DateTimeField(source="created_at")
    removed = serializers.SerializerMethodField(
        help_text="Replaced while answering a correction; kept for the history."
    )

    def get_removed(self, attachment) -> bool:
        return attachment.removed_at is not None


class DocumentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField(help_text="receipt, decision or payment_receipt")
    title = serializers.CharField()
    verification_code = serializers.CharField()
    issued_at = serializers.DateTimeField(source="created_at")
    download = serializers.SerializerMethodField(help_text="URL of the PDF.")

    def get_download(self, document) -> str:
        return reverse("api-application-document", args=[document.application_id, document.pk])


class CorrectionSerializer(serializers.Serializer):
    message = serializers.CharField()
    fields = serializers.ListField(child=serializers.CharField(), help_text="Field keys.")
    requested_at = serializers.DateTimeField()
    answered_at = serializers.DateTimeField(allow_null=True)
    response = serializers.CharField()
    revision = serializers.IntegerField(allow_null=True, help_text="The revision that answered it.")


class RevisionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    submitted_at = serializers.DateTimeField()
    digest = serializers.CharField(help_text="SHA-256 of the canonical filing.")
    signature = serializers.CharField(help_text="The platform's Ed25519 signature.")


class CosignerRoleSerializer(serializers.Serializer):
    role = serializers.CharField(source="role.key", help_text="The role's key.")
    label = serializers.CharField(
        source="role.label_text", help_text="In the requester's language."
    )
    required = serializers.BooleanField(source="role.required")
    identity_verified = serializers.BooleanField(
        source="role.needs_identity",
        help_text="The co-signer verifies their identity (digital ID) before signing.",
    )
    statement = serializers.CharField(
        source="role.statement_text", help_text="What the co-signer consents to."
    )
    name = serializers.CharField(help_text="As named (kept as typed in a draft).")
    email = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="What is missing or not valid, by name and email.",
    )


class CosignatureSerializer(serializers.Serializer):
    """A request to co-sign and its state, as the applicant follows it."""

    role = serializers.CharField(source="request.role")
    label = serializers.CharField(help_text="The role, in the requester's language.")
    required = serializers.BooleanField(source="request.required")
    name = serializers.CharField(source="request.name", help_text="As the applicant named them.")
    status = serializers.CharField(
        source="request.status", help_text="pending, signed, declined, expired or cancelled."
    )
    status_label = serializers.CharField(source="request.get_status_display")
    current = serializers.BooleanField(
        source="request.is_current", help_text="False: replaced by a later request for the role."
    )
    requested_at = serializers.DateTimeField(source="request.requested_at")
    expires_on = serializers.DateField(
        source="request.expires_on", help_text="The co-signer can answer until this day."
    )
    answered_at = serializers.DateTimeField(
        source="request.closed_at", allow_null=True, help_text="Signed, declined or closed at."
    )
    decline_reason = serializers.CharField(source="request.decline_reason")
    replace_by = serializers.DateField(
        source="request.replace_by",
        allow_null=True,
        help_text="Declined or expired and required: name someone else by this day, or the "
        "application is closed.",
    )
    revision = serializers.IntegerField(
        source="request.revision", help_text="The filing's revision it is about."
    )
    digest = serializers.CharField(
        source="request.digest", help_text="SHA-256 of the signed co-signature; blank until signed."
    )
    signature = serializers.CharField(
        source="request.signature", help_text="The platform's Ed25519 signature of the digest."
    )


class NextStepSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="complete_draft, procedure_closed or procedure_not_yet_open (a draft "
        "outside the procedure's application window: kept, but it cannot be submitted now), "
        "wait_for_cosigners, name_cosigner, pay_fee, answer_correction, wait or download_result"
    )
    message = serializers.CharField()


class ApplicationSerializer(serializers.Serializer):
    """An application in a list."""

    id = serializers.IntegerField()
    reference = serializers.CharField(help_text="Reference number; blank while a draft.")
    procedure = ApplicationProcedureSerializer()
    version = serializers.IntegerField(
        source="version.number", help_text="Number of the procedure version it is filed under."
    )
    status = serializers.CharField(
        help_text="draft, submitted, cosignature_pending, payment_pending, under_review, "
        "correction_requested, resubmitted, recommended, approved, rejected, result_issued or "
        "withdrawn."
    )
    status_label = serializers.SerializerMethodField(
        help_text="In the requester's language; after a decision it names the decision and "
        "whether its document has been issued, as the resident's pages do."
    )
    current_step = serializers.CharField(help_text="Key of the step last saved.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)

    def get_status_label(self, application) -> str:
        return resident_status_label(application)


class SubmittedLinksSerializer(serializers.Serializer):
    detail = serializers.CharField(
        help_text="The application in this API: GET it for the answers, the form, the "
        "events, the revisions and the documents (the receipt once it is issued)."
    )
    page = serializers.CharField(help_text="The resident's page of the application.")


class ApplicationSubmittedSerializer(serializers.Serializer):
    """What a submission answers: the filing's reference, status, fee and signature,
    and where to find the rest (read from the submitted row, without more queries)."""

    id = serializers.IntegerField()
    reference = serializers.CharField(help_text="Reference number (受付番号).")
    status = serializers.CharField(
        help_text="submitted; cosignature_pending while co-signers are to sign; "
        "payment_pending when the fee is due before review."
    )
    status_label = serializers.CharField(
        source="get_status_display", help_text="In the requester's language."
    )
    submitted_at = serializers.DateTimeField()
    revision = serializers.IntegerField(help_text="Revision of the filing (1 when first filed).")
    fee_amount = serializers.IntegerField(help_text="Fee in yen for this filing.")
    due_date = serializers.DateField(
        allow_null=True,
        help_text="End of the standard processing period; null while the fee is awaited.",
    )
    submission_digest = serializers.CharField(help_text="SHA-256 of the canonical filing document.")
    signature = serializers.CharField(help_text="The platform's Ed25519 signature of the digest.")
    next_step = NextStepSerializer(allow_null=True)
    links = SubmittedLinksSerializer()

    def to_representation(self, application) -> dict[str, Any]:
        # Built directly (the fields above are its schema): every submission
        # answers with it, and DRF would copy and walk every field for each one.
        step = resident_next_step(application)
        return {
            "id": application.pk,
            "reference": application.reference,
            "status": application.status,
            "status_label": str(application.get_status_display()),
            "submitted_at": _datetime.to_representation(application.submitted_at),
            "revision": application.revision,
            "fee_amount": application.fee_amount,
            "due_date": _date.to_representation(application.due_date),
            "submission_digest": application.submission_digest,
            "signature": application.signature,
            "next_step": {"code": step.code, "message": str(step.message)} if step else None,
            "links": {
                "detail": reverse("api-application-detail", args=[application.pk]),
                "page": reverse("applications:detail", args=[application.pk]),
            },
        }


# How DRF writes dates and times (the requester's time zone, ISO 8601).
_datetime = serializers.DateTimeField()
_date = serializers.DateField()


class ApplicationDetailSerializer(ApplicationSerializer):
    """An application with its answers, the form to render them and its timeline."""

    answers = serializers.SerializerMethodField(help_text=f"As entered. {ANSWERS_HELP}")
    data = serializers.SerializerMethodField(
        help_text=f"The validated answers frozen at submission; null while a draft. {ANSWERS_HELP}"
    )
    on_behalf_of = serializers.SerializerMethodField(
        help_text="The person filed for; null when filing for oneself."
    )
    form = serializers.SerializerMethodField(
        help_text="The form of the pinned procedure version (steps and fields, as in the "
        "procedure definition format), to render the application."
    )
    submission_digest = serializers.CharField(
        help_text="SHA-256 of the canonical filing document; blank while a draft."
    )
    signature = serializers.CharField(
        help_text="The platform's Ed25519 signature of the digest; blank while a draft."
    )
    withdrawn_reason = serializers.CharField()
    can_withdraw = serializers.BooleanField()
    revision = serializers.IntegerField(help_text="Current revision of the filing.")
    fee_amount = serializers.IntegerField(help_text="Fee in yen for this filing.")
    due_date = serializers.DateField(
        allow_null=True,
        help_text="End of the standard processing period (business days; correction "
        "time is not counted).",
    )
    decision = serializers.SerializerMethodField(
        help_text="approve or reject once decided; blank before."
    )
    decision_reason = serializers.SerializerMethodField(help_text="The reason given for a refusal.")
    next_step = serializers.SerializerMethodField()
    correction = serializers.SerializerMethodField(
        help_text="The open correction request, if one awaits your answer."
    )
    corrections = CorrectionSerializer(many=True, source="corrections.all")
    revisions = RevisionSerializer(many=True, source="revisions.all")
    attachments = AttachmentSerializer(many=True, source="attachments.all")
    documents = DocumentSerializer(many=True, source="documents.all")
    events = serializers.SerializerMethodField()
    cosigners = serializers.SerializerMethodField(
        help_text="A draft: the co-signers its answers call for, and whom it names for each "
        "(PUT .../cosigners/). Empty once submitted or when none is needed."
    )
    cosignatures = serializers.SerializerMethodField(
        help_text="The requests to co-sign and their state (the current one of each role "
        "first, then those replaced)."
    )

    @extend_schema_field(CosignerRoleSerializer(many=True))
    def get_cosigners(self, application) -> list[dict[str, Any]]:
        if not application.is_draft or not roles_of(application.version):
            return []
        answers = reveal(application.version.form, application.answers)
        return CosignerRoleSerializer(draft_cosigners(application, answers), many=True).data

    @extend_schema_field(CosignatureSerializer(many=True))
    def get_cosignatures(self, application) -> list[dict[str, Any]]:
        if application.is_draft:
            return []
        return CosignatureSerializer(cosignature_rows(application), many=True).data

    _DECIDED = ("approved", "rejected", "result_issued")

    def get_decision(self, application) -> str:
        return application.decision if application.status in self._DECIDED else ""

    def get_decision_reason(self, application) -> str:
        if application.status in self._DECIDED and application.decision == "reject":
            return application.decision_reason
        return ""

    @extend_schema_field(NextStepSerializer(allow_null=True))
    def get_next_step(self, application) -> dict[str, str] | None:
        step = resident_next_step(application)
        return {"code": step.code, "message": str(step.message)} if step else None

    @extend_schema_field(CorrectionSerializer(allow_null=True))
    def get_correction(self, application) -> dict[str, Any] | None:
        correction = application.open_correction
        return CorrectionSerializer(correction).data if correction else None

    @extend_schema_field(ApplicationEventSerializer(many=True))
    def get_events(self, application) -> list[dict[str, Any]]:
        return ApplicationEventSerializer(resident_events(application), many=True).data

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_answers(self, application) -> dict[str, Any]:
        return masked_answers(application.version.form, application.answers)

    @extend_schema_field({"type": "object", "nullable": True})
    def get_data(self, application) -> dict[str, Any] | None:
        if application.submitted_at is None:
            return None
        return masked_answers(application.version.form, application.data)

    @extend_schema_field(OnBehalfOfSerializer(allow_null=True))
    def get_on_behalf_of(self, application) -> dict[str, str] | None:
        if not application.on_behalf_of_name:
            return None
        return {
            "name": application.on_behalf_of_name,
            "relationship": application.on_behalf_of_relationship,
        }

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_form(self, application) -> dict[str, Any]:
        return application.version.form
