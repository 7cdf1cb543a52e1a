from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import Language, User


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.EmailField(label=_("e-mail address"))
    password = serializers.CharField(label=_("password"), trim_whitespace=False, write_only=True)
    otp = serializers.CharField(
        label=_("one-time code"),
        required=False,
        allow_blank=True,
        help_text=_("Required for staff accounts: the current code from the authenticator."),
    )
    name = serializers.CharField(
        label=_("client name"), required=False, allow_blank=True, max_length=100
    )


class TokenIssuedSerializer(serializers.Serializer):
    token = serializers.CharField(help_text=_("Send as `Authorization: Bearer <token>`."))
    token_key = serializers.CharField(help_text=_("Public prefix that identifies the token."))
    expiry = serializers.DateTimeField(allow_null=True)


class TokenSerializer(serializers.Serializer):
    token_key = serializers.CharField()
    created = serializers.DateTimeField()
    expiry = serializers.DateTimeField(allow_null=True)


class MembershipSerializer(serializers.Serializer):
    organization = serializers.CharField(source="organization.code")
    organization_name = serializers.CharField(source="organization.name")
    role = serializers.CharField()


class MeSerializer(serializers.ModelSerializer):
    memberships = MembershipSerializer(many=True, read_only=True)
    preferred_language = serializers.ChoiceField(choices=Language.choices)

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "display_name",
            "preferred_language",
            "email_verified",
            "memberships",
        ]
        read_only_fields = ["id", "email", "display_name", "email_verified", "memberships"]


class IdentityStatusSerializer(serializers.Serializer):
    verified = serializers.BooleanField(
        help_text=_("Whether an identity provider has verified who the user is.")
    )
    full_name = serializers.CharField(allow_null=True)
    birth_date = serializers.DateField(allow_null=True)
    address = serializers.CharField(allow_null=True)
    name_kana = serializers.CharField(
        allow_null=True, help_text=_("The name's reading in katakana, when the provider gave it.")
    )
    sex = serializers.ChoiceField(
        choices=["male", "female", "other", ""],
        allow_null=True,
        help_text=_("As the provider asserted it; empty when it was not shared."),
    )
    verified_at = serializers.DateTimeField(allow_null=True)
    issuer = serializers.CharField(
        allow_null=True, help_text=_("The identity provider's issuer identifier (a URL).")
    )
