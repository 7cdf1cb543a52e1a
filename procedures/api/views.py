"""The procedures API. Each view checks the shape of the request, calls one
selector (to find what the caller may see) and one service, and renders the
result: the builder pages and this API behave the same because the rules live
in procedures.services."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.responses import FORBIDDEN, INVALID, JSON_ONLY, NOT_FOUND, for_schema_only
from core.errors import NotFound
from procedures import selectors, services
from procedures.api.filters import CatalogueFilter, ExemptionFilter, ManagedProcedureFilter
from procedures.api.permissions import MayDecideExemptions, MayManageProcedures
from procedures.api.serializers import (
    CatalogueProcedureDetailSerializer,
    CatalogueProcedureSerializer,
    ExemptionDecisionSerializer,
    ExemptionRequestSerializer,
    ExemptionSerializer,
    ExportQuerySerializer,
    ImportQuerySerializer,
    ManagedProcedureSerializer,
    PolicyReportSerializer,
    ProcedureCreateSerializer,
    ProcedureFieldsSerializer,
    ProcedureImportResultSerializer,
    ProcedureVersionSerializer,
    ProcedureVersionSummarySerializer,
    ProcedureVersionUpdateSerializer,
)
from procedures.form_engine.definition import definition_schema
from procedures.form_engine.fields import postal_lookup
from procedures.form_engine.japanese import normalize_postal_code
from procedures.models import Exemption, Procedure, ProcedureVersion

# Authenticated, second factor passed (the defaults), plus the role.
MANAGERS = [*APIView.permission_classes, MayManageProcedures]
AUDITORS = [*APIView.permission_classes, MayDecideExemptions]
# Bodies are JSON documents; no forms or uploads.

DEFINITION_INVALID = OpenApiResponse(
    description="definition_invalid: `details` lists every problem as {path, message}."
)


# --- The public catalogue ------------------------------------------------------------


@extend_schema(tags=["catalogue"], summary="The published catalogue", auth=[])
class CatalogueListView(generics.ListAPIView):
    """Procedures residents can file now, each with its published version's fee."""

    permission_classes = [AllowAny]
    serializer_class = CatalogueProcedureSerializer
    filterset_class = CatalogueFilter

    def get_queryset(self):
        return selectors.published_procedures()


class CatalogueDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["catalogue"],
        summary="A published procedure with its form",
        auth=[],
        responses={200: CatalogueProcedureDetailSerializer, 404: NOT_FOUND},
    )
    def get(self, request, code: str):
        procedure, _version = selectors.published_procedure(code)
        return Response(CatalogueProcedureDetailSerializer(procedure).data)


class DefinitionSchemaView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["catalogue"],
        summary="JSON Schema of the procedure definition format",
        auth=[],
        responses={(200, "application/schema+json"): OpenApiTypes.OBJECT},
    )
    def get(self, request):
        return Response(
            definition_schema(),
            content_type="application/schema+json",
            headers={"Cache-Control": "public, max-age=3600"},
        )


class PostalCodeSerializer(serializers.Serializer):
    postal_code = serializers.CharField()
    prefecture = serializers.CharField()
    city = serializers.CharField()
    town = serializers.CharField(allow_blank=True)


