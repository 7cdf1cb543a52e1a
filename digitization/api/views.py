"""The digitization API: the auditors' figures, inventory, gap, snapshots,
exemption review and audit log; the departments' inventory entries and case
figures; the public open data. Each view checks the shape of the request, reads
through one selector or calls one service (the same as the pages), and renders."""

from __future__ import annotations

from typing import Any

from django.db.models import Sum
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from accounts.models import Organization
from audit.models import AuditEvent
from core.api.pagination import StandardPagination, StrictCursorPagination
from core.api.parsers import MultiPartParser
from core.api.responses import FORBIDDEN, INVALID, JSON_ONLY, for_schema_only, not_found
from core.errors import NotFound, PermissionDenied, ValidationFailed
from digitization import exports, metrics, selectors, services
from digitization.api.filters import CaseReportFilter, InventoryFilter
from digitization.api.permissions import (
    MayAudit,
    MayDecideExemptions,
    MayReadInventory,
    MayReport,
    MayViewAuditLog,
)
from digitization.api.serializers import (
    AuditEventSerializer,
    AuditQuerySerializer,
    CaseReportInputSerializer,
    CaseReportSerializer,
    ChainCheckSerializer,
    DepartmentSerializer,
    EntryInputSerializer,
    ExemptionReviewQuerySerializer,
    GapRowSerializer,
    ImportResultSerializer,
    OpenProcedureSerializer,
    ProcedureSerializer,
    SnapshotQuerySerializer,
    SnapshotSerializer,
    SummaryQuerySerializer,
    SummarySerializer,
    UploadSerializer,
)
from digitization.models import STAGES, CaseReport, InventoryEntry, Snapshot
from procedures.api.serializers import ExemptionSerializer
from procedures.models import Exemption

BASE = list(APIView.permission_classes)
AUDITORS = [*BASE, MayAudit]
REPORTERS = [*BASE, MayReport]
READERS = [*BASE, MayReadInventory]
TAGS = ["digitization (auditor)"]
DEPARTMENT_TAGS = ["digitization (department)"]
OPEN_TAGS = ["open data"]

NOT_FOUND = not_found("outside your organizations")
REJECTED = OpenApiResponse(
    description="import_rejected: nothing was imported; `details` lists every problem as "
    "{row, column, message} (the header is row 1)."
)


class StreamedExport(APIView):
    """A view that answers a streamed file, whatever the client accepts: content
    negotiation picks the JSON renderer (for errors) instead of answering 406."""

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)


def _query(serializer_class, request) -> dict[str, Any]:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _parents(organizations: list[Organization]) -> dict[int, str]:
    return {org.pk: org.code for org in organizations}


def _overview(request, **options):
    query = _query(SummaryQuerySerializer, request)
    return selectors.overview(
        request.user,
        organization=query.get("organization"),
        fiscal_year=query.get("fiscal_year"),
        **options,
    )


