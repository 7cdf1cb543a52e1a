from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from payments.models import (
    Payment,
    PaymentMethod,
    ReconciliationIssue,
    ReconciliationRun,
    Refund,
)


class RefundSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Refund
        fields = ["id", "amount", "reason", "status", "status_label", "created_at", "completed_at"]
        read_only_fields = fields


class PaymentNumberSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="institution_number, payment_number, confirmation_number")
    label_ja = serializers.CharField()
    label_en = serializers.CharField()
    value = serializers.CharField()


class InstructionsSerializer(serializers.Serializer):
    where = serializers.ChoiceField(choices=["bank", "store"])
    numbers = PaymentNumberSerializer(many=True)


class SubjectSerializer(serializers.Serializer):
    kind = serializers.CharField()
    id = serializers.IntegerField()


class PaymentSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True)
    subject = serializers.SerializerMethodField()
    method_label = serializers.CharField(source="get_method_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    refundable_amount = serializers.IntegerField(read_only=True)
    instructions = serializers.SerializerMethodField()
    page = serializers.SerializerMethodField()
    refunds = RefundSerializer(many=True, read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "subject",
            "description",
            "amount",
            "refunded_amount",
            "refundable_amount",
            "method",
            "method_label",
            "status",
            "status_label",
            "provider",
            "provider_reference",
            "redirect_url",
            "instructions",
            "expires_at",
            "succeeded_at",
            "created_at",
            "updated_at",
            "page",
            "refunds",
        ]
        read_only_fields = fields

    @extend_schema_field(SubjectSerializer)
    def get_subject(self, payment: Payment) -> dict:
        return {"kind": payment.subject_kind, "id": payment.subject_id}

    @extend_schema_field(InstructionsSerializer(allow_null=True))
    def get_instructions(self, payment: Payment) -> dict | None:
        return payment.instructions or None

    @extend_schema_field(serializers.CharField(help_text="The payment's page for people."))
    def get_page(self, payment: Payment) -> str:
        return reverse("payments:detail", args=[payment.public_id])


class PaymentStartSerializer(serializers.Serializer):
    application = serializers.IntegerField(
        min_value=1, help_text="The application whose fee is paid."
    )
    method = serializers.ChoiceField(
        choices=PaymentMethod.choices,
        help_text="One of the methods of the procedure's fee.",
    )


class RefundRequestSerializer(serializers.Serializer):
    amount = serializers.IntegerField(min_value=1, help_text="Whole yen.")
    reason = serializers.CharField(
        max_length=1000, error_messages={"blank": _("Give the reason for the refund.")}
    )


class ReconciliationRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReconciliationRun
        fields = [
            "id",
            "started_at",
            "finished_at",
            "window_start",
            "window_end",
            "checked",
            "repaired",
            "mismatches",
        ]
        read_only_fields = fields


class ReconciliationIssueSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    payment = serializers.SerializerMethodField()
    subject = serializers.SerializerMethodField()

    class Meta:
        model = ReconciliationIssue
        fields = [
            "id",
            "kind",
            "kind_label",
            "provider",
            "provider_reference",
            "payment",
            "subject",
            "ours",
            "theirs",
            "repaired",
            "detected_at",
            "resolved_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_payment(self, issue: ReconciliationIssue) -> str | None:
        return issue.payment.public_id if issue.payment else None

    @extend_schema_field(SubjectSerializer(allow_null=True))
    def get_subject(self, issue: ReconciliationIssue) -> dict | None:
        if issue.payment is None:
            return None
        return {"kind": issue.payment.subject_kind, "id": issue.payment.subject_id}


class WebhookResultSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=["applied", "ignored", "unknown_payment", "duplicate"]
    )
    event = serializers.CharField()
