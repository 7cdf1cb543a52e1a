"""The payments API: residents start and follow payments, staff refund, auditors
read the reconciliation, providers deliver signed webhooks. Views check the shape
of the request and call one service (payments.services.*), as the pages do."""

from __future__ import annotations

import logging

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.responses import INVALID, JSON_ONLY, NOT_FOUND, for_schema_only
from core.errors import ValidationFailed
from payments import selectors
from payments.api.serializers import (
    PaymentSerializer,
    PaymentStartSerializer,
    ReconciliationIssueSerializer,
    ReconciliationRunSerializer,
    RefundRequestSerializer,
    RefundSerializer,
    WebhookResultSerializer,
)
from payments.models import Payment, ReconciliationIssue, ReconciliationRun
from payments.providers.signature import WebhookRejected
from payments.services.follow import payment_cancel, payment_refresh
from payments.services.refunds import refund_request
from payments.services.start import payment_start
from payments.services.webhooks import webhook_receive

logger = logging.getLogger(__name__)

RESIDENT = ["payments (resident)"]
STAFF = ["payments (staff)"]
AUDITOR = ["payments (auditor)"]
PROVIDER = ["payments (provider webhooks)"]
SUBJECT_KIND = "application"

IDEMPOTENCY_KEY = OpenApiParameter(
    name="Idempotency-Key",
    # What payments.services.start._valid_key accepts (surrounding spaces are dropped).
    type={"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[!-~]+$"},
    location=OpenApiParameter.HEADER,
    required=True,
    description=(
        "1 to 100 visible ASCII characters, unique per payment you mean to start (a UUID). "
        "Sending the same key with the same body returns the same payment (200); the same "
        "key with another body is 409 idempotency_key_reused. Without it: 400 "
        "idempotency_key_required; with other characters or longer: 400 "
        "idempotency_key_invalid."
    ),
)


