"""Stripe, through its official Python SDK (`stripe`), as two providers:

- "stripe": card on Stripe's hosted payment page (a Checkout Session); our
  provider_reference is the session's id (cs_...);
- "stripe_konbini": convenience-store payment (Stripe's konbini method), a
  PaymentIntent confirmed at once with an expiry (expires_after_days); the payer
  gets a payment code and confirmation number; our reference is the PaymentIntent's
  id (pi_...). Deferred: the money arrives days later, by webhook.

Every object we create carries our payment's public id in its metadata
(cityproc_payment, cityproc_provider) and is created with an idempotency key made
from our own id, so a retried start or refund never creates a second one.

Secrets come only from the environment (STRIPE_SECRET_KEY; the webhook signing
secret from PAYMENTS_WEBHOOK_SECRETS[name] or STRIPE_WEBHOOK_SECRET) and are never
logged: errors are logged by class and code only, since Stripe's messages may
quote part of a key. STRIPE_API_BASE points the SDK elsewhere (the tests' mock).
Webhooks are verified by the SDK's own scheme (stripe.Webhook.construct_event,
Stripe-Signature with its tolerance window). docs/payments.md says how a city
configures it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import stripe
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from payments.models import Payment, PaymentMethod, PaymentStatus
from payments.providers import (
    PaymentProvider,
    ProviderEvent,
    ProviderStatus,
    ProviderTransaction,
    ProviderUnavailable,
    RefundResult,
    StartResult,
    lowercase_headers,
)
from payments.providers.signature import WebhookRejected

if TYPE_CHECKING:
    from payments.models import Refund

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "Stripe-Signature"
CURRENCY = "jpy"  # a zero-decimal currency: amounts are whole yen, as ours
# Stripe accepts a Checkout Session's expires_at between 30 minutes and 24 hours ahead.
SESSION_MINUTES_MIN, SESSION_MINUTES_MAX = 30, 24 * 60
# Konbini vouchers: expires_after_days from 1 to 60.
KONBINI_DAYS_MIN, KONBINI_DAYS_MAX = 1, 60

S = PaymentStatus

# Errors that mean "Stripe could not be reached or did not answer": nothing changed.
_UNAVAILABLE = (
    stripe.APIConnectionError,
    stripe.RateLimitError,
    stripe.AuthenticationError,
    stripe.PermissionError,
    stripe.APIError,
)


def secret_key() -> str:
    return str(getattr(settings, "STRIPE_SECRET_KEY", "") or "")


def webhook_secret(provider_name: str) -> str:
    configured = (getattr(settings, "PAYMENTS_WEBHOOK_SECRETS", {}) or {}).get(provider_name, "")
    return str(configured or getattr(settings, "STRIPE_WEBHOOK_SECRET", "") or "")


def _client() -> Any:
    """The SDK's client for STRIPE_SECRET_KEY (and STRIPE_API_BASE, when set)."""
    base = str(getattr(settings, "STRIPE_API_BASE", "") or "")
    return stripe.StripeClient(
        secret_key(),
        base_addresses={"api": base} if base else None,
        max_network_retries=int(getattr(settings, "STRIPE_MAX_NETWORK_RETRIES", 2)),
    ).v1


def _plain(value: Any) -> Any:
    """A Stripe object as plain dicts and lists (SDK objects are not dicts)."""
    if isinstance(value, stripe.StripeObject):
        return value.to_dict()
    return value


def _unavailable(error: Exception, doing: str) -> ProviderUnavailable:
    # Class and code only: Stripe's messages can quote part of the key.
    logger.warning(
        "stripe: %s failed (%s %s)", doing, type(error).__name__, getattr(error, "code", "") or ""
    )
    return ProviderUnavailable()


