"""The deliveries API: a procedure's delivery targets, and the deliveries of the
procedures the caller manages (the dead letters among them can be replayed). The
rules are deliveries.services', the same as for the pages."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.responses import INVALID, JSON_ONLY, NOT_FOUND, for_schema_only
from deliveries import selectors, services
from deliveries.api.serializers import (
    DeliveryQuerySerializer,
    DeliverySerializer,
    SecretSerializer,
    TargetCreatedSerializer,
    TargetCreateSerializer,
    TargetSerializer,
    TargetUpdateSerializer,
)
from deliveries.models import Delivery, DeliveryTarget
from procedures.api.permissions import MayManageProcedures

MANAGERS = [*APIView.permission_classes, MayManageProcedures]
TAGS = ["deliveries (department)"]
CONFLICT = OpenApiResponse(description="not_a_webhook, not_a_dead_letter or target_inactive.")


@extend_schema(tags=TAGS)
class TargetListView(generics.ListAPIView):
    """The delivery targets of a procedure you manage."""

    permission_classes = MANAGERS
    parser_classes = JSON_ONLY
    serializer_class = TargetSerializer

    def get_queryset(self):
        if for_schema_only(self):
            return DeliveryTarget.objects.none()
        _procedure, targets = selectors.managed_targets(self.request.user, self.kwargs["code"])
        return targets

    @extend_schema(
        summary="Add a delivery target",
        request=TargetCreateSerializer,
        responses={201: TargetCreatedSerializer, 400: INVALID, 404: NOT_FOUND},
    )
    def post(self, request, code: str):
        procedure, _targets = selectors.managed_targets(request.user, code)
        serializer = TargetCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        target, secret = services.target_create(
            actor=request.user, procedure=procedure, **serializer.validated_data
        )
        body = TargetCreatedSerializer({**TargetSerializer(target).data, "secret": secret}).data
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
class TargetDetailView(APIView):
    permission_classes = MANAGERS
    parser_classes = JSON_ONLY

    @extend_schema(summary="A delivery target", responses={200: TargetSerializer, 404: NOT_FOUND})
    def get(self, request, code: str, pk: int):
        return Response(TargetSerializer(selectors.managed_target(request.user, code, pk)).data)

    @extend_schema(
        summary="Change a delivery target (name, address, events, active)",
        request=TargetUpdateSerializer,
        responses={200: TargetSerializer, 400: INVALID, 404: NOT_FOUND},
    )
    def patch(self, request, code: str, pk: int):
        target = selectors.managed_target(request.user, code, pk)
        serializer = TargetUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = {
            "name": target.name,
            "url": target.url,
            "email": target.email,
            "events": target.events,
            "active": target.active,
            **serializer.validated_data,
        }
        target = services.target_update(actor=request.user, target=target, **values)
        return Response(TargetSerializer(target).data)


@extend_schema(tags=TAGS)
class TargetSecretView(APIView):
    permission_classes = MANAGERS
    parser_classes = JSON_ONLY

    @extend_schema(
        summary="Make a new signing secret (the old one signs too for a while)",
        request=None,
        responses={200: SecretSerializer, 404: NOT_FOUND, 409: CONFLICT},
    )
    def post(self, request, code: str, pk: int):
        target = selectors.managed_target(request.user, code, pk)
        secret = services.target_secret_rotate(actor=request.user, target=target)
        return Response(SecretSerializer({"secret": secret}).data)


@extend_schema(tags=TAGS, parameters=[DeliveryQuerySerializer])
class DeliveryListView(generics.ListAPIView):
    """Deliveries of the procedures you manage, newest first; `state=dead` for the
    dead letters."""

    permission_classes = MANAGERS
    serializer_class = DeliverySerializer

    def get_queryset(self):
        if for_schema_only(self):
            return Delivery.objects.none()
        query = DeliveryQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.managed_deliveries(
            self.request.user, state=query.validated_data.get("state")
        )


@extend_schema(tags=TAGS)
class DeliveryReplayView(APIView):
    permission_classes = MANAGERS
    parser_classes = JSON_ONLY

    @extend_schema(
        summary="Send a dead letter again (same message id)",
        request=None,
        responses={202: DeliverySerializer, 404: NOT_FOUND, 409: CONFLICT},
    )
    def post(self, request, pk: int):
        delivery = selectors.managed_delivery(request.user, pk)
        services.dead_letter_replay(actor=request.user, delivery=delivery)
        delivery = selectors.managed_delivery(request.user, pk)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