@extend_schema(tags=RESIDENT)
class PaymentListView(generics.ListAPIView):
    """Payments the caller may see: their own, and for staff those made to their
    organizations. `?application=<id>` narrows to one application."""

    parser_classes = JSON_ONLY
    serializer_class = PaymentSerializer

    def get_queryset(self):
        if for_schema_only(self):
            return Payment.objects.none()
        payments = selectors.payments_visible_to(self.request.user).prefetch_related("refunds")
        application = self.request.query_params.get("application", "")
        if application:
            if not application.isdigit():
                raise ValidationFailed(details={"application": [_("Give an application id.")]})
            payments = payments.filter(subject_kind=SUBJECT_KIND, subject_id=int(application))
        return payments

    @extend_schema(
        parameters=[
            OpenApiParameter("application", int, description="Only this application's payments.")
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Start paying an application's fee",
        description=(
            "The amount is what the application owes now (whole yen). For `card` and "
            "`qr_code` the answer's `redirect_url` is the provider's payment page; for "
            "`bank_transfer` and `convenience_store`, `instructions` holds the payment "
            "numbers (納付番号) and `expires_at` the deadline (払込期限). The result comes "
            "by webhook; read the payment again (or POST .../refresh/) to follow it."
        ),
        parameters=[IDEMPOTENCY_KEY],
        request=PaymentStartSerializer,
        responses={
            201: PaymentSerializer,
            200: OpenApiResponse(PaymentSerializer, description="Replay of the same key and body."),
            400: OpenApiResponse(
                description="idempotency_key_required (no Idempotency-Key header), "
                "idempotency_key_invalid (not 1 to 100 visible ASCII characters), or "
                "validation_failed with field errors in `details`."
            ),
            404: NOT_FOUND,
            409: OpenApiResponse(
                description="idempotency_key_reused, payment_in_progress (details.payment is "
                "the open one), already_paid, not_due or not_payable."
            ),
            502: OpenApiResponse(description="provider_unavailable"),
        },
    )
    def post(self, request):
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            raise ValidationFailed(
                _("Send an Idempotency-Key header (a new UUID for each payment you start)."),
                code="idempotency_key_required",
            )
        serializer = PaymentStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment, created = payment_start(
            actor=request.user,
            subject_kind=SUBJECT_KIND,
            subject_id=serializer.validated_data["application"],
            method=serializer.validated_data["method"],
            idempotency_key=key,
        )
        return Response(
            PaymentSerializer(payment).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class PaymentDetailView(APIView):
    @extend_schema(
        tags=RESIDENT,
        summary="One payment, with its refunds",
        responses={200: PaymentSerializer, 404: NOT_FOUND},
    )
    def get(self, request, public_id: str):
        return Response(PaymentSerializer(selectors.visible_payment(request.user, public_id)).data)


class PaymentRefreshView(APIView):
    parser_classes = JSON_ONLY

    @extend_schema(
        tags=RESIDENT,
        summary="Ask the provider where an open payment stands",
        description="For when the webhook is late: the provider's answer is applied. "
        "At most one query per few seconds per payment; otherwise the stored state is returned.",
        request=None,
        responses={200: PaymentSerializer, 404: NOT_FOUND},
    )
    def post(self, request, public_id: str):
        payment = selectors.own_payment(request.user, public_id)
        return Response(PaymentSerializer(payment_refresh(payment=payment)).data)


class PaymentCancelView(APIView):
    parser_classes = JSON_ONLY

    @extend_schema(
        tags=RESIDENT,
        summary="Cancel an unpaid payment (to choose another method)",
        request=None,
        responses={
            200: PaymentSerializer,
            404: NOT_FOUND,
            409: OpenApiResponse(description="payment_processing: the provider is deciding."),
        },
    )
    def post(self, request, public_id: str):
        payment = selectors.own_payment(request.user, public_id)
        return Response(PaymentSerializer(payment_cancel(actor=request.user, payment=payment)).data)


class RefundView(APIView):
    parser_classes = JSON_ONLY

    @extend_schema(
        tags=STAFF,
        summary="Refund all or part of a paid fee",
        description="Needs the refund permission (payments.refund) in the organization paid "
        "to. The resident is notified. Two refunds at once never exceed the payment.",
        request=RefundRequestSerializer,
        responses={
            201: RefundSerializer,
            400: INVALID,
            403: OpenApiResponse(description="not_allowed"),
            404: NOT_FOUND,
            409: OpenApiResponse(
                description="refund_exceeds_refundable (details.refundable), not_refundable"
            ),
        },
    )
    def post(self, request, public_id: str):
        payment = selectors.staff_payment(request.user, public_id)
        serializer = RefundRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        refund = refund_request(
            actor=request.user,
            payment=payment,
            amount=serializer.validated_data["amount"],
            reason=serializer.validated_data["reason"],
        )
        return Response(RefundSerializer(refund).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=AUDITOR)
class ReconciliationIssueListView(generics.ListAPIView):
    """Differences between the providers' books and ours (auditors). `?state=open`
    (default), `resolved` or `all`."""

    serializer_class = ReconciliationIssueSerializer

    def get_queryset(self):
        if for_schema_only(self):
            return ReconciliationIssue.objects.none()
        issues = selectors.reconciliation_issues_for(self.request.user)
        state = self.request.query_params.get("state", "open")
        if state == "open":
            issues = issues.filter(resolved_at__isnull=True)
        elif state == "resolved":
            issues = issues.filter(resolved_at__isnull=False)
        return issues

    @extend_schema(parameters=[OpenApiParameter("state", str, enum=["open", "resolved", "all"])])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=AUDITOR)
class ReconciliationRunListView(generics.ListAPIView):
    """The daily reconciliation runs, latest first (auditors)."""

    serializer_class = ReconciliationRunSerializer

    def get_queryset(self):
        if for_schema_only(self):
            return ReconciliationRun.objects.none()
        return selectors.reconciliation_runs_for(self.request.user)


class WebhookView(APIView):
    """Provider notifications. No session or token: the HMAC signature over the
    timestamp and the exact body is the authentication."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=PROVIDER,
        summary="Receive a provider's signed webhook",
        description=(
            "The sandbox providers sign with the header `Sandbox-Signature: t=<unix>,v1=<hex>`, "
            "HMAC-SHA256 over `<t>.<body>`. Deliveries older than five minutes, wrongly signed "
            "or malformed are refused (400). Each event id is applied once; a redelivery "
            "answers 200 with outcome `duplicate`."
        ),
        request=OpenApiTypes.OBJECT,
        responses={
            200: WebhookResultSerializer,
            400: OpenApiResponse(
                description="signature_missing, signature_invalid, timestamp_stale, payload_invalid"
            ),
            404: NOT_FOUND,
        },
    )
    def post(self, request, provider: str):
        body = request.body  # the exact bytes that were signed; never parsed by DRF first
        try:
            result = webhook_receive(
                provider_name=provider, headers=dict(request.headers), body=body
            )
        except WebhookRejected as rejected:
            logger.warning("webhook from %s refused: %s", provider, rejected.code)
            raise
        return Response({"outcome": result.outcome, "event": result.event_id})
