from drf_spectacular.utils import OpenApiResponse, extend_schema
from knox.models import AuthToken
from rest_framework import generics, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts import services
from accounts.api.serializers import (
    IdentityStatusSerializer,
    MeSerializer,
    TokenIssuedSerializer,
    TokenRequestSerializer,
    TokenSerializer,
)
from accounts.identity.selectors import verified_identity
from core.api.responses import JSON_ONLY

TAGS = ["auth"]


@extend_schema(tags=TAGS)
class TokenObtainView(APIView):
    """Exchange e-mail, password (and, for staff, a one-time code) for a bearer token."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"
    # JSON only, as documented: a form body would also make an API generated from
    # the schema (openapi-python-client) emit an operation that does not import.
    parser_classes = JSON_ONLY

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            201: TokenIssuedSerializer,
            400: OpenApiResponse(description="validation_failed or email_not_verified."),
            401: OpenApiResponse(
                description="invalid_credentials, or for staff otp_required / invalid_otp."
            ),
            409: OpenApiResponse(description="token_limit_reached: revoke a token first."),
            429: OpenApiResponse(description="locked_out (too many failures) or throttled."),
        },
        summary="Obtain an API token",
    )
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        instance, token = services.api_token_issue(
            request=request._request,  # axes counts failures on the Django request
            email=data["email"],
            password=data["password"],
            otp=data.get("otp", ""),
            name=data.get("name", ""),
        )
        body = {"token": token, "token_key": instance.token_key, "expiry": instance.expiry}
        return Response(TokenIssuedSerializer(body).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAGS)
class TokenListView(generics.ListAPIView):
    """The caller's own tokens (never the secret part)."""

    serializer_class = TokenSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return AuthToken.objects.none()
        return AuthToken.objects.filter(user=self.request.user).order_by("-created")


@extend_schema(tags=TAGS)
class TokenRevokeView(APIView):
    @extend_schema(responses={204: None}, summary="Revoke one of your API tokens")
    def delete(self, request, token_key: str):
        services.api_token_revoke(actor=request.user, token_key=token_key)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=TAGS)
class MeView(generics.RetrieveUpdateAPIView):
    """The signed-in user, their roles, and their language preference."""

    serializer_class = MeSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get_object(self):
        return self.request.user

    def perform_update(self, serializer):
        language = serializer.validated_data.get("preferred_language")
        if language:
            services.user_set_language(user=self.request.user, language=language)


@extend_schema(tags=TAGS)
class IdentityStatusView(APIView):
    """Whether the signed-in user's identity is verified, and what was verified.
    Verifying happens in the browser, at /accounts/identity/."""

    @extend_schema(
        responses={200: IdentityStatusSerializer},
        summary="Your identity verification status",
    )
    def get(self, request):
        verification = verified_identity(request.user)
        body = {
            "verified": verification is not None,
            "full_name": verification.full_name if verification else None,
            "birth_date": verification.birth_date if verification else None,
            "address": verification.address if verification else None,
            "name_kana": verification.name_kana if verification else None,
            "sex": verification.sex if verification else None,
            "verified_at": verification.verified_at if verification else None,
            "issuer": verification.issuer if verification else None,
        }
        return Response(IdentityStatusSerializer(body).data)