def _moment(epoch: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(epoch), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _metadata(payment: Payment, provider: str) -> dict[str, str]:
    return {"cityproc_payment": payment.public_id, "cityproc_provider": provider}


def _charge_of(intent: Any) -> dict:
    charge = (intent or {}).get("latest_charge") if isinstance(intent, dict) else None
    return charge if isinstance(charge, dict) else {}


def session_status(session: dict) -> str:
    """A Checkout Session's state in our words."""
    if session.get("status") == "complete":
        return S.SUCCEEDED if session.get("payment_status") in ("paid",) else S.PENDING
    if session.get("status") == "expired":
        return S.EXPIRED
    return S.PENDING


def intent_status(intent: dict) -> str:
    """A konbini PaymentIntent's state in our words. A konbini payment cannot be
    declined: back to requires_payment_method means its voucher expired unpaid."""
    status = intent.get("status")
    if status == "succeeded":
        return S.SUCCEEDED
    if status == "canceled":
        return S.CANCELED
    if status == "requires_payment_method" and intent.get("last_payment_error"):
        return S.EXPIRED
    return S.PENDING


def refund_status(refund: dict) -> str:
    status = refund.get("status")
    if status == "succeeded":
        return "succeeded"
    if status in ("failed", "canceled"):
        return "failed"
    return "requested"


class StripeProvider(PaymentProvider):
    """Card payments on Stripe Checkout's hosted page."""

    name = "stripe"
    label = "Stripe Checkout (card)"  # a brand name: not translated
    methods = frozenset({PaymentMethod.CARD})

    def enabled(self) -> bool:
        return bool(secret_key())

    # --- starting -------------------------------------------------------------------

    def start(self, payment: Payment, *, return_url: str) -> StartResult:
        minutes = min(
            max(settings.PAYMENTS_CARD_SESSION_MINUTES, SESSION_MINUTES_MIN), SESSION_MINUTES_MAX
        )
        expires_at = timezone.now() + timedelta(minutes=minutes, seconds=30)
        metadata = _metadata(payment, self.name)
        try:
            session = _client().checkout.sessions.create(
                params={
                    "mode": "payment",
                    "payment_method_types": ["card"],
                    "line_items": [
                        {
                            "quantity": 1,
                            "price_data": {
                                "currency": CURRENCY,
                                "unit_amount": payment.amount,
                                "product_data": {"name": payment.description[:200] or "-"},
                            },
                        }
                    ],
                    "client_reference_id": payment.public_id,
                    "customer_email": getattr(payment.payer, "email", "") or None,
                    "metadata": metadata,
                    "payment_intent_data": {"metadata": metadata},
                    "success_url": return_url,
                    "cancel_url": return_url,
                    "expires_at": int(expires_at.timestamp()),
                },
                options={"idempotency_key": f"cityproc-start-{payment.public_id}"},
            )
        except stripe.StripeError as error:
            raise _unavailable(error, "starting a checkout session") from error
        session = _plain(session)
        return StartResult(
            reference=session["id"],
            redirect_url=session.get("url") or "",
            expires_at=_moment(session.get("expires_at")) or expires_at,
        )

    # --- webhooks ---------------------------------------------------------------------

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes) -> ProviderEvent:
        header = lowercase_headers(headers).get(SIGNATURE_HEADER.lower(), "")
        secret = webhook_secret(self.name)
        if not secret:
            raise WebhookRejected(
                _("The notification has no valid signature header."), code="signature_missing"
            )
        try:
            event = stripe.Webhook.construct_event(
                body, header, secret, tolerance=settings.PAYMENTS_WEBHOOK_TOLERANCE_SECONDS
            )
        except stripe.SignatureVerificationError as error:
            raise WebhookRejected(
                _("The notification's signature does not match."), code="signature_invalid"
            ) from error
        except (ValueError, UnicodeDecodeError) as error:
            raise WebhookRejected(
                _("The notification is not in the expected format."), code="payload_invalid"
            ) from error
        try:
            return event_from(_plain(event))
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise WebhookRejected(
                _("The notification is not in the expected format."), code="payload_invalid"
            ) from error

    # --- the provider's own records -------------------------------------------------------

    def _session(self, payment: Payment) -> dict:
        try:
            return _plain(
                _client().checkout.sessions.retrieve(
                    payment.provider_reference,
                    params={"expand": ["payment_intent.latest_charge"]},
                )
            )
        except stripe.StripeError as error:
            raise _unavailable(error, "reading a checkout session") from error

    def _answer(self, found: dict) -> ProviderStatus:
        intent = found.get("payment_intent")
        charge = _charge_of(intent)
        return ProviderStatus(
            reference=found["id"],
            status=session_status(found),
            amount=int(found.get("amount_total") or 0),
            refunded_amount=int(charge.get("amount_refunded") or 0),
            occurred_at=_moment(charge.get("created") or found.get("created")),
        )

    def query_status(self, payment: Payment) -> ProviderStatus:
        return self._answer(self._session(payment))

    def cancel(self, payment: Payment) -> ProviderStatus:
        session = self._session(payment)
        if session.get("status") != "open":
            return self._answer(session)
        try:
            _client().checkout.sessions.expire(payment.provider_reference)
        except stripe.InvalidRequestError:
            # Completed (or expired) meanwhile: say what it is now.
            return self._answer(self._session(payment))
        except stripe.StripeError as error:
            raise _unavailable(error, "expiring a checkout session") from error
        return ProviderStatus(
            reference=payment.provider_reference, status=S.CANCELED, amount=payment.amount
        )

    def charge_id(self, payment: Payment) -> str:
        """The charge that took the money (what refunds refer to)."""
        charge = _charge_of(self._session(payment).get("payment_intent"))
        return str(charge.get("id") or "")

    def refund(self, payment: Payment, refund: Refund) -> RefundResult:
        charge = self.charge_id(payment)
        if not charge:
            return RefundResult(reference="", status="failed", failure_reason="not_paid")
        try:
            created = _client().refunds.create(
                params={
                    "charge": charge,
                    "amount": refund.amount,
                    "metadata": {
                        "cityproc_refund": refund.public_id,
                        "cityproc_payment": payment.public_id,
                        "cityproc_reference": payment.provider_reference,
                        "cityproc_provider": self.name,
                    },
                },
                options={"idempotency_key": f"cityproc-refund-{refund.public_id}"},
            )
        except stripe.InvalidRequestError as error:
            # Refused (more than remains, not paid): nothing was refunded.
            logger.warning("stripe: refund %s refused (%s)", refund.public_id, error.code or "")
            return RefundResult(
                reference="", status="failed", failure_reason=str(error.code or "refused")[:200]
            )
        except stripe.StripeError as error:
            raise _unavailable(error, "refunding") from error
        created = _plain(created)
        return RefundResult(
            reference=created["id"],
            status=refund_status(created),
            failure_reason=str(created.get("failure_reason") or "")[:200],
        )

    def list_transactions(self, *, since: datetime, until: datetime) -> list[ProviderTransaction]:
        """The money that moved, from Stripe's own lists: the charges created in the
        window, and those of the refunds created in it (a charge paid earlier and
        refunded now). Failed charges are attempts within a still-open payment."""
        window = {"gte": int(since.timestamp()), "lte": int(until.timestamp())}
        client = _client()
        try:
            charges = {
                item["id"]: item
                for item in map(
                    _plain,
                    client.charges.list(
                        params={"created": window, "limit": 100, "expand": ["data.payment_intent"]}
                    ).auto_paging_iter(),
                )
            }
            refunds = [
                _plain(item)
                for item in client.refunds.list(
                    params={"created": window, "limit": 100}
                ).auto_paging_iter()
            ]
            for refund in refunds:
                charge = refund.get("charge")
                if charge and charge not in charges:
                    charges[charge] = _plain(
                        client.charges.retrieve(charge, params={"expand": ["payment_intent"]})
                    )
        except stripe.StripeError as error:
            raise _unavailable(error, "listing charges and refunds") from error
        refunded: dict[str, dict[str, int]] = {}
        for refund in refunds:
            key = (refund.get("metadata") or {}).get("cityproc_refund")
            if key and refund.get("status") == "succeeded":
                refunded.setdefault(refund.get("charge") or "", {})[key] = int(refund["amount"])
        return list(self._transactions(charges.values(), refunded))

    def _transactions(
        self, charges: Iterable[dict], refunded: dict[str, dict[str, int]]
    ) -> Iterable[ProviderTransaction]:
        ours = []
        for charge in charges:
            if charge.get("status") == "failed":
                continue
            intent = charge.get("payment_intent")
            metadata = charge.get("metadata") or {}
            if not metadata.get("cityproc_payment") and isinstance(intent, dict):
                metadata = intent.get("metadata") or {}
            if metadata.get("cityproc_provider") != self.name:
                continue  # another provider's (or not ours at all)
            ours.append((charge, intent, str(metadata.get("cityproc_payment") or "")))
        # Our references of those payments, in one query rather than one per charge.
        references = dict(
            Payment.objects.filter(
                public_id__in=[order for _c, _i, order in ours if order], provider=self.name
            ).values_list("public_id", "provider_reference")
        )
        found: dict[str, ProviderTransaction] = {}
        for charge, intent, order in ours:
            reference = (
                references.get(order)
                or (intent.get("id") if isinstance(intent, dict) else intent)
                or charge["id"]
            )
            found[reference] = ProviderTransaction(
                reference=reference,
                merchant_order=order,
                status=S.SUCCEEDED if charge.get("status") == "succeeded" else S.PENDING,
                amount=int(charge.get("amount") or 0),
                refunded_amount=int(charge.get("amount_refunded") or 0),
                updated_at=_moment(charge.get("created")),
                refunds=refunded.get(charge["id"], {}),
            )
        return found.values()