class PostalCodeView(APIView):
    """Prefecture, city and town of a Japanese postal code (offline data), for
    filling in address fields."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        tags=["catalogue"],
        summary="Look up a postal code",
        auth=[],
        responses={200: PostalCodeSerializer, 404: NOT_FOUND},
    )
    def get(self, request, code: str):
        normalized = normalize_postal_code(code)
        found = postal_lookup(normalized) if normalized else None
        if found is None:
            raise NotFound(_("This postal code does not exist."))
        return Response(
            PostalCodeSerializer({"postal_code": normalized, **found}).data,
            headers={"Cache-Control": "public, max-age=86400"},
        )


# --- Managing procedures ----------------------------------------------------------------


@extend_schema(tags=["procedures (department)"])
class ManagedProcedureListView(generics.ListAPIView):
    """Procedures of the organizations where the caller manages procedures."""

    permission_classes = MANAGERS
    parser_classes = JSON_ONLY
    serializer_class = ManagedProcedureSerializer
    filterset_class = ManagedProcedureFilter

    def get_queryset(self):
        if for_schema_only(self):
            return Procedure.objects.none()
        return selectors.managed_procedures_overview(self.request.user)

    @extend_schema(
        summary="Create a procedure (with its first draft)",
        request=ProcedureCreateSerializer,
        responses={
            201: ManagedProcedureSerializer,
            400: INVALID,
            403: FORBIDDEN,
            409: OpenApiResponse(description="code_taken."),
        },
    )
    def post(self, request):
        serializer = ProcedureCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        procedure = services.procedure_create(actor=request.user, **serializer.validated_data)
        return Response(ManagedProcedureSerializer(procedure).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["procedures (department)"])
class ManagedProcedureDetailView(APIView):
    permission_classes = MANAGERS
    parser_classes = JSON_ONLY

    @extend_schema(
        summary="A procedure you manage",
        responses={200: ManagedProcedureSerializer, 404: NOT_FOUND},
    )
    def get(self, request, code: str):
        procedure = selectors.managed_procedure(request.user, code)
        return Response(ManagedProcedureSerializer(procedure).data)

    @extend_schema(
        summary="Change the catalogue entry",
        request=ProcedureFieldsSerializer(partial=True),
        responses={200: ManagedProcedureSerializer, 400: INVALID, 404: NOT_FOUND},
    )
    def patch(self, request, code: str):
        procedure = selectors.managed_procedure(request.user, code)
        serializer = ProcedureFieldsSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        procedure = services.procedure_update(
            actor=request.user, procedure=procedure, **serializer.validated_data
        )
        return Response(ManagedProcedureSerializer(procedure).data)


class ProcedureRetireView(APIView):
    permission_classes = MANAGERS
    parser_classes = JSON_ONLY

    @extend_schema(
        tags=["procedures (department)"],
        summary="Take a procedure out of the catalogue",
        request=None,
        responses={200: ManagedProcedureSerializer, 404: NOT_FOUND},
    )
    def post(self, request, code: str):
        procedure = selectors.managed_procedure(request.user, code)
        procedure = services.procedure_retire(actor=request.user, procedure=procedure)
        return Response(ManagedProcedureSerializer(procedure).data)


@extend_schema(tags=["procedures (department)"])
class VersionListView(generics.ListAPIView):
    """The versions of a procedure, newest first."""

    permission_classes = MANAGERS
    parser_classes = JSON_ONLY
    serializer_class = ProcedureVersionSummarySerializer

    def get_queryset(self):
        if for_schema_only(self):
            return ProcedureVersion.objects.none()
        return selectors.managed_versions(self.request.user, self.kwargs["code"])

    @extend_schema(
        summary="Get or start the draft",
        description="The procedure's draft; started from the published version when there "
        "is none (201), else the existing draft (200).",
        request=None,
        responses={200: ProcedureVersionSerializer, 201: ProcedureVersionSerializer},
    )
    def post(self, request, code: str):
        procedure = selectors.managed_procedure(request.user, code)
        draft, created = services.procedure_draft_get_or_create(
            actor=request.user, procedure=procedure
        )
        return Response(
            ProcedureVersionSerializer(draft).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


@extend_schema(tags=["procedures (department)"])
class VersionDetailView(APIView):
    permission_classes = MANAGERS
    parser_classes = JSON_ONLY

    @extend_schema(
        summary="A version with its definition",
        responses={200: ProcedureVersionSerializer, 404: NOT_FOUND},
    )
    def get(self, request, code: str, number: int):
        version = selectors.managed_version(request.user, code, number)
        return Response(ProcedureVersionSerializer(version).data)

    @extend_schema(
        summary="Replace a draft's definition",
        request=ProcedureVersionUpdateSerializer,
        responses={
            200: ProcedureVersionSerializer,
            400: DEFINITION_INVALID,
            404: NOT_FOUND,
            409: OpenApiResponse(description="version_not_draft: edit the draft instead."),
        },
    )
    def put(self, request, code: str, number: int):
        version = selectors.managed_version(request.user, code, number)
        serializer = ProcedureVersionUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = services.version_update(
            actor=request.user, version=version, definition=serializer.validated_data["definition"]
        )
        return Response(ProcedureVersionSerializer(version).data)


class VersionPolicyView(APIView):
    permission_classes = MANAGERS

    @extend_schema(
        tags=["procedures (department)"],
        summary="The five-less policy report of a version",
        responses={200: PolicyReportSerializer, 404: NOT_FOUND},
    )
    def get(self, request, code: str, number: int):
        version = selectors.managed_version(request.user, code, number)
        return Response(PolicyReportSerializer(services.version_report(version)).data)


class VersionPublishView(APIView):
    permission_classes = MANAGERS
    parser_classes = JSON_ONLY

    @extend_schema(
        tags=["procedures (department)"],
        summary="Publish a draft",
        description="Refused while the definition has problems (400 definition_invalid) or "
        "a five-less principle fails without an approved exemption (409 policy_failed, "
        "`details` lists the failing principles and their findings).",
        request=None,
        responses={
            200: ProcedureVersionSerializer,
            400: DEFINITION_INVALID,
            404: NOT_FOUND,
            409: OpenApiResponse(description="policy_failed or version_not_draft."),
        },
    )
    def post(self, request, code: str, number: int):
        version = selectors.managed_version(request.user, code, number)
        version = services.version_publish(actor=request.user, version=version)
        return Response(ProcedureVersionSerializer(version).data)


class ProcedureExportView(APIView):
    permission_classes = MANAGERS

    @extend_schema(
        tags=["procedures (department)"],
        summary="Export a procedure as an exchange document",
        description="A JSON document valid against /api/v1/schemas/procedure-definition.json, "
        "served as the attachment `<code>.json`.",
        parameters=[ExportQuerySerializer],
        responses={200: OpenApiTypes.OBJECT, 404: NOT_FOUND},
    )
    def get(self, request, code: str):
        query = ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        version = selectors.version_to_export(
            request.user, code, query.validated_data.get("version")
        )
        document = services.procedure_export(procedure=version.procedure, version=version)
        return Response(
            document,
            headers={
                "Content-Disposition": f'attachment; filename="{version.procedure.code}.json"'
            },
        )


class ProcedureImportView(APIView):
    permission_classes = MANAGERS
    parser_classes = JSON_ONLY

    @extend_schema(
        tags=["procedures (department)"],
        summary="Import an exchange document as a draft",
        description="The body is the exchange document itself. It becomes a new procedure, "
        "or a new draft of the procedure with its code. Nothing is written unless the "
        "whole document is valid; every problem is reported with its path.",
        parameters=[ImportQuerySerializer],
        request=OpenApiTypes.OBJECT,
        responses={
            201: ProcedureImportResultSerializer,
            400: DEFINITION_INVALID,
            403: FORBIDDEN,
        },
    )
    def post(self, request):
        query = ImportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        version = services.procedure_import(
            actor=request.user,
            document=request.data,
            organization=query.validated_data.get("organization"),
        )
        body = {"code": version.procedure.code, "version": version.number}
        return Response(ProcedureImportResultSerializer(body).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["procedures (department)"])
class ProcedureExemptionListView(generics.ListAPIView):
    """The procedure's exemptions, refused ones included."""

    permission_classes = MANAGERS
    parser_classes = JSON_ONLY
    serializer_class = ExemptionSerializer

    def get_queryset(self):
        if for_schema_only(self):
            return Exemption.objects.none()
        return selectors.managed_exemptions(self.request.user, self.kwargs["code"])

    @extend_schema(
        summary="Request an exemption from a principle",
        request=ExemptionRequestSerializer,
        responses={
            201: ExemptionSerializer,
            400: INVALID,
            404: NOT_FOUND,
            409: OpenApiResponse(description="exemption_exists."),
        },
    )
    def post(self, request, code: str):
        procedure = selectors.managed_procedure(request.user, code)
        serializer = ExemptionRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        exemption = services.exemption_request(
            actor=request.user, procedure=procedure, **serializer.validated_data
        )
        return Response(ExemptionSerializer(exemption).data, status=status.HTTP_201_CREATED)


