from rest_framework import serializers

from deliveries.models import Delivery, DeliveryState, DeliveryTarget, EventType, TargetKind


class TargetSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=EventType.choices))

    class Meta:
        model = DeliveryTarget
        fields = ["id", "name", "kind", "url", "email", "events", "active", "created_at"]


class TargetCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=TargetKind.choices)
    url = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    email = serializers.CharField(max_length=254, required=False, allow_blank=True, default="")
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices), allow_empty=False, max_length=10
    )


class TargetUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    url = serializers.CharField(max_length=500, required=False, allow_blank=True)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices),
        allow_empty=False,
        max_length=10,
        required=False,
    )
    active = serializers.BooleanField(required=False)


class TargetCreatedSerializer(TargetSerializer):
    secret = serializers.CharField(
        allow_blank=True,
        help_text="The webhook's signing secret (whsec_…), given this once; empty for e-mail.",
    )

    class Meta(TargetSerializer.Meta):
        fields = [*TargetSerializer.Meta.fields, "secret"]


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The new signing secret (whsec_…), given this once.")


class DeliverySerializer(serializers.ModelSerializer):
    reference = serializers.CharField(source="application.reference")
    procedure = serializers.CharField(source="target.procedure.code")
    target = serializers.IntegerField(source="target_id")
    last_error = serializers.CharField(allow_null=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "message_id",
            "procedure",
            "target",
            "reference",
            "event_type",
            "revision",
            "state",
            "attempts",
            "replays",
            "occurred_at",
            "next_attempt_at",
            "delivered_at",
            "dead_at",
            "last_error",
        ]


class DeliveryQuerySerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=DeliveryState.choices, required=False)
