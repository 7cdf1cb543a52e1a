"""Shapes of the digitization API. Reads are built by digitization.exports (the
same records as the CSV and JSON exports and the open data); these serializers
describe them for the OpenAPI schema and check the input of writes."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from digitization.models import PRINCIPLES, STAGES, Channel, SnapshotKind
from digitization.periods import fiscal_year_of, parse_month
from procedures.models import Principle

STATUS_HELP = "pass, exempt (an approved exemption in force today) or fail."
STAGE_HELP = "online, exempt (offline but covered by exemptions in force today) or offline."


class OrganizationRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name_ja = serializers.CharField()
    name_en = serializers.CharField()


# Built with type(): "pass" is a Python keyword, and the principles and stages are
# data (the serializer metaclass collects fields from the class dict either way).
MatrixCellSerializer = type(
    "MatrixCellSerializer",
    (serializers.Serializer,),
    {status: serializers.IntegerField() for status in ("pass", "exempt", "fail")},
)
MatrixSerializer = type(
    "MatrixSerializer",
    (serializers.Serializer,),
    {principle: MatrixCellSerializer() for principle in PRINCIPLES},
)
StagesSerializer = type(
    "StagesSerializer",
    (serializers.Serializer,),
    {stage: serializers.CharField(help_text=STAGE_HELP) for stage in STAGES},
)
PrinciplesSerializer = type(
    "PrinciplesSerializer",
    (serializers.Serializer,),
    {principle: serializers.CharField(help_text=STATUS_HELP) for principle in PRINCIPLES},
)


class FiguresSerializer(serializers.Serializer):
    procedures = serializers.IntegerField(help_text="Procedure types in force.")
    digital_procedures = serializers.IntegerField()
    volume = serializers.IntegerField(help_text="Their cases per fiscal year.")
    digital_volume = serializers.IntegerField()
    online_cases = serializers.IntegerField(help_text="Cases of the period filed online.")
    offline_cases = serializers.IntegerField()
    total_cases = serializers.IntegerField()
    availability_by_count = serializers.FloatField(
        allow_null=True, help_text="digital_procedures / procedures (6 decimals)."
    )
    availability_by_volume = serializers.FloatField(
        allow_null=True, help_text="digital_volume / volume: the ordinance's measure."
    )
    usage = serializers.FloatField(allow_null=True, help_text="online_cases / total_cases.")
    matrix = MatrixSerializer(help_text="Procedures in force per principle and result.")


class GapSerializer(serializers.Serializer):
    target = serializers.FloatField()
    reached = serializers.BooleanField()
    cases_short = serializers.IntegerField(
        help_text="Cases per year that must move to digital procedures to reach the target."
    )
    procedures_needed = serializers.IntegerField(
        allow_null=True,
        help_text="How many non-digital procedures, largest first, carry that many cases.",
    )
    count_short = serializers.IntegerField(help_text="Procedures short of the target by count.")


class ExemptionCountsSerializer(serializers.Serializer):
    requested = serializers.IntegerField()
    in_force = serializers.IntegerField()
    due_soon = serializers.IntegerField(help_text="In force, review date within 60 days.")
    expired = serializers.IntegerField(help_text="Approved, review date passed: no longer counted.")


class PeriodSerializer(serializers.Serializer):
    fiscal_year = serializers.IntegerField(help_text="April to March, named by its first year.")
    first_month = serializers.CharField()
    last_month = serializers.CharField()


class SummarySerializer(serializers.Serializer):
    organization = OrganizationRefSerializer(allow_null=True, help_text="The scope; null: several.")
    as_of = serializers.DateField()
    period = PeriodSerializer(help_text="The period of the usage rate.")
    figures = FiguresSerializer()
    gap = GapSerializer()
    exemptions = ExemptionCountsSerializer()


class ProcedureSerializer(serializers.Serializer):
    code = serializers.CharField()
    title_ja = serializers.CharField()
    title_en = serializers.CharField()
    organization = OrganizationRefSerializer()
    channel = serializers.CharField(help_text="platform, other_online or offline.")
    hosted = serializers.BooleanField(
        help_text="On this platform: figures from its published version."
    )
    in_force = serializers.BooleanField()
    annual_volume = serializers.IntegerField()
    volume_fiscal_year = serializers.IntegerField(
        allow_null=True, help_text="Null for a hosted procedure's catalogue estimate."
    )
    digital = serializers.BooleanField(
        help_text="Every stage online or covered by exemptions in force."
    )
    stages = StagesSerializer()
    principles = PrinciplesSerializer()
    exemptions_requested = serializers.ListField(
        child=serializers.CharField(),
        help_text="Principles with an exemption waiting for a decision.",
    )


class OpenProcedureSerializer(ProcedureSerializer):
    exemptions_requested = None


class DepartmentSerializer(serializers.Serializer):
    code = serializers.CharField()
    name_ja = serializers.CharField()
    name_en = serializers.CharField()
    kind = serializers.CharField()
    parent = serializers.CharField(allow_null=True, help_text="Code of the parent organization.")
    depth = serializers.IntegerField()
    figures = FiguresSerializer(help_text="With every organization below it.")


class GapRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    procedure = ProcedureSerializer()
    share = serializers.FloatField(help_text="Its volume over all volume: what it adds if digital.")
    rate_after = serializers.FloatField(
        help_text="The volume-weighted rate if it and every procedure ranked above it were digital."
    )


class SnapshotSerializer(serializers.Serializer):
    taken_on = serializers.DateField()
    kind = serializers.CharField(help_text="daily, month_end or fiscal_year_end.")
    target = serializers.FloatField()
    fiscal_year = serializers.IntegerField(help_text="Usage counts the fiscal year to that day.")
    figures = FiguresSerializer(help_text="Of the requested scope (no matrix: an empty object).")


class SnapshotQuerySerializer(serializers.Serializer):
    organization = serializers.SlugField(required=False)
    kind = serializers.ChoiceField(choices=SnapshotKind.choices, required=False)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)


class SummaryQuerySerializer(serializers.Serializer):
    organization = serializers.SlugField(required=False, help_text="Drill down to an organization.")
    fiscal_year = serializers.IntegerField(
        required=False,
        min_value=2000,
        max_value=2100,
        help_text="Usage for this fiscal year (one that has begun); default: this one to date.",
    )

    def validate_fiscal_year(self, value: int) -> int:
        if value > fiscal_year_of(timezone.localdate()):
            raise serializers.ValidationError("A fiscal year that has begun.")
        return value


class CaseReportSerializer(serializers.Serializer):
    procedure = serializers.CharField(source="entry.code")
    month = serializers.SerializerMethodField()
    online_cases = serializers.IntegerField()
    offline_cases = serializers.IntegerField()
    updated_at = serializers.DateTimeField()

    def get_month(self, report) -> str:
        return f"{report.month:%Y-%m}"


class MonthField(serializers.CharField):
    def to_internal_value(self, data):
        month = parse_month(str(data))
        if month is None:
            raise serializers.ValidationError("Write the month as YYYY-MM, for example 2026-04.")
        return month


class CaseReportInputSerializer(serializers.Serializer):
    procedure = serializers.SlugField(help_text="Code of the inventory entry.")
    month = MonthField(help_text="YYYY-MM.")
    online_cases = serializers.IntegerField(
        min_value=0, default=0, help_text="0 for a procedure on the platform (it counts its own)."
    )
    offline_cases = serializers.IntegerField(min_value=0, default=0)


class ImportResultSerializer(serializers.Serializer):
    rows = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV, UTF-8 or Shift_JIS, header in the first row.")


class EntryInputSerializer(serializers.Serializer):
    code = serializers.SlugField(max_length=63, required=False, help_text="Required to create.")
    title_ja = serializers.CharField(max_length=200)
    title_en = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    organization = serializers.SlugField(help_text="Code of the owning organization.")
    channel = serializers.ChoiceField(choices=[Channel.OTHER_ONLINE, Channel.OFFLINE])
    annual_volume = serializers.IntegerField(min_value=0)
    volume_fiscal_year = serializers.IntegerField(min_value=2000)
    online_stages = serializers.ListField(
        child=serializers.ChoiceField(choices=STAGES),
        help_text="The stages that can be done online.",
    )
    breaks = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        default=list,
        help_text="Principles broken besides those of offline stages (a seal, a fax): "
        "paperless, hanko_less, cashless, fax_less, touchless.",
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")
    in_force = serializers.BooleanField(required=False, default=True)

    def validate_breaks(self, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(Principle.values))
        if unknown:
            raise serializers.ValidationError(f"Unknown principle: {', '.join(unknown)}.")
        return value


class ExemptionReviewQuerySerializer(serializers.Serializer):
    review = serializers.ChoiceField(
        choices=["requested", "expired", "due_soon", "in_force", "refused"],
        required=False,
        help_text="requested; expired (approved, review date passed: not counted); due_soon "
        "(review within 60 days); in_force; refused. Default: all.",
    )


class ActorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()


@extend_schema_field(ActorSerializer(allow_null=True))
class ActorField(serializers.SerializerMethodField):
    pass


class AuditEventSerializer(serializers.Serializer):
    sequence = serializers.IntegerField()
    occurred_at = serializers.DateTimeField()
    actor = ActorField(help_text="Null: the platform itself.")
    action = serializers.CharField()
    target_type = serializers.CharField()
    target_id = serializers.CharField()
    data = serializers.JSONField()
    request_id = serializers.CharField()
    ip_address = serializers.CharField(
        allow_null=True, help_text="Only on events recorded before ip_digest existed."
    )
    ip_digest = serializers.CharField(
        help_text="The client's address as a keyed digest (HMAC-SHA256): equal for events "
        "from one address; the address itself is not kept."
    )
    previous_hash = serializers.CharField()
    hash = serializers.CharField()

    def get_actor(self, event) -> dict | None:
        if event.actor_id is None:
            return None
        name = event.actor.display_name if event.actor is not None else ""
        return {"id": event.actor_id, "display_name": name}


class AuditQuerySerializer(serializers.Serializer):
    actor = serializers.CharField(required=False, help_text="E-mail, user id, or `platform`.")
    action = serializers.CharField(required=False, help_text="Exact, or a prefix ending in `*`.")
    target_type = serializers.CharField(required=False)
    target_id = serializers.CharField(required=False)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)


class ChainCheckSerializer(serializers.Serializer):
    checked_at = serializers.DateTimeField()
    ok = serializers.BooleanField()
    events_checked = serializers.IntegerField()
    broken_sequence = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()
