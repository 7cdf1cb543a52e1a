"""The residents' applications API. Each view checks the shape of the request,
finds the caller's own application (anyone else's is a 404) and calls one
service: the pages and this API behave the same because the rules live in
applications.services."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import MethodNotAllowed, NotAcceptable
from rest_framework.response import Response
from rest_framework.views import APIView

from applications import my_data, selectors, services
from applications.api.serializers import (
    ApplicationDetailSerializer,
    ApplicationSerializer,
    ApplicationStartSerializer,
    ApplicationSubmittedSerializer,
    AttachmentSerializer,
    AttachmentUploadSerializer,
    CosignerInputSerializer,
    CosignersSerializer,
    FormResultSerializer,
    ResubmitSerializer,
    StepAnswersSerializer,
    SubmitSerializer,
    WithdrawSerializer,
)
from applications.downloads import attachment_response, document_response
from applications.models import Application
from applications.uploads import CONTENT_TYPES
from core.api.errors import json_error_response
from core.api.negotiation import method_supported
from core.api.parsers import MultiPartParser
from core.api.responses import INVALID, JSON_ONLY, STORE_DOWN, for_schema_only, not_found
from core.errors import NotFound
from procedures.selectors import published_procedure

TAGS = ["applications (resident)"]
# Bodies are JSON documents; attachments have their own endpoint.

NOT_FOUND = not_found("not yours")
NOT_A_DRAFT = OpenApiResponse(description="not_a_draft: already submitted.")
OUTSIDE_WINDOW = OpenApiResponse(
    description="procedure_not_yet_open or procedure_closed: outside the procedure's "
    "application window (`application_window` in the catalogue); a draft is kept as it is."
)
# An attached file is served with the media type of the kind its content was
# checked to be (applications/uploads.py), so the schema lists each of them.
ATTACHMENT_FILE = {
    (200, media_type): OpenApiTypes.BINARY for media_type in sorted(set(CONTENT_TYPES.values()))
}


def _detail(application: Application, **kwargs) -> Response:
    return Response(ApplicationDetailSerializer(application).data, **kwargs)


@extend_schema(tags=TAGS)
class ApplicationListView(generics.ListAPIView):
    """The caller's applications, latest activity first."""

    parser_classes = JSON_ONLY
    serializer_class = ApplicationSerializer

    def get_queryset(self):
        if for_schema_only(self):
            return Application.objects.none()
        # Lists do not need the (large) definition of each pinned version.
        return selectors.applications_of(self.request.user).defer("version__definition")

    @extend_schema(
        summary="Start an application (a draft)",
        request=ApplicationStartSerializer,
        responses={
            201: ApplicationDetailSerializer,
            400: INVALID,
            404: NOT_FOUND,
            409: OUTSIDE_WINDOW,
        },
    )
    def post(self, request):
        serializer = ApplicationStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        procedure, _version = published_procedure(data["procedure"])
        application = services.application_start(
            actor=request.user,
            procedure=procedure,
            on_behalf_of_name=data["on_behalf_of_name"],
            on_behalf_of_relationship=data["on_behalf_of_relationship"],
        )
        return _detail(application, status=status.HTTP_201_CREATED)