class StripeKonbiniProvider(StripeProvider):
    """Convenience-store payment (konbini): a payment code and a confirmation number
    valid until the voucher expires; the money arrives by webhook."""

    name = "stripe_konbini"
    label = "Stripe konbini"  # a brand name: not translated
    methods = frozenset({PaymentMethod.CONVENIENCE_STORE})
    deferred = True

    def start(self, payment: Payment, *, return_url: str) -> StartResult:
        days = min(max(settings.PAYMENTS_DEFERRED_DAYS, KONBINI_DAYS_MIN), KONBINI_DAYS_MAX)
        payer = payment.payer
        try:
            intent = _client().payment_intents.create(
                params={
                    "amount": payment.amount,
                    "currency": CURRENCY,
                    "description": payment.description[:200],
                    "payment_method_types": ["konbini"],
                    "payment_method_data": {
                        "type": "konbini",
                        "billing_details": {
                            "name": (getattr(payer, "display_name", "") or "-")[:100],
                            "email": getattr(payer, "email", "") or None,
                        },
                    },
                    "payment_method_options": {"konbini": {"expires_after_days": days}},
                    "confirm": True,
                    "metadata": _metadata(payment, self.name),
                },
                options={"idempotency_key": f"cityproc-start-{payment.public_id}"},
            )
        except stripe.StripeError as error:
            raise _unavailable(error, "starting a konbini payment") from error
        intent = _plain(intent)
        return start_result_from_intent(intent, return_url=return_url)

    def _intent(self, payment: Payment) -> dict:
        try:
            return _plain(
                _client().payment_intents.retrieve(
                    payment.provider_reference, params={"expand": ["latest_charge"]}
                )
            )
        except stripe.StripeError as error:
            raise _unavailable(error, "reading a payment intent") from error

    def _answer(self, found: dict) -> ProviderStatus:
        charge = _charge_of(found)
        return ProviderStatus(
            reference=found["id"],
            status=intent_status(found),
            amount=int(found.get("amount_received") or found.get("amount") or 0),
            refunded_amount=int(charge.get("amount_refunded") or 0),
            occurred_at=_moment(charge.get("created") or found.get("created")),
        )

    def query_status(self, payment: Payment) -> ProviderStatus:
        return self._answer(self._intent(payment))

    def cancel(self, payment: Payment) -> ProviderStatus:
        intent = self._intent(payment)
        if intent.get("status") in ("succeeded", "canceled", "processing"):
            return self._answer(intent)
        try:
            intent = _plain(_client().payment_intents.cancel(payment.provider_reference))
        except stripe.InvalidRequestError:
            return self._answer(self._intent(payment))
        except stripe.StripeError as error:
            raise _unavailable(error, "canceling a payment intent") from error
        return self._answer(intent)

    def charge_id(self, payment: Payment) -> str:
        return str(_charge_of(self._intent(payment)).get("id") or "")


