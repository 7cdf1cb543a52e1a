"""Shapes of the procedures API. Input serializers check only the shape of a
request; the rules live in procedures.services. Output serializers render what
the selectors and services return."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Organization
from procedures import selectors, services
from procedures.models import (
    ANNUAL_VOLUME_MAX,
    Category,
    Filer,
    IdentityLevel,
    LifeEvent,
    Principle,
)
from procedures.window import TOKYO, WindowState, accepting_applications

DEFINITION_HELP = (
    "A version definition (form, fee, workflow, delivery, contact, result_document): "
    "the `version` part of the exchange format, described by the JSON Schema at "
    "/api/v1/schemas/procedure-definition.json."
)

# Output fields with fixed values are plain strings (not enums) on purpose: the
# choices are documented by the input serializers and the JSON Schema, and
# several resources have a `status` with different values.


class ProcedureOrganizationSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField(help_text="In the requester's language.")


class ProcedureFeeSummarySerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="none, fixed, per_item or computed.")
    amount = serializers.IntegerField(
        allow_null=True, help_text="Yen: the fee (fixed) or its base amount (computed)."
    )
    unit_amount = serializers.IntegerField(allow_null=True, help_text="Yen per item (per_item).")
    due = serializers.CharField(help_text="before_review or on_approval.")
    methods = serializers.ListField(child=serializers.CharField(), help_text="Payment methods.")


class JapanTimeField(serializers.DateTimeField):
    """A moment read and written in Japan time (+09:00); one without an offset is
    Japan time. A year the database could not hold is a 400, not a 500 (DRF's own
    check of a naive moment in year 1 overflows)."""

    def __init__(self, **kwargs: Any):
        super().__init__(default_timezone=TOKYO, **kwargs)

    def enforce_timezone(self, value):
        try:
            return super().enforce_timezone(value)
        except OverflowError:
            self.fail("overflow")


WINDOW_BOUND_HELP = "ISO 8601 with an offset (a time without one is Japan time); null: no bound. "


class ApplicationWindowSerializer(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=WindowState.choices,
        help_text="Now: open, not_yet_open (before opens_at) or closed (from closes_at on). "
        "Outside the window no application can be started or submitted (409 "
        "procedure_not_yet_open or procedure_closed); cases already submitted go on.",
    )
    opens_at = JapanTimeField(
        allow_null=True, help_text="Applications are taken from this moment; null: no bound."
    )
    closes_at = JapanTimeField(
        allow_null=True,
        help_text="Exclusive: from this moment on, none is taken (a window closing at "
        "2027-05-01T00:00:00+09:00 takes applications until 30 April 23:59). Null: no bound.",
    )


class CatalogueProcedureSerializer(serializers.Serializer):
    """A procedure of the public catalogue with its published version, as
    prefetched by selectors.published_procedures() (`procedure.published`)."""

    code = serializers.CharField()
    title = serializers.CharField(help_text="In the requester's language.")
    title_ja = serializers.CharField()
    title_en = serializers.CharField()
    organization = ProcedureOrganizationSerializer(source="owning_organization")
    category = serializers.CharField()
    life_events = serializers.ListField(child=serializers.CharField())
    filer = serializers.CharField(help_text="individual, business or both.")
    identity_level = serializers.CharField()
    processing_days = serializers.IntegerField(help_text="Standard processing period.")
    fee = serializers.SerializerMethodField()
    version = serializers.SerializerMethodField(help_text="Number of the published version.")
    application_window = serializers.SerializerMethodField(
        help_text="When the procedure takes new applications."
    )

    @staticmethod
    def _published(procedure):
        return procedure.published[0]

    @extend_schema_field(ApplicationWindowSerializer)
    def get_application_window(self, procedure) -> dict[str, Any]:
        window = accepting_applications(procedure)
        return ApplicationWindowSerializer(
            {"state": window.state, "opens_at": window.opens_at, "closes_at": window.closes_at}
        ).data

    @extend_schema_field(ProcedureFeeSummarySerializer)
    def get_fee(self, procedure) -> dict[str, Any]:
        return ProcedureFeeSummarySerializer(
            selectors.fee_summary(self._published(procedure).fee)
        ).data

    def get_version(self, procedure) -> int:
        return self._published(procedure).number


class CatalogueProcedureDetailSerializer(CatalogueProcedureSerializer):
    description = serializers.CharField(help_text="In the requester's language.")
    legal_basis = serializers.CharField(help_text="In the requester's language.")
    published_at = serializers.SerializerMethodField()
    definition = serializers.SerializerMethodField(help_text=DEFINITION_HELP)

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_published_at(self, procedure) -> str:
        return serializers.DateTimeField().to_representation(
            self._published(procedure).published_at
        )

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_definition(self, procedure) -> dict[str, Any]:
        return self._published(procedure).definition


# --- Managing procedures -----------------------------------------------------------


class ProcedureFieldsSerializer(serializers.Serializer):
    """The catalogue entry's editable fields (services.PROCEDURE_FIELDS)."""

    title_ja = serializers.CharField(max_length=200)
    title_en = serializers.CharField(max_length=200, required=False, allow_blank=True)
    # The exchange format limits texts to 5,000 characters.
    description_ja = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    description_en = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    legal_basis_ja = serializers.CharField(max_length=300, required=False, allow_blank=True)
    legal_basis_en = serializers.CharField(max_length=300, required=False, allow_blank=True)
    category = serializers.ChoiceField(choices=Category.choices)
    life_events = serializers.ListField(
        child=serializers.ChoiceField(choices=LifeEvent.choices), required=False
    )
    keywords = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        max_length=50,
        help_text="Words residents search by that the title does not hold (synonyms, English).",
    )
    readings = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        max_length=50,
        help_text="Readings in kana of the title or keywords, where the search's analyser "
        "reads them wrongly.",
    )
    filer = serializers.ChoiceField(choices=Filer.choices)
    identity_level = serializers.ChoiceField(choices=IdentityLevel.choices, required=False)
    processing_days = serializers.IntegerField(
        min_value=1, max_value=365, help_text="Standard processing period in business days."
    )
    annual_volume = serializers.IntegerField(
        min_value=0,
        max_value=ANNUAL_VOLUME_MAX,
        required=False,
        help_text="Estimated cases per year.",
    )
    opens_at = JapanTimeField(
        required=False,
        allow_null=True,
        help_text="Applications are taken from this moment. " + WINDOW_BOUND_HELP,
    )
    closes_at = JapanTimeField(
        required=False,
        allow_null=True,
        help_text="No application is started or submitted from this moment on (exclusive: "
        "2027-05-01T00:00:00+09:00 takes applications until 30 April 23:59); cases already "
        "submitted go on. Must be after opens_at (400 validation_failed). " + WINDOW_BOUND_HELP,
    )

    def validate_life_events(self, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))  # each once, in the order given