class ApplicationDetailView(APIView):
    parser_classes = JSON_ONLY

    @extend_schema(
        tags=TAGS,
        summary="One of your applications, with its form and events",
        responses={200: ApplicationDetailSerializer, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        return _detail(selectors.own_application(request.user, pk))

    @extend_schema(
        tags=TAGS,
        summary="Delete a draft",
        request=None,
        responses={
            204: None,
            404: NOT_FOUND,
            409: OpenApiResponse(description="not_a_draft: only drafts can be deleted."),
        },
    )
    def delete(self, request, pk: int):
        application = selectors.own_application(request.user, pk)
        services.application_discard_draft(actor=request.user, application=application)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApplicationStepView(APIView):
    parser_classes = JSON_ONLY

    @extend_schema(
        tags=TAGS,
        summary="Save a step of a draft",
        description="The answers are kept as typed even when invalid (a draft loses "
        "nothing); the response lists the step's errors. Unknown step: 404.",
        request=StepAnswersSerializer,
        responses={200: FormResultSerializer, 400: INVALID, 404: NOT_FOUND, 409: NOT_A_DRAFT},
    )
    def put(self, request, pk: int, step_key: str):
        application = selectors.own_application(request.user, pk)
        serializer = StepAnswersSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.application_save_step(
            actor=request.user,
            application=application,
            step_key=step_key,
            answers=serializer.validated_data["answers"],
        )
        return Response(FormResultSerializer(result).data)


class ApplicationCheckView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Check the whole application before submitting",
        responses={200: FormResultSerializer, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        application = selectors.own_application(request.user, pk)
        return Response(FormResultSerializer(services.application_check(application)).data)


class ApplicationSubmitView(APIView):
    parser_classes = JSON_ONLY

    @extend_schema(
        tags=TAGS,
        summary="Submit a draft",
        description="Validates every visible step, gives the application its reference "
        "number and signs the filing. Submitting again returns the same application. "
        "The answer is short (reference, status, fee, signature, next step, links); "
        "`links.detail` is the full application.",
        request=SubmitSerializer,
        responses={
            200: ApplicationSubmittedSerializer,
            400: OpenApiResponse(
                description="validation_failed: `details` maps field paths to messages."
            ),
            403: OpenApiResponse(
                description="identity_required: the procedure needs a verified identity."
            ),
            404: NOT_FOUND,
            409: OUTSIDE_WINDOW,
        },
    )
    def post(self, request, pk: int):
        serializer = SubmitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # The service finds the caller's own draft itself, locked (anyone else's is a 404).
        application = services.application_submit(
            actor=request.user,
            application=pk,
            declaration=serializer.validated_data["declaration"],
        )
        return Response(ApplicationSubmittedSerializer(application).data)


class ApplicationCosignersView(APIView):
    parser_classes = JSON_ONLY

    @extend_schema(
        tags=TAGS,
        summary="Name the co-signers of a draft",
        description="The people whose consent the procedure needs (see `cosigners` of the "
        "application), by role: kept as typed even when invalid, like a step; the response "
        "lists the problems of the roles the answers call for. The submission is refused "
        "while one is missing.",
        request=CosignersSerializer,
        responses={200: FormResultSerializer, 400: INVALID, 404: NOT_FOUND, 409: NOT_A_DRAFT},
    )
    def put(self, request, pk: int):
        application = selectors.own_application(request.user, pk)
        serializer = CosignersSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        problems = services.cosigners_save(
            actor=request.user,
            application=application,
            values=serializer.validated_data["cosigners"],
        )
        return Response({"valid": not problems, "errors": problems})


class ApplicationCosignerView(APIView):
    parser_classes = JSON_ONLY

    @extend_schema(
        tags=TAGS,
        summary="Name someone else for a co-signer's role (or ask again)",
        description="While the application waits for its co-signatures: after a decline, "
        "an expiry or a wrong address, a new request goes to the person named (the same "
        "person again gets a new link; the earlier one stops working). Not for a role "
        "already signed.",
        request=CosignerInputSerializer,
        responses={
            200: ApplicationDetailSerializer,
            400: INVALID,
            404: NOT_FOUND,
            409: OpenApiResponse(description="not_waiting_for_cosigners or already_signed."),
        },
    )
    def post(self, request, pk: int, role: str):
        application = selectors.own_application(request.user, pk)
        serializer = CosignerInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.cosigner_replace(
            actor=request.user,
            application=application,
            role_key=role,
            name=serializer.validated_data["name"],
            email=serializer.validated_data["email"],
        )
        return _detail(selectors.own_application(request.user, pk))


class ApplicationWithdrawView(APIView):
    parser_classes = JSON_ONLY

    @extend_schema(
        tags=TAGS,
        summary="Withdraw a submitted application",
        request=WithdrawSerializer,
        responses={
            200: ApplicationDetailSerializer,
            400: INVALID,
            404: NOT_FOUND,
            409: OpenApiResponse(
                description="cannot_withdraw: a draft (delete it instead) or already decided."
            ),
        },
    )
    def post(self, request, pk: int):
        application = selectors.own_application(request.user, pk)
        serializer = WithdrawSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        application = services.application_withdraw(
            actor=request.user, application=application, reason=serializer.validated_data["reason"]
        )
        return _detail(application)


class ApplicationResubmitView(APIView):
    parser_classes = JSON_ONLY

    @extend_schema(
        tags=TAGS,
        summary="Answer a correction request (send the corrections)",
        description="Correct the answers first with the step endpoint (only the steps "
        "holding the fields to correct are open) and the attachment endpoints. The whole "
        "filing is validated again and signed as a new revision; the earlier one is kept. "
        "Sending again returns the same application.",
        request=ResubmitSerializer,
        responses={
            200: ApplicationDetailSerializer,
            400: INVALID,
            404: NOT_FOUND,
            409: OpenApiResponse(description="invalid_transition: no correction is awaited."),
        },
    )
    def post(self, request, pk: int):
        application = selectors.own_application(request.user, pk)
        serializer = ResubmitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        application = services.application_resubmit(
            actor=request.user,
            application=application,
            declaration=serializer.validated_data["declaration"],
            note=serializer.validated_data["note"],
        )
        return _detail(application)


class ApplicationAttachmentListView(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        tags=TAGS,
        summary="Upload a file for a file field",
        description="multipart/form-data with `field` and `file`. Allowed in a draft, and "
        "while a correction is awaited for the fields it names. The file is checked by "
        "size, extension and actual content (and scanned for viruses when configured); "
        "its SHA-256 is recorded.",
        request={"multipart/form-data": AttachmentUploadSerializer},
        responses={
            201: AttachmentSerializer,
            400: INVALID,
            404: NOT_FOUND,
            409: NOT_A_DRAFT,
            503: STORE_DOWN,
        },
    )
    def post(self, request, pk: int):
        application = selectors.own_application(request.user, pk)
        serializer = AttachmentUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        attachment = services.attachment_add(
            actor=request.user,
            application=application,
            field_key=serializer.validated_data["field"],
            upload=serializer.validated_data["file"],
        )
        return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)


class ApplicationAttachmentView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Download an attached file",
        responses={**ATTACHMENT_FILE, 404: NOT_FOUND, 503: STORE_DOWN},
    )
    def get(self, request, pk: int, public_id: str):
        application = selectors.own_application(request.user, pk)
        attachment = application.attachments.filter(public_id=public_id).first()
        if attachment is None:
            raise NotFound()
        return attachment_response(attachment)

    @extend_schema(
        tags=TAGS,
        summary="Remove an attached file",
        request=None,
        responses={204: None, 404: NOT_FOUND, 409: NOT_A_DRAFT},
    )
    def delete(self, request, pk: int, public_id: str):
        application = selectors.own_application(request.user, pk)
        services.attachment_remove(actor=request.user, application=application, public_id=public_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApplicationDocumentView(APIView):
    @extend_schema(
        tags=TAGS,
        summary="Download an issued document (receipt, decision) as PDF",
        description="Signed by the platform; anyone can check it at /verify/.",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY, 404: NOT_FOUND, 503: STORE_DOWN},
    )
    def get(self, request, pk: int, document_id: int):
        application = selectors.own_application(request.user, pk)
        document = application.documents.filter(pk=document_id).first()
        if document is None:
            raise NotFound()
        return document_response(application, document)


class MyDataView(APIView):
    """The signed-in caller's own data as one ZIP archive (applications/my_data.py)."""

    def perform_content_negotiation(self, request, force=False):
        """A client of this endpoint may well send `Accept: application/zip`: the
        archive is a file, never rendered, and errors are JSON whatever it accepts."""
        try:
            return super().perform_content_negotiation(request, force)
        except NotAcceptable:
            renderer = self.get_renderers()[0]
            request.accepted_renderer, request.accepted_media_type = renderer, renderer.media_type
            if not method_supported(self, request.method):
                raise MethodNotAllowed(request.method) from None
            return renderer, renderer.media_type

    @extend_schema(
        tags=TAGS,
        summary="Download everything the platform holds about you (one ZIP archive)",
        description="The disclosure right of the Act on the Protection of Personal "
        "Information: `my-data.json` (format `cityproc.my-data`, version 1: your "
        "account, identities, applications, payments and notifications; Individual "
        "Numbers masked), your attached files under `attachments/<reference>/` and "
        "the documents issued to you under `documents/<reference>/`. The same archive "
        "as the page /applications/my-data/. Each download is audited; at most "
        f"{my_data.DOWNLOADS_PER_HOUR} an hour.",
        responses={
            (200, "application/zip"): OpenApiTypes.BINARY,
            429: OpenApiResponse(
                description="throttled: the hourly limit of downloads is reached; "
                "Retry-After says in how many seconds the next is allowed."
            ),
            503: STORE_DOWN,
        },
    )
    def get(self, request):
        try:
            archive = my_data.my_data_archive(actor=request.user)
        except my_data.MyDataLimitReached as refusal:
            response = json_error_response(refusal.code, refusal.message, refusal.http_status)
            response["Retry-After"] = str(refusal.retry_after)
            return response
        return my_data.my_data_response(archive)
