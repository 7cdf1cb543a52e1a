"""The retention API for department admins and auditors: the same three lists as
the retention page (/casework/retention/), and the legal holds' two writes, which
call the same services as the pages (applications.purge)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from applications.casework import retention
from applications.casework.api.views import NOT_FOUND, TAGS, _case
from applications.models import LegalHold
from applications.purge import legal_hold_place, legal_hold_release
from core.api.pagination import MAX_PAGE_SIZE, PAGE_SIZE, StandardPagination, page_size_schema
from core.api.responses import INVALID, JSON_ONLY, not_found
from core.errors import PermissionDenied

RETENTION_TAGS = ["retention (department, auditor)"]
HOLD_NOT_FOUND = not_found("a hold on a case of a procedure you do not manage")

# --- Shapes -----------------------------------------------------------------------------


class HoldInputSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=retention.REASON_MAX,
        # Blank passes the shape: the rule (and its message) is the service's.
        allow_blank=True,
        help_text="Why: litigation, an open complaint; not blank. Only staff see it.",
    )


class HoldSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    application = serializers.IntegerField(help_text="The case's id (/api/v1/queue/{id}/).")
    reference = serializers.CharField()
    procedure = serializers.CharField(help_text="The procedure's code.")
    reason = serializers.CharField()
    placed_by = serializers.CharField(help_text="Display name of who placed it.")
    placed_at = serializers.DateTimeField()
    released_by = serializers.CharField(
        allow_null=True, help_text="Display name of who released it; null while open."
    )
    released_at = serializers.DateTimeField(allow_null=True, help_text="Null while open.")
    release_reason = serializers.CharField(help_text="Empty while open.")


class UpcomingCaseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    procedure = serializers.CharField(help_text="The procedure's code.")
    ended_at = serializers.DateTimeField(allow_null=True)
    kept_until = serializers.DateField(help_text="The last day it is kept (Japan's).")
    on_hold = serializers.BooleanField(help_text="A hold is open: it will not be purged.")


class UpcomingPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = UpcomingCaseSerializer(many=True)


class ProcedureCountSerializer(serializers.Serializer):
    procedure = serializers.CharField(help_text="The procedure's code.")
    count = serializers.IntegerField()


class PurgedMonthSerializer(serializers.Serializer):
    month = serializers.RegexField(r"^\d{4}-\d{2}$", help_text="YYYY-MM, Japan's time.")
    procedure = serializers.CharField(help_text="The procedure's code.")
    count = serializers.IntegerField()


class HoldListsSerializer(serializers.Serializer):
    open = HoldSerializer(many=True, help_text="Every open hold, the oldest first.")
    released = HoldSerializer(
        many=True, help_text=f"The {retention.RELEASED_SHOWN} most recently released holds."
    )


class RetentionSerializer(serializers.Serializer):
    today = serializers.DateField(help_text="Today in Japan, from which `upcoming` counts.")
    until = serializers.DateField(help_text="The last day `upcoming` covers.")
    upcoming = UpcomingPageSerializer(
        help_text="Cases whose last day is from today to `until`, not purged, the soonest "
        "first; `page` and `page_size` choose the page."
    )
    upcoming_by_procedure = ProcedureCountSerializer(many=True)
    purged_by_month = PurgedMonthSerializer(
        many=True, help_text="Cases purged, by month and procedure, the most recent month first."
    )
    holds = HoldListsSerializer()


def hold_record(hold: LegalHold) -> dict:
    return {
        "id": hold.pk,
        "application": hold.application_id,
        "reference": hold.application.reference,
        "procedure": hold.application.procedure.code,
        "reason": hold.reason,
        "placed_by": hold.placed_by.display_name,
        "placed_at": hold.placed_at,
        "released_by": hold.released_by.display_name if hold.released_by else None,
        "released_at": hold.released_at,
        "release_reason": hold.release_reason,
    }


def _hold_row(row: retention.HoldRow) -> dict:
    return {
        "id": row.id,
        "application": row.application_id,
        "reference": row.reference,
        "procedure": row.procedure.code,
        "reason": row.reason,
        "placed_by": row.placed_by,
        "placed_at": row.placed_at,
        "released_by": row.released_by if row.released_at else None,
        "released_at": row.released_at,
        "release_reason": row.release_reason,
    }


# --- Views ------------------------------------------------------------------------------

# `upcoming` is the page; the other lists come whole (StandardPagination's parameters).
UPCOMING_PAGE = [
    OpenApiParameter(
        "page",
        {"type": "integer", "minimum": 1},
        description="The page of `upcoming`, 1 or more (default 1); past the last page is 404. "
        "Given once.",
    ),
    OpenApiParameter(
        "page_size",
        page_size_schema(MAX_PAGE_SIZE),
        description=f"Cases per page of `upcoming`, 1 to {MAX_PAGE_SIZE} (default {PAGE_SIZE}). "
        "Given once.",
    ),
]


class RetentionView(generics.GenericAPIView):
    pagination_class = StandardPagination
    serializer_class = RetentionSerializer

    @extend_schema(
        tags=RETENTION_TAGS,
        operation_id="retention_overview",
        summary="Cases to be purged in the next 30 days, purged cases by month, legal holds",
        description="For department admins and auditors, over the procedures of the "
        "organizations where they manage procedures or audit. Days are Japan's.",
        parameters=UPCOMING_PAGE,
        responses={
            200: RetentionSerializer,
            403: OpenApiResponse(
                description="not_allowed: only department admins and auditors; "
                "otp_required: second factor missing."
            ),
            404: OpenApiResponse(description="not_found: a page of `upcoming` past the last."),
        },
    )
    def get(self, request):
        if not retention.may_see_retention(request.user):
            raise PermissionDenied(
                _("Only department admins and auditors see retention."), code="not_allowed"
            )
        overview = retention.Retention(request.user)
        paginator = self.paginator
        values = paginator.paginate_queryset(overview.upcoming(), request, view=self)
        upcoming = [
            {
                "id": row.id,
                "reference": row.reference,
                "procedure": row.procedure.code,
                "ended_at": row.ended_at,
                "kept_until": row.kept_until,
                "on_hold": row.on_hold,
            }
            for row in overview.rows(values)
        ]
        body = {
            "today": overview.today,
            "until": overview.until,
            "upcoming": {
                "count": paginator.page.paginator.count,
                "next": paginator.get_next_link(),
                "previous": paginator.get_previous_link(),
                "results": upcoming,
            },
            "upcoming_by_procedure": [
                {"procedure": item.procedure.code, "count": item.count}
                for item in overview.upcoming_by_procedure()
            ],
            "purged_by_month": [
                {
                    "month": row.month.strftime("%Y-%m"),
                    "procedure": row.procedure.code,
                    "count": row.count,
                }
                for row in overview.purged_by_month()
            ],
            "holds": {
                "open": [_hold_row(row) for row in overview.open_holds()],
                "released": [_hold_row(row) for row in overview.released_holds()],
            },
        }
        return Response(RetentionSerializer(body).data)


class CaseHoldsView(APIView):
    parser_classes = JSON_ONLY

    @extend_schema(
        tags=TAGS,
        operation_id="queue_hold_place",
        summary="Put a legal hold on a case (department admins of its procedure)",
        description="While a hold is open the case is never purged, whatever its period.",
        request=HoldInputSerializer,
        responses={
            201: HoldSerializer,
            400: OpenApiResponse(
                description="validation_failed: `details.reason` says the reason is missing "
                "or the case was already purged."
            ),
            403: OpenApiResponse(
                description="not_allowed: you do not review applications; "
                "permission_denied: you do not manage the procedure; "
                "otp_required: second factor missing."
            ),
            404: NOT_FOUND,
        },
    )
    def post(self, request, pk: int):
        application = _case(request, pk)
        serializer = HoldInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        hold = legal_hold_place(
            actor=request.user, application=application, reason=serializer.validated_data["reason"]
        )
        return Response(HoldSerializer(hold_record(hold)).data, status=status.HTTP_201_CREATED)


class HoldReleaseView(APIView):
    parser_classes = JSON_ONLY

    @extend_schema(
        tags=RETENTION_TAGS,
        operation_id="retention_hold_release",
        summary="Release a legal hold, with a reason (department admins)",
        description="The case is purged by the next run once its period has run out. "
        "Releasing a hold already released changes nothing and answers it as it is.",
        request=HoldInputSerializer,
        responses={
            200: HoldSerializer,
            400: INVALID,
            403: OpenApiResponse(
                description="not_allowed: only department admins release holds (auditors "
                "see them); otp_required: second factor missing."
            ),
            404: HOLD_NOT_FOUND,
        },
    )
    def post(self, request, pk: int):
        if not retention.may_hold_somewhere(request.user):
            raise PermissionDenied(
                _("Only department admins release legal holds."), code="not_allowed"
            )
        hold = retention.hold_for_release(request.user, pk)
        serializer = HoldInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reason = retention.release_reason(serializer.validated_data["reason"])
        if hold.released_at is None:
            hold = legal_hold_release(actor=request.user, hold=hold, reason=reason)
        return Response(HoldSerializer(hold_record(hold)).data)