class ProcedureCreateSerializer(ProcedureFieldsSerializer):
    code = serializers.RegexField(
        services.CODE_PATTERN,
        max_length=63,
        help_text="Lower-case letters, digits and hyphens; used in URLs and exchange documents.",
        error_messages={
            "invalid": _(
                "Use 2 to 63 lower-case letters, digits and hyphens, starting with a letter or digit."
            )
        },
    )
    organization = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Organization.objects.all(),
        help_text="Code of the owning organization.",
    )


class ManagedProcedureSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField(help_text="In the requester's language.")
    title_ja = serializers.CharField()
    title_en = serializers.CharField()
    description_ja = serializers.CharField()
    description_en = serializers.CharField()
    legal_basis_ja = serializers.CharField()
    legal_basis_en = serializers.CharField()
    organization = ProcedureOrganizationSerializer(source="owning_organization")
    category = serializers.CharField()
    life_events = serializers.ListField(child=serializers.CharField())
    keywords = serializers.ListField(child=serializers.CharField())
    readings = serializers.ListField(child=serializers.CharField())
    filer = serializers.CharField()
    identity_level = serializers.CharField()
    processing_days = serializers.IntegerField()
    annual_volume = serializers.IntegerField()
    opens_at = JapanTimeField(
        allow_null=True, help_text="Start of the application window (Japan time); null: none."
    )
    closes_at = JapanTimeField(
        allow_null=True, help_text="End of the application window, exclusive; null: none."
    )
    status = serializers.CharField(help_text="active or retired.")
    draft_version = serializers.SerializerMethodField(help_text="Number of the draft, if any.")
    published_version = serializers.SerializerMethodField(
        help_text="Number of the published version, if any."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @staticmethod
    def _numbers(procedure) -> tuple[int | None, int | None]:
        # Lists come annotated (selectors.managed_procedures_overview); a single
        # procedure returned by a service is looked up once.
        if not hasattr(procedure, "draft_number"):
            draft, published = selectors.current_versions(procedure)
            procedure.draft_number = draft.number if draft else None
            procedure.published_number = published.number if published else None
        return procedure.draft_number, procedure.published_number

    def get_draft_version(self, procedure) -> int | None:
        return self._numbers(procedure)[0]

    def get_published_version(self, procedure) -> int | None:
        return self._numbers(procedure)[1]


class ProcedureVersionSummarySerializer(serializers.Serializer):
    number = serializers.IntegerField()
    state = serializers.CharField(help_text="draft, published or retired.")
    created_at = serializers.DateTimeField()
    published_at = serializers.DateTimeField(allow_null=True)
    retired_at = serializers.DateTimeField(allow_null=True)


class ProcedureVersionSerializer(ProcedureVersionSummarySerializer):
    definition = serializers.JSONField(help_text=DEFINITION_HELP)


@extend_schema_field(OpenApiTypes.OBJECT)
class DefinitionField(serializers.JSONField):
    """Any JSON: services.version_update checks it against the JSON Schema and
    reports every problem with its path (400 definition_invalid)."""


class ProcedureVersionUpdateSerializer(serializers.Serializer):
    definition = DefinitionField(help_text=DEFINITION_HELP)


class DefinitionProblemSerializer(serializers.Serializer):
    path = serializers.CharField(help_text='Where in the document, e.g. "version.form.steps.0".')
    message = serializers.CharField()


class PolicyFindingSerializer(serializers.Serializer):
    path = serializers.CharField(help_text="Where in the version definition.")
    message = serializers.CharField()
    fix = serializers.CharField()


class PrincipleResultSerializer(serializers.Serializer):
    principle = serializers.CharField(
        help_text="paperless, hanko_less, cashless, fax_less or touchless."
    )
    status = serializers.CharField(help_text="pass, fail or exempt.")
    findings = PolicyFindingSerializer(many=True)
    exemption = serializers.IntegerField(
        allow_null=True, help_text="The approved exemption that makes a failure exempt."
    )


class PolicyReportSerializer(serializers.Serializer):
    publishable = serializers.BooleanField(
        help_text="No definition problem and no failing principle: publishing will succeed."
    )
    principles = PrincipleResultSerializer(many=True)
    problems = DefinitionProblemSerializer(many=True)


class ExportQuerySerializer(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text="Version number; by default the published version, else the draft.",
    )


class ImportQuerySerializer(serializers.Serializer):
    organization = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Organization.objects.all(),
        required=False,
        help_text="Code of the owning organization; by default the one named in the document.",
    )