def _stream(chunks, content_type: str, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- Auditors: figures ---------------------------------------------------------------------------------


@extend_schema(
    tags=TAGS,
    summary="Rates, gap to the target, five-less matrix and exemptions",
    parameters=[SummaryQuerySerializer],
    responses={200: SummarySerializer, 403: FORBIDDEN, 404: NOT_FOUND},
)
class SummaryView(APIView):
    """The dashboard's numbers for the caller's organizations, or one of them
    (`organization`) with everything below it."""

    permission_classes = AUDITORS

    def get(self, request):
        overview = _overview(request, ranked_limit=0, with_trend=False)
        return Response(exports.summary_record(overview))


def _department_rows(request) -> tuple[list[tuple[Organization, metrics.Figures]], dict[int, str]]:
    overview = _overview(request, ranked_limit=0, with_trend=False)
    rows = selectors.organizations_with_figures(overview.scope, overview)
    parents = _parents(overview.scope.organizations)
    parent = request.query_params.get("parent")
    if parent:
        rows = [(org, figures) for org, figures in rows if parents.get(org.parent_id) == parent]
    return rows, parents


@extend_schema(
    tags=TAGS,
    summary="Figures per organization (each with its subtree)",
    parameters=[
        SummaryQuerySerializer,
        OpenApiParameter(
            "parent", str, description="Only the organizations directly below this one."
        ),
    ],
    responses={200: DepartmentSerializer(many=True), 403: FORBIDDEN, 404: NOT_FOUND},
)
class DepartmentListView(generics.GenericAPIView):
    queryset = Organization.objects.none()  # rows are built, not read (for the schema)
    permission_classes = AUDITORS
    pagination_class = StandardPagination
    serializer_class = DepartmentSerializer

    def get(self, request):
        rows, parents = _department_rows(request)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(
            [exports.department_record(org, figures, parents) for org, figures in page]
        )


@extend_schema(
    tags=TAGS,
    summary="Figures per organization as CSV",
    parameters=[SummaryQuerySerializer],
    responses={(200, "text/csv"): OpenApiTypes.STR, 403: FORBIDDEN, 404: NOT_FOUND},
)
class DepartmentCSVView(StreamedExport):
    permission_classes = AUDITORS

    def get(self, request):
        rows, parents = _department_rows(request)
        return _stream(
            exports.departments_csv(rows, parents),
            "text/csv; charset=utf-8",
            "digitization-departments.csv",
        )


# --- The inventory -------------------------------------------------------------------------------------------


class _EntryPage(generics.GenericAPIView):
    pagination_class = StandardPagination
    filterset_class = InventoryFilter
    record_options: dict[str, Any] = {}

    def entries(self):
        raise NotImplementedError

    def get_queryset(self):
        if for_schema_only(self):
            return InventoryEntry.objects.none()
        return self.entries().order_by("-annual_volume", "code")

    def list_records(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = selectors.entry_rows(page, timezone.localdate())
        return self.get_paginated_response(
            [exports.entry_record(row, **self.record_options) for row in rows]
        )


@extend_schema(tags=TAGS)
class ProcedureListView(_EntryPage):
    """The inventory of the caller's organizations (auditors and departments),
    largest volume first, each procedure with its stages and principles today."""

    permission_classes = READERS
    serializer_class = ProcedureSerializer
    parser_classes = JSON_ONLY

    def entries(self):
        return selectors.inventory_for(self.request.user)

    @extend_schema(
        summary="The inventory", responses={200: ProcedureSerializer(many=True), 403: FORBIDDEN}
    )
    def get(self, request):
        return self.list_records(request)

    @extend_schema(
        tags=DEPARTMENT_TAGS,
        summary="Record a procedure outside the platform",
        request=EntryInputSerializer,
        responses={
            201: ProcedureSerializer,
            400: INVALID,
            404: NOT_FOUND,
            409: OpenApiResponse(description="code_taken."),
        },
    )
    def post(self, request):
        if not selectors.may_report(request.user):
            raise PermissionDenied(_("Only departments report inventory figures."))
        data = _entry_input(request)
        if not data.get("code"):
            raise ValidationFailed(details={"code": ["This field is required."]})
        entry = services.inventory_entry_create(
            actor=request.user, code=data["code"], data=_entry_data(request, data)
        )
        return Response(_record(entry), status=status.HTTP_201_CREATED)


def _entry_input(request) -> dict[str, Any]:
    serializer = EntryInputSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _entry_data(request, data: dict[str, Any]) -> services.EntryData:
    organization = (
        selectors.reporting_organizations(request.user).filter(code=data["organization"]).first()
    )
    if organization is None:
        raise ValidationFailed(
            details={"organization": ["Not an organization that you report for."]}
        )
    return services.EntryData(
        title_ja=data["title_ja"],
        title_en=data["title_en"],
        organization=organization,
        channel=data["channel"],
        annual_volume=data["annual_volume"],
        volume_fiscal_year=data["volume_fiscal_year"],
        online={stage: stage in data["online_stages"] for stage in STAGES},
        breaks=tuple(data["breaks"]),
        note=data["note"],
        active=data["in_force"],
    )


def _record(entry: InventoryEntry) -> dict[str, Any]:
    return exports.entry_record(selectors.entry_rows([entry], timezone.localdate())[0])


@extend_schema(tags=TAGS)
class ProcedureDetailView(APIView):
    permission_classes = READERS
    parser_classes = JSON_ONLY

    @extend_schema(
        summary="One procedure of the inventory",
        responses={200: ProcedureSerializer, 404: NOT_FOUND},
    )
    def get(self, request, code: str):
        return Response(_record(selectors.entry_for(request.user, code)))

    @extend_schema(
        tags=DEPARTMENT_TAGS,
        summary="Change a procedure outside the platform",
        request=EntryInputSerializer,
        responses={
            200: ProcedureSerializer,
            400: INVALID,
            404: NOT_FOUND,
            409: OpenApiResponse(description="hosted_entry: a procedure on the platform."),
        },
    )
    def put(self, request, code: str):
        entry = selectors.reportable_entry(request.user, code)
        data = _entry_input(request)
        entry = services.inventory_entry_update(
            actor=request.user, entry=entry, data=_entry_data(request, data)
        )
        return Response(_record(entry))


@extend_schema(
    tags=DEPARTMENT_TAGS,
    summary="Import procedures outside the platform from CSV (all rows or none)",
    request={"multipart/form-data": UploadSerializer},
    responses={200: ImportResultSerializer, 400: REJECTED, 403: FORBIDDEN},
)
class ProcedureImportView(APIView):
    permission_classes = REPORTERS
    parser_classes = [MultiPartParser]

    def post(self, request):
        upload = _upload(request)
        result = services.inventory_import(
            actor=request.user, data=upload.read(), filename=upload.name
        )
        return Response(result)


def _upload(request):
    serializer = UploadSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data["file"]


def _export_rows(request):
    queryset = InventoryFilter(
        request.query_params, queryset=selectors.inventory_for(request.user)
    ).qs
    return exports.rows_in_chunks(queryset, timezone.localdate())


INVENTORY_PARAMETERS = [
    OpenApiParameter("q", str, description="Words in the code or the names."),
    OpenApiParameter("organization", str, description="An organization and everything below it."),
    OpenApiParameter("channel", str, enum=["platform", "other_online", "offline"]),
    OpenApiParameter("digital", bool, description="Digital today."),
    OpenApiParameter("in_force", bool),
    OpenApiParameter(
        "principle", str, enum=["paperless", "hanko_less", "cashless", "fax_less", "touchless"]
    ),
    OpenApiParameter("principle_status", str, enum=["pass", "exempt", "fail"]),
]


@extend_schema(
    tags=TAGS,
    summary="The inventory as CSV (every row, streamed)",
    parameters=INVENTORY_PARAMETERS,
    responses={(200, "text/csv"): OpenApiTypes.STR, 403: FORBIDDEN},
)
class ProcedureCSVView(StreamedExport):
    permission_classes = READERS

    def get(self, request):
        return _stream(
            exports.entries_csv(_export_rows(request)),
            "text/csv; charset=utf-8",
            "digitization-procedures.csv",
        )


@extend_schema(
    tags=TAGS,
    summary="The inventory as one JSON document (every row, streamed)",
    parameters=INVENTORY_PARAMETERS,
    responses={200: OpenApiTypes.OBJECT, 403: FORBIDDEN},
)
class ProcedureJSONView(StreamedExport):
    permission_classes = READERS

    def get(self, request):
        header = {"as_of": timezone.localdate(), "target": float(metrics.target())}
        return _stream(
            exports.entries_json(_export_rows(request), header),
            "application/json; charset=utf-8",
            "digitization-procedures.json",
        )


# --- The gap ----------------------------------------------------------------------------------------------


@extend_schema(
    tags=TAGS,
    summary="Non-digital procedures, the one that would move the volume-weighted rate most first",
    parameters=[
        OpenApiParameter("organization", str, description="Drill down to an organization.")
    ],
    responses={200: GapRowSerializer(many=True), 403: FORBIDDEN, 404: NOT_FOUND},
)
class GapView(generics.GenericAPIView):
    queryset = InventoryEntry.objects.none()  # for the schema; the scope decides
    permission_classes = AUDITORS
    pagination_class = StandardPagination
    serializer_class = GapRowSerializer

    def get(self, request):
        scope = selectors.audit_scope(
            request.user, request.query_params.get("organization") or None
        )
        today = timezone.localdate()
        overview = selectors.overview_of(scope, today=today, ranked_limit=0, with_trend=False)
        ranked = selectors.ranked_of(overview)
        page = self.paginate_queryset(ranked)
        start = self.paginator.page.start_index() if page else 1
        before = 0
        if start > 1:
            before = (
                ranked.values("annual_volume")[: start - 1].aggregate(v=Sum("annual_volume"))["v"]
                or 0
            )
        volume = overview.figures.volume
        cumulative = overview.figures.digital_volume + before
        records = []
        for rank, row in enumerate(selectors.entry_rows(page, today), start=start):
            cumulative += row.entry.annual_volume
            records.append(
                {
                    "rank": rank,
                    "procedure": exports.entry_record(row),
                    "share": metrics.rounded(metrics.rate(row.entry.annual_volume, volume)),
                    "rate_after": metrics.rounded(metrics.rate(cumulative, volume)),
                }
            )
        return self.get_paginated_response(records)


# --- Snapshots ------------------------------------------------------------------------------------------------


@extend_schema(
    tags=TAGS,
    summary="Snapshots over time, newest first, with the figures of your scope",
    parameters=[SnapshotQuerySerializer],
    responses={200: SnapshotSerializer(many=True), 403: FORBIDDEN, 404: NOT_FOUND},
)
class SnapshotListView(generics.GenericAPIView):
    queryset = Snapshot.objects.none()  # for the schema
    permission_classes = AUDITORS
    pagination_class = StandardPagination
    serializer_class = SnapshotSerializer

    def get(self, request):
        query = _query(SnapshotQuerySerializer, request)
        scope = selectors.audit_scope(request.user, query.get("organization"))
        snapshots = Snapshot.objects.order_by("-taken_on", "kind")
        if query.get("kind"):
            snapshots = snapshots.filter(kind=query["kind"])
        if query.get("date_from"):
            snapshots = snapshots.filter(taken_on__gte=query["date_from"])
        if query.get("date_to"):
            snapshots = snapshots.filter(taken_on__lte=query["date_to"])
        page = self.paginate_queryset(snapshots)
        return self.get_paginated_response(
            [
                {
                    "taken_on": snapshot.taken_on,
                    "kind": snapshot.kind,
                    "target": float(snapshot.target),
                    "fiscal_year": snapshot.fiscal_year,
                    "figures": {
                        **selectors.scope_figures_of(snapshot, scope).as_dict(),
                        "matrix": {},
                    },
                }
                for snapshot in page
            ]
        )


# --- Exemption review ---------------------------------------------------------------------------------------


@extend_schema(
    tags=TAGS,
    summary="Exemptions by review state (decide them with POST /api/v1/exemptions/{id}/decide/)",
    parameters=[ExemptionReviewQuerySerializer],
    responses={200: ExemptionSerializer(many=True), 403: FORBIDDEN},
)
class ExemptionReviewView(generics.GenericAPIView):
    queryset = Exemption.objects.none()  # for the schema; the selector decides
    permission_classes = [*BASE, MayDecideExemptions]
    pagination_class = StandardPagination
    serializer_class = ExemptionSerializer

    def get(self, request):
        query = _query(ExemptionReviewQuerySerializer, request)
        exemptions = selectors.exemptions_to_review(request.user)
        if query.get("review"):
            exemptions = selectors.exemptions_in_state(
                exemptions, query["review"], timezone.localdate()
            )
        else:
            exemptions = exemptions.order_by("-created_at")
        page = self.paginate_queryset(exemptions)
        return self.get_paginated_response(ExemptionSerializer(page, many=True).data)


# --- Case figures ------------------------------------------------------------------------------------------


@extend_schema(tags=DEPARTMENT_TAGS)
class CaseReportListView(generics.GenericAPIView):
    permission_classes = READERS
    pagination_class = StandardPagination
    serializer_class = CaseReportSerializer
    filterset_class = CaseReportFilter
    parser_classes = JSON_ONLY

    def get_queryset(self):
        if for_schema_only(self):
            return CaseReport.objects.none()
        return selectors.case_reports_for(self.request.user).order_by("-month", "entry__code")

    @extend_schema(
        summary="Reported case figures", responses={200: CaseReportSerializer(many=True)}
    )
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(CaseReportSerializer(page, many=True).data)

    @extend_schema(
        summary="Record (or correct) one month's cases of a procedure",
        request=CaseReportInputSerializer,
        responses={201: CaseReportSerializer, 400: INVALID, 404: NOT_FOUND},
    )
    def post(self, request):
        serializer = CaseReportInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        entry = selectors.reportable_entry(request.user, data["procedure"])
        report = services.case_report_record(
            actor=request.user,
            entry=entry,
            month=data["month"],
            online_cases=data["online_cases"],
            offline_cases=data["offline_cases"],
        )
        return Response(CaseReportSerializer(report).data, status=status.HTTP_201_CREATED)


@extend_schema(
    tags=DEPARTMENT_TAGS,
    summary="Import case figures from CSV (all rows or none)",
    request={"multipart/form-data": UploadSerializer},
    responses={200: ImportResultSerializer, 400: REJECTED, 403: FORBIDDEN},
)
class CaseReportImportView(APIView):
    permission_classes = REPORTERS
    parser_classes = [MultiPartParser]

    def post(self, request):
        upload = _upload(request)
        return Response(
            services.case_reports_import(
                actor=request.user, data=upload.read(), filename=upload.name
            )
        )


# --- The audit log ---------------------------------------------------------------------------------------------


class AuditPagination(StrictCursorPagination):
    ordering = "-sequence"
    page_size = 50
    max_page_size = 200


@extend_schema(
    tags=TAGS,
    summary="The audit log, newest first (cursor pages)",
    parameters=[AuditQuerySerializer],
    responses={
        200: AuditEventSerializer(many=True),
        400: OpenApiResponse(description="validation_failed: a bad filter, page size or cursor."),
        403: FORBIDDEN,
    },
)
class AuditLogView(generics.GenericAPIView):
    queryset = AuditEvent.objects.none()  # for the schema; the selector decides
    permission_classes = [*BASE, MayViewAuditLog]
    pagination_class = AuditPagination
    serializer_class = AuditEventSerializer

    def get(self, request):
        query = _query(AuditQuerySerializer, request)
        events = selectors.audit_events(request.user, selectors.AuditFilters(**query))
        page = self.paginate_queryset(events)
        return self.get_paginated_response(AuditEventSerializer(page, many=True).data)


class AuditVerificationView(APIView):
    permission_classes = [*BASE, MayViewAuditLog]

    @extend_schema(
        tags=TAGS,
        summary="The latest verification of the audit chain",
        responses={
            200: ChainCheckSerializer,
            404: OpenApiResponse(description="Never verified yet."),
        },
    )
    def get(self, request):
        check = selectors.latest_chain_check()
        if check is None:
            raise NotFound()
        return Response(ChainCheckSerializer(check).data)

    @extend_schema(
        tags=TAGS,
        summary="Verify the audit chain now",
        request=None,
        responses={201: ChainCheckSerializer},
    )
    def post(self, request):
        check = services.audit_chain_check(actor=request.user)
        return Response(ChainCheckSerializer(check).data, status=status.HTTP_201_CREATED)


# --- Open data -----------------------------------------------------------------------------------------------


class OpenDataThrottle(AnonRateThrottle):
    scope = "open_data"
    rate = "120/min"


OPEN = {
    "permission_classes": [AllowAny],
    "authentication_classes": [],
    "throttle_classes": [OpenDataThrottle],
}


@extend_schema(
    tags=OPEN_TAGS,
    summary="The whole government's rates, gap, five-less matrix and exemption counts",
    responses={200: SummarySerializer},
    auth=[],
)
class OpenSummaryView(APIView):
    permission_classes = OPEN["permission_classes"]
    authentication_classes = OPEN["authentication_classes"]
    throttle_classes = OPEN["throttle_classes"]

    def get(self, request):
        overview = selectors.overview_of(
            selectors.whole_government(), ranked_limit=0, with_trend=False
        )
        return Response(exports.summary_record(overview))


@extend_schema(tags=OPEN_TAGS, auth=[])
class OpenProcedureListView(_EntryPage):
    """Every procedure of the government with its channel, stages, principles and
    annual volume, so anyone can recompute the rates. No personal data."""

    permission_classes = OPEN["permission_classes"]
    authentication_classes = OPEN["authentication_classes"]
    throttle_classes = OPEN["throttle_classes"]
    serializer_class = OpenProcedureSerializer
    record_options = {"with_pending": False}

    def entries(self):
        return selectors.open_data_entries()

    @extend_schema(
        summary="Every procedure, largest volume first",
        responses={200: OpenProcedureSerializer(many=True)},
    )
    def get(self, request):
        return self.list_records(request)


@extend_schema(
    tags=OPEN_TAGS,
    summary="Every procedure as CSV (streamed)",
    responses={(200, "text/csv"): OpenApiTypes.STR},
    auth=[],
)
class OpenProcedureCSVView(StreamedExport):
    permission_classes = OPEN["permission_classes"]
    authentication_classes = OPEN["authentication_classes"]
    throttle_classes = OPEN["throttle_classes"]

    def get(self, request):
        rows = exports.rows_in_chunks(selectors.open_data_entries(), timezone.localdate())
        return _stream(exports.entries_csv(rows), "text/csv; charset=utf-8", "procedures.csv")


@extend_schema(
    tags=OPEN_TAGS,
    summary="Figures per organization of the whole government",
    responses={200: DepartmentSerializer(many=True)},
    auth=[],
)
class OpenDepartmentListView(generics.GenericAPIView):
    queryset = Organization.objects.none()  # rows are built, not read (for the schema)
    permission_classes = OPEN["permission_classes"]
    authentication_classes = OPEN["authentication_classes"]
    throttle_classes = OPEN["throttle_classes"]
    pagination_class = StandardPagination
    serializer_class = DepartmentSerializer

    def get(self, request):
        scope = selectors.whole_government()
        overview = selectors.overview_of(scope, ranked_limit=0, with_trend=False)
        rows = selectors.organizations_with_figures(scope, overview)
        page = self.paginate_queryset(rows)
        parents = _parents(scope.organizations)
        return self.get_paginated_response(
            [exports.department_record(org, figures, parents) for org, figures in page]
        )