def start_result_from_intent(intent: dict, *, return_url: str = "") -> StartResult:
    """The payment code and confirmation number of a confirmed konbini PaymentIntent
    (next_action.konbini_display_details), as our payment instructions."""
    details = ((intent.get("next_action") or {}).get("konbini_display_details")) or {}
    stores = details.get("stores") or {}
    store = next((value for value in stores.values() if value), {}) or {}
    numbers = [
        ("payment_number", "お支払い番号", "Payment code", store.get("payment_code")),
        (
            "confirmation_number",
            "確認番号",
            "Confirmation number",
            store.get("confirmation_number"),
        ),
    ]
    instructions = {
        "where": "store",
        "numbers": [
            {"key": key, "label_ja": ja, "label_en": en, "value": str(value)}
            for key, ja, en, value in numbers
            if value
        ],
        "voucher_url": details.get("hosted_voucher_url") or "",
    }
    return StartResult(
        reference=intent["id"],
        instructions=instructions,
        expires_at=_moment(details.get("expires_at")),
    )


# Webhook events in our words: which object, and what its state means.
SESSION_EVENTS = {
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
}
INTENT_EVENTS = {
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "payment_intent.processing",
    "payment_intent.requires_action",
}
REFUND_EVENTS = {"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"}


def event_from(event: dict) -> ProviderEvent:
    """A verified Stripe event as the webhook service's ProviderEvent. An event of
    another type has no reference, so it is recorded and matched to no payment."""
    event_id = str(event["id"])[:100]
    event_type = str(event["type"])
    data = event["data"]["object"]
    occurred = _moment(event.get("created"))
    common = {"event_id": event_id, "event_type": event_type, "occurred_at": occurred}
    payload = {"id": event_id, "type": event_type, "created": event.get("created")}
    if event_type in REFUND_EVENTS:
        metadata = data.get("metadata") or {}
        return ProviderEvent(
            **common,
            reference=str(metadata.get("cityproc_reference", "")),
            kind="refund",
            status=refund_status(data),
            amount=int(data.get("amount") or 0),
            refund_key=str(metadata.get("cityproc_refund", "")),
            refund_reference=str(data.get("id", "")),
            failure_reason=str(data.get("failure_reason") or "")[:200],
            payload={**payload, "object": data.get("id")},
        )
    if event_type in SESSION_EVENTS:
        status = session_status(data)
        if event_type == "checkout.session.async_payment_failed":
            status = S.FAILED
        amount = int(data.get("amount_total") or 0)
    elif event_type in INTENT_EVENTS:
        status = intent_status(data)
        amount = int(data.get("amount_received") or data.get("amount") or 0)
    else:
        return ProviderEvent(
            **common, reference="", kind="payment", status="", amount=0, payload=payload
        )
    error = data.get("last_payment_error") or {}
    return ProviderEvent(
        **common,
        reference=str(data["id"]),
        kind="payment",
        status=status,
        amount=amount,
        failure_reason=str(error.get("code") or "")[:200] if status == S.FAILED else "",
        payload={**payload, "object": data["id"], "status": data.get("status")},
    )
