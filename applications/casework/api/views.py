"""The casework API for staff: the queue, one case, claiming, workflow actions,
assignment, internal notes and the files. Each view checks the shape of the request,
finds the application among those the caller may review (any other is a 404) and
calls the same service as the review page, so both behave the same."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import Action, actor_may
from applications.api.views import ATTACHMENT_FILE
from applications.casework import review
from applications.casework.api.serializers import (
    ActionSerializer,
    AssignSerializer,
    BulkAssignSerializer,
    CaseSerializer,
    ClaimNextSerializer,
    NoteInputSerializer,
    NoteSerializer,
    QueueItemSerializer,
    QueuePageSerializer,
    case_url_template,
    queue_item,
)
from applications.casework.queue import (
    ASSIGNEES,
    MAX_PAGE_SIZE,
    PAGE_SIZE,
    SORTS,
    Queue,
    case_for_staff,
    filters_from_query,
)
from applications.casework.services import (
    application_assign,
    application_claim_next,
    applications_bulk_assign,
    note_add,
    workflow_act,
)
from applications.downloads import attachment_response, document_response
from core.api.pagination import page_size_from_query, page_size_schema, single_value
from core.api.responses import INVALID, JSON_ONLY, STORE_DOWN, not_found
from core.errors import NotFound, PermissionDenied

TAGS = ["casework (staff)"]

NOT_FOUND = not_found("outside the organizations where you review")
NOT_STAFF = OpenApiResponse(
    description="not_allowed: you do not review applications; otp_required: second factor missing."
)

QUEUE_PARAMETERS = [
    OpenApiParameter("procedure", str, description="Code of one procedure."),
    OpenApiParameter(
        "status",
        str,
        many=True,
        explode=True,
        description="A state; repeat for several. None: every open state.",
    ),
    OpenApiParameter("assignee", str, enum=list(ASSIGNEES), description="Default anyone."),
    OpenApiParameter("overdue", bool, description="Only open applications past their due date."),
    OpenApiParameter(
        "due_within", int, description="Due within this many business days (0-365), or overdue."
    ),
    OpenApiParameter("submitted_from", OpenApiTypes.DATE, description="Submitted on or after."),
    OpenApiParameter("submitted_to", OpenApiTypes.DATE, description="Submitted on or before."),
    OpenApiParameter(
        "q", str, description="Reference number (or its beginning) or part of a name."
    ),
    OpenApiParameter(
        "sort",
        str,
        enum=list(SORTS),
        description="due (earliest due date first, the default), submitted (oldest first) "
        "or -submitted (newest first); ties by id.",
    ),
    OpenApiParameter(
        "cursor", str, description="From the `next` link of the previous page. Given once."
    ),
    OpenApiParameter(
        "page_size",
        page_size_schema(MAX_PAGE_SIZE),
        description=f"1 to {MAX_PAGE_SIZE}; default {PAGE_SIZE}. Given once.",
    ),
]


def _require_reviewer(actor) -> None:
    if not actor_may(actor, Action.REVIEW_APPLICATIONS):
        raise PermissionDenied(
            _("Only staff who review applications may use the queue."), code="not_allowed"
        )


def _case(request, pk: int):
    _require_reviewer(request.user)
    return case_for_staff(request.user, pk)


def _case_response(request, pk: int, **kwargs) -> Response:
    """The case as it is now (read again after a change)."""
    application = case_for_staff(request.user, pk)
    return Response(CaseSerializer(review.case_file(request.user, application)).data, **kwargs)


class QueueView(APIView):
    @extend_schema(
        tags=TAGS,
        operation_id="queue_list",
        summary="The queue: applications to review, filtered, with counts per state",
        description="Keyset (cursor) pagination: follow `next` for the following page; "
        "every page costs the same. The counts apply every filter but the state.",
        parameters=QUEUE_PARAMETERS,
        responses={
            200: QueuePageSerializer,
            400: OpenApiResponse(description="validation_failed: a bad filter or cursor."),
            403: NOT_STAFF,
        },
    )
    def get(self, request):
        _require_reviewer(request.user)
        params = request.query_params
        filters = filters_from_query(params)
        # Page parameters follow the API's one rule (core/api/pagination.py).
        size = page_size_from_query(params, default=PAGE_SIZE, maximum=MAX_PAGE_SIZE)
        cursor = single_value(params, "cursor")
        page, counts = Queue(request.user, filters).page_and_counts(cursor, size)
        next_url = None
        if page.next_cursor:
            query = params.copy()
            query["cursor"] = page.next_cursor
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        case_url = case_url_template()
        return Response(
            {
                "results": [queue_item(row, case_url) for row in page.items],
                "next": next_url,
                "counts": counts,
            }
        )


class CaseView(APIView):
    @extend_schema(
        tags=TAGS,
        operation_id="queue_case",
        summary="One case: answers (masked), revisions, timeline, notes, allowed actions",
        responses={200: CaseSerializer, 403: NOT_STAFF, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        _case(request, pk)
        return _case_response(request, pk)


class ClaimNextView(APIView):
    parser_classes = JSON_ONLY

    @extend_schema(
        tags=TAGS,
        operation_id="queue_claim_next",
        summary="Claim the most urgent waiting application",
        description="The earliest due, then earliest filed, application waiting for review "
        "and on nobody else's desk; two clerks never get the same one.",
        request=ClaimNextSerializer,
        responses={
            200: CaseSerializer,
            204: OpenApiResponse(description="Nothing is waiting."),
            403: NOT_STAFF,
        },
    )
    def post(self, request):
        _require_reviewer(request.user)
        serializer = ClaimNextSerializer(data=request.data or {})
        serializer.is_valid(raise_exception=True)
        application = application_claim_next(
            actor=request.user, procedure_code=serializer.validated_data["procedure"]
        )
        if application is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return _case_response(request, application.pk)


class ActionView(APIView):
    parser_classes = JSON_ONLY

    @extend_schema(
        tags=TAGS,
        operation_id="queue_action",
        summary="Take a workflow action on a case",
        request=ActionSerializer,
        responses={
            200: CaseSerializer,
            400: INVALID,
            403: OpenApiResponse(
                description="not_allowed (your role), four_eyes (you recommended it), "
                "assignee (someone else's case)."
            ),
            404: NOT_FOUND,
            409: OpenApiResponse(
                description="invalid_transition: not possible in this state; `details` "
                "gives the status and the allowed_actions."
            ),
        },
    )
    def post(self, request, pk: int):
        application = _case(request, pk)
        serializer = ActionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        workflow_act(
            actor=request.user,
            application=application,
            action=data["action"],
            comment=data["comment"],
            fields=data["fields"],
        )
        return _case_response(request, pk)


class AssignView(APIView):
    parser_classes = JSON_ONLY

    @extend_schema(
        tags=TAGS,
        operation_id="queue_assign",
        summary="Assign a case to a reviewer, or unassign it (supervisors)",
        request=AssignSerializer,
        responses={
            200: CaseSerializer,
            400: INVALID,
            403: OpenApiResponse(description="not_allowed: only supervisors assign."),
            404: NOT_FOUND,
            409: OpenApiResponse(description="closed: the application is closed."),
        },
    )
    def post(self, request, pk: int):
        application = _case(request, pk)
        serializer = AssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assignee = review.assignee_from(serializer.validated_data["assignee"])
        application_assign(actor=request.user, application=application, assignee=assignee)
        return _case_response(request, pk)


class BulkAssignView(APIView):
    parser_classes = JSON_ONLY

    @extend_schema(
        tags=TAGS,
        operation_id="queue_bulk_assign",
        summary="Assign several cases at once (supervisors); all or nothing",
        request=BulkAssignSerializer,
        responses={
            200: QueueItemSerializer(many=True),
            400: INVALID,
            403: OpenApiResponse(description="not_allowed: only supervisors assign."),
            404: NOT_FOUND,
            409: OpenApiResponse(description="closed: one of the applications is closed."),
        },
    )
    def post(self, request):
        _require_reviewer(request.user)
        serializer = BulkAssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        assignee = review.assignee_from(data["assignee"])
        applications = review.staff_applications_by_ids(request.user, data["applications"])
        applications_bulk_assign(actor=request.user, applications=applications, assignee=assignee)
        refreshed = review.staff_applications_by_ids(request.user, data["applications"])
        return Response(QueueItemSerializer(refreshed, many=True).data)


class NotesView(APIView):
    parser_classes = JSON_ONLY

    @extend_schema(
        tags=TAGS,
        operation_id="queue_notes_list",
        summary="Internal notes of a case (staff only)",
        responses={200: NoteSerializer(many=True), 403: NOT_STAFF, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        application = _case(request, pk)
        notes = application.notes.select_related("author")
        return Response(NoteSerializer(notes, many=True).data)

    @extend_schema(
        tags=TAGS,
        operation_id="queue_notes_add",
        summary="Add an internal note (never shown to the resident)",
        request=NoteInputSerializer,
        responses={201: NoteSerializer, 400: INVALID, 403: NOT_STAFF, 404: NOT_FOUND},
    )
    def post(self, request, pk: int):
        application = _case(request, pk)
        serializer = NoteInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        note = note_add(
            actor=request.user, application=application, text=serializer.validated_data["text"]
        )
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)


class AttachmentView(APIView):
    @extend_schema(
        tags=TAGS,
        operation_id="queue_attachment",
        summary="Download a resident's attached file",
        parameters=[
            OpenApiParameter(
                "inline", int, enum=[1], description="1: show an image or PDF in place."
            )
        ],
        responses={**ATTACHMENT_FILE, 404: NOT_FOUND, 503: STORE_DOWN},
    )
    def get(self, request, pk: int, public_id: str):
        application = _case(request, pk)
        attachment = application.attachments.filter(public_id=public_id).first()
        if attachment is None:
            raise NotFound()
        inline = request.query_params.get("inline") == "1" and review.previewable(attachment)
        return attachment_response(attachment, inline=inline)


class DocumentView(APIView):
    @extend_schema(
        tags=TAGS,
        operation_id="queue_document",
        summary="Download an issued document of a case (PDF)",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY, 404: NOT_FOUND, 503: STORE_DOWN},
    )
    def get(self, request, pk: int, document_id: int):
        application = _case(request, pk)
        document = application.documents.filter(pk=document_id).first()
        if document is None:
            raise NotFound()
        return document_response(application, document)
