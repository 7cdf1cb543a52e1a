"""The provider interface and the registry of providers by name.

A payment gateway is one module: a subclass of `PaymentProvider` registered with
`register_provider` (payments/apps.py registers the built-in sandboxes). Which
provider takes which method is the setting PAYMENTS_METHOD_PROVIDERS
(`{"card": "sandbox", "bank_transfer": "sandbox_deferred", ...}`).

Providers speak our status vocabulary (PaymentStatus values: pending, succeeded,
failed, expired, canceled); translating the gateway's own words is the adapter's job.
Every call that creates something at the provider passes our own id (the
payment's or the refund's public id) so the gateway can make it idempotent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError, NotFound

if TYPE_CHECKING:
    from payments.models import Payment, Refund


class ProviderUnavailable(DomainError):
    """The provider could not be reached or refused to answer; nothing changed."""

    code = "provider_unavailable"
    http_status = 502
    default_message = _("The payment service is not available right now. Please try again later.")


@dataclass(frozen=True)
class StartResult:
    reference: str
    # The hosted payment page to send the payer to (card, QR code), if any.
    redirect_url: str = ""
    # Payment numbers for deferred methods: [{"key", "label_ja", "label_en", "value"}].
    instructions: dict = field(default_factory=dict)
    expires_at: datetime | None = None


@dataclass(frozen=True)
class ProviderStatus:
    reference: str
    status: str
    amount: int
    refunded_amount: int = 0
    occurred_at: datetime | None = None
    failure_reason: str = ""


@dataclass(frozen=True)
class ProviderEvent:
    """One verified webhook event."""

    event_id: str
    event_type: str
    reference: str
    # "payment": `status` is a payment status; "refund": `status` is a refund status.
    kind: str
    status: str
    amount: int
    occurred_at: datetime | None = None
    refund_key: str = ""
    refund_reference: str = ""
    failure_reason: str = ""
    payload: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RefundResult:
    reference: str
    # RefundStatus values: requested (the provider confirms later), succeeded, failed.
    status: str
    failure_reason: str = ""


@dataclass(frozen=True)
class ProviderTransaction:
    """One transaction as the provider's books have it, for reconciliation."""

    reference: str
    merchant_order: str
    status: str
    amount: int
    refunded_amount: int
    updated_at: datetime | None = None
    # Refunds as the provider knows them: {"<our refund public id>": amount}.
    refunds: dict = field(default_factory=dict)


class PaymentProvider:
    """A payment gateway. Subclasses implement every method."""

    name: str = ""
    label: Any = ""
    methods: frozenset[str] = frozenset()
    # Deferred providers hand out payment numbers and hear back in days; the others
    # run a hosted page whose result comes within minutes.
    deferred: bool = False

    def enabled(self) -> bool:
        return True

    def start(self, payment: Payment, *, return_url: str) -> StartResult:
        raise NotImplementedError

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes) -> ProviderEvent:
        """Verify and decode one delivery; raise WebhookRejected if it cannot be trusted."""
        raise NotImplementedError

    def query_status(self, payment: Payment) -> ProviderStatus:
        raise NotImplementedError

    def cancel(self, payment: Payment) -> ProviderStatus:
        """Stop an unpaid payment (close the page, void the numbers). Returns the
        provider's status afterwards, which may be `succeeded` if it was paid."""
        raise NotImplementedError

    def refund(self, payment: Payment, refund: Refund) -> RefundResult:
        raise NotImplementedError

    def list_transactions(self, *, since: datetime, until: datetime) -> list[ProviderTransaction]:
        raise NotImplementedError


_providers: dict[str, PaymentProvider] = {}


def register_provider(provider: PaymentProvider) -> None:
    _providers[provider.name] = provider


def provider_named(name: str) -> PaymentProvider:
    """The enabled provider of that name; NotFound for an unknown or disabled one."""
    provider = _providers.get(name)
    if provider is None or not provider.enabled():
        raise NotFound()
    return provider


def provider_for_method(method: str) -> PaymentProvider | None:
    name = (getattr(settings, "PAYMENTS_METHOD_PROVIDERS", {}) or {}).get(method, "")
    provider = _providers.get(name)
    if provider is None or not provider.enabled() or method not in provider.methods:
        return None
    return provider


def enabled_providers() -> list[PaymentProvider]:
    return [provider for provider in _providers.values() if provider.enabled()]


def lowercase_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(key).lower(): str(value) for key, value in headers.items()}