# --- Auditors -------------------------------------------------------------------------


@extend_schema(tags=["exemptions (auditor)"], summary="Exemptions to review")
class AuditorExemptionListView(generics.ListAPIView):
    """Exemptions of procedures in the organizations where the caller decides
    exemptions."""

    permission_classes = AUDITORS
    serializer_class = ExemptionSerializer
    filterset_class = ExemptionFilter

    def get_queryset(self):
        if for_schema_only(self):
            return Exemption.objects.none()
        return selectors.exemptions_for_auditor(self.request.user)


class ExemptionDecideView(APIView):
    permission_classes = AUDITORS
    parser_classes = JSON_ONLY

    @extend_schema(
        tags=["exemptions (auditor)"],
        summary="Approve or refuse an exemption",
        request=ExemptionDecisionSerializer,
        responses={
            200: ExemptionSerializer,
            400: INVALID,
            404: NOT_FOUND,
            409: OpenApiResponse(description="already_decided."),
        },
    )
    def post(self, request, pk: int):
        exemption = selectors.exemption_for_auditor(request.user, pk)
        serializer = ExemptionDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        exemption = services.exemption_decide(
            actor=request.user,
            exemption=exemption,
            approve=data["approve"],
            review_date=data.get("review_date"),
            note=data.get("note", ""),
        )
        return Response(ExemptionSerializer(exemption).data)