class ProcedureImportResultSerializer(serializers.Serializer):
    code = serializers.CharField()
    version = serializers.IntegerField(help_text="Number of the draft the document became.")


# --- Exemptions ---------------------------------------------------------------------


class ExemptionProcedureSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    organization = serializers.CharField(source="owning_organization.code")


class ExemptionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    procedure = ExemptionProcedureSerializer()
    principle = serializers.CharField()
    reason = serializers.CharField()
    legal_basis = serializers.CharField()
    within_city_discretion = serializers.BooleanField()
    status = serializers.CharField(help_text="requested, approved or refused.")
    requested_by = serializers.CharField(source="requested_by.display_name", allow_null=True)
    requested_at = serializers.DateTimeField(source="created_at")
    decided_by = serializers.CharField(source="decided_by.display_name", allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_note = serializers.CharField()
    review_date = serializers.DateField(allow_null=True)
    effective = serializers.SerializerMethodField(
        help_text="Approved and not past its review date: it counts in the policy check."
    )

    def get_effective(self, exemption) -> bool:
        return exemption.is_effective()


class ExemptionRequestSerializer(serializers.Serializer):
    principle = serializers.ChoiceField(choices=Principle.choices)
    reason = serializers.CharField(max_length=5000)
    legal_basis = serializers.CharField(max_length=300, required=False, allow_blank=True)
    within_city_discretion = serializers.BooleanField(
        help_text="Could the city remove the obstacle itself (e.g. by changing its own rules)?"
    )


class ExemptionDecisionSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    review_date = serializers.DateField(
        required=False, allow_null=True, help_text="Required to approve; a future date."
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=5000)
