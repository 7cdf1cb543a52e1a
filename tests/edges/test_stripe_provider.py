"""Stripe through its official SDK (payments/providers/stripe.py), tested against
an implementation no one here wrote: stripe-stateful-mock from the npm registry,
started on the loopback by tests/edges/stripe.py (installed by bin/test).

The mock is old (API 2020-08-27) and knows charges, refunds and idempotency, not
Checkout Sessions or PaymentIntents. So: refunds (full, partial, repeated, refused),
the reconciliation's charge and refund lists and the provider being down run
against the mock; starting, status, cancel and webhooks run against Stripe's
documented objects and events (Checkout Session, konbini PaymentIntent with
next_action.konbini_display_details, Refund), webhooks signed as Stripe documents
it and verified by the SDK's stripe.Webhook.construct_event. docs/payments.md."""

from __future__ import annotations

import logging
import secrets
import time

import pytest
from django.test import Client

from payments.models import (
    IssueKind,
    Payment,
    PaymentStatus,
    ReconciliationIssue,
    Refund,
    RefundStatus,
    WebhookEvent,
)
from payments.providers import ProviderUnavailable, provider_for_method, provider_named
from payments.providers import stripe as stripe_provider
from payments.services.follow import payment_cancel, payment_refresh
from payments.services.start import payment_start
from tests.edges.stripe import StripeMock, free_port, mock_available, signed_event
from tests.payments.conftest import Office, file_application

pytestmark = pytest.mark.django_db

P = PaymentStatus
SECRET_KEY = "sk_test_" + secrets.token_hex(12)
WEBHOOK_SECRET = "whsec_" + "t" * 32


@pytest.fixture
def mock():
    if not mock_available():
        pytest.fail(
            "stripe-stateful-mock is not installed: bin/test installs it "
            "(npm ci in tests/edges/stripe_mock)."
        )
    server = StripeMock()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stripe_on(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"  # nothing listens
    settings.PAYMENTS_METHOD_PROVIDERS = {
        "card": "stripe",
        "qr_code": "sandbox",
        "bank_transfer": "sandbox_deferred",
        "convenience_store": "stripe_konbini",
    }
    return settings


@pytest.fixture
def office(stripe_on):
    return Office()


# --- Documented objects (Stripe API reference), for what the mock does not reach ---


def documented_session(session_id: str, amount: int, **values) -> dict:
    return {
        "id": session_id,
        "object": "checkout.session",
        "amount_total": amount,
        "currency": "jpy",
        "created": int(time.time()),
        "expires_at": int(time.time()) + 1800,
        "mode": "payment",
        "payment_intent": None,
        "payment_status": "unpaid",
        "status": "open",
        "url": f"https://checkout.stripe.com/c/pay/{session_id}",
        **values,
    }


def documented_konbini_intent(intent_id: str, amount: int, **values) -> dict:
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_received": 0,
        "currency": "jpy",
        "created": int(time.time()),
        "payment_method_types": ["konbini"],
        "status": "requires_action",
        "last_payment_error": None,
        "latest_charge": None,
        "next_action": {
            "type": "konbini_display_details",
            "konbini_display_details": {
                "expires_at": int(time.time()) + 3 * 86400,
                "hosted_voucher_url": "https://payments.stripe.com/konbini/voucher/test_x",
                "stores": {
                    "familymart": {"confirmation_number": "12345", "payment_code": "123456"},
                    "lawson": {"confirmation_number": "12345", "payment_code": "123456"},
                    "ministop": {"confirmation_number": "12345", "payment_code": "123456"},
                    "seicomart": {"confirmation_number": "12345", "payment_code": "123456"},
                },
            },
        },
        **values,
    }


class _Recorder:
    """Stands in for one SDK service (client.v1.checkout.sessions, ...) where the
    mock has none: records the calls and answers with documented objects."""

    def __init__(self, **answers) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []
        self.answers = answers

    def __getattr__(self, name):
        def call(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            answer = self.answers[name]
            return answer(*args, **kwargs) if callable(answer) else answer

        return call


class _Client:
    """The real SDK client (pointed at the mock), with Checkout and PaymentIntents
    answered from documented objects."""

    def __init__(self, real, sessions=None, intents=None) -> None:
        self._real = real
        self.checkout = type("Checkout", (), {"sessions": sessions})()
        self.payment_intents = intents

    def __getattr__(self, name):
        return getattr(self._real, name)


def use_documented(monkeypatch, *, sessions=None, intents=None):
    real = stripe_provider._client
    monkeypatch.setattr(
        stripe_provider, "_client", lambda: _Client(real(), sessions=sessions, intents=intents)
    )


def start(office, method="card"):
    application = file_application(office.permit)
    payment, _created = payment_start(
        actor=application.applicant,
        subject_kind="application",
        subject_id=application.pk,
        method=method,
        idempotency_key=f"k-{secrets.token_hex(4)}",
    )
    return payment


def card_payment(office, monkeypatch, session_id="cs_test_a1"):
    sessions = _Recorder(create=lambda **kw: documented_session(session_id, 1000))
    use_documented(monkeypatch, sessions=sessions)
    return start(office), sessions


# --- Configuration ------------------------------------------------------------------------


def test_stripe_answers_only_with_a_secret_key_and_takes_the_configured_methods(stripe_on):
    assert provider_for_method("card").name == "stripe"
    assert provider_for_method("convenience_store").name == "stripe_konbini"
    assert provider_named("stripe_konbini").deferred
    stripe_on.STRIPE_SECRET_KEY = ""
    assert provider_for_method("card") is None
    assert provider_for_method("convenience_store") is None


# --- Starting (documented objects) -----------------------------------------------------------


def test_card_starts_a_checkout_session_with_our_id_as_idempotency_key(office, monkeypatch):
    payment, sessions = card_payment(office, monkeypatch)

    assert payment.status == P.PENDING
    assert payment.provider == "stripe"
    assert payment.provider_reference == "cs_test_a1"
    assert payment.redirect_url == "https://checkout.stripe.com/c/pay/cs_test_a1"
    (name, _args, kwargs) = sessions.calls[0]
    params, options = kwargs["params"], kwargs["options"]
    assert name == "create"
    assert params["line_items"][0]["price_data"] == {
        "currency": "jpy",
        "unit_amount": 1000,
        "product_data": {"name": payment.description},
    }
    assert params["metadata"] == {
        "cityproc_payment": payment.public_id,
        "cityproc_provider": "stripe",
    }
    assert params["payment_intent_data"]["metadata"] == params["metadata"]
    assert params["client_reference_id"] == payment.public_id
    # Stripe's floor for a session's expiry is 30 minutes.
    assert params["expires_at"] >= time.time() + 30 * 60
    assert options == {"idempotency_key": f"cityproc-start-{payment.public_id}"}


def test_konbini_confirms_a_payment_intent_with_an_expiry_and_hands_out_its_numbers(
    office, monkeypatch, stripe_on
):
    stripe_on.PAYMENTS_DEFERRED_DAYS = 3
    intents = _Recorder(create=lambda **kw: documented_konbini_intent("pi_test_k1", 1000))
    use_documented(monkeypatch, intents=intents)

    payment = start(office, "convenience_store")

    assert payment.status == P.PENDING
    assert payment.provider == "stripe_konbini"
    assert payment.provider_reference == "pi_test_k1"
    numbers = {item["key"]: item["value"] for item in payment.instructions["numbers"]}
    assert numbers == {"payment_number": "123456", "confirmation_number": "12345"}
    assert payment.instructions["where"] == "store"
    assert payment.instructions["voucher_url"].startswith("https://payments.stripe.com/")
    assert payment.expires_at is not None
    params = intents.calls[0][2]["params"]
    assert params["payment_method_types"] == ["konbini"]
    assert params["payment_method_options"] == {"konbini": {"expires_after_days": 3}}
    assert params["confirm"] is True
    assert params["currency"] == "jpy" and params["amount"] == 1000


def test_stripe_down_at_start_fails_the_attempt_cleanly_and_logs_no_secret(office, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ProviderUnavailable):
        start(office)

    payment = Payment.objects.get()
    assert payment.status == P.FAILED
    assert payment.failure_reason == "provider_unavailable"
    assert SECRET_KEY not in caplog.text and SECRET_KEY[-8:] not in caplog.text
    # Nothing blocks another try.
    assert not Payment.objects.filter(status__in=[P.CREATED, P.PENDING]).exists()


# --- Status and cancel (documented objects) -------------------------------------------------


def test_the_status_query_reads_the_session_and_settles_a_paid_one(office, monkeypatch):
    payment, sessions = card_payment(office, monkeypatch)
    paid = documented_session(
        "cs_test_a1",
        1000,
        status="complete",
        payment_status="paid",
        payment_intent={"id": "pi_1", "latest_charge": {"id": "ch_1", "amount_refunded": 0}},
    )
    sessions.answers["retrieve"] = paid

    payment = payment_refresh(payment=payment, force=True)

    assert payment.status == P.SUCCEEDED
    assert sessions.calls[-1][0] == "retrieve"
    assert sessions.calls[-1][2]["params"] == {"expand": ["payment_intent.latest_charge"]}


def test_cancel_expires_an_open_session_but_a_paid_one_is_recorded_as_paid(office, monkeypatch):
    payment, sessions = card_payment(office, monkeypatch)
    sessions.answers["retrieve"] = documented_session("cs_test_a1", 1000)
    sessions.answers["expire"] = documented_session("cs_test_a1", 1000, status="expired")
    payment = payment_cancel(actor=payment.payer, payment=payment)
    assert payment.status == P.CANCELED
    assert [call[0] for call in sessions.calls][-2:] == ["retrieve", "expire"]

    other, sessions = card_payment(office, monkeypatch, session_id="cs_test_b2")
    sessions.answers["retrieve"] = documented_session(
        "cs_test_b2", 1000, status="complete", payment_status="paid"
    )
    other = payment_cancel(actor=other.payer, payment=other)
    assert other.status == P.SUCCEEDED
    assert "expire" not in [call[0] for call in sessions.calls]


# --- Webhooks (documented events, signed as Stripe signs them) -------------------------------


def stripe_event(event_type: str, obj: dict, *, event_id: str | None = None) -> dict:
    return {
        "id": event_id or f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "type": event_type,
        "data": {"object": obj},
    }


def post_event(provider: str, event: dict, *, secret=WEBHOOK_SECRET, timestamp=None, header=None):
    body, signature = signed_event(secret, event, timestamp=timestamp)
    return Client().post(
        f"/api/v1/payments/webhooks/{provider}/",
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": header if header is not None else signature},
    )


def paid_session(session_id="cs_test_a1", amount=1000) -> dict:
    return documented_session(session_id, amount, status="complete", payment_status="paid")


def test_a_checkout_completed_event_verified_by_the_sdk_settles_the_payment(
    office, monkeypatch, django_capture_on_commit_callbacks
):
    payment, _sessions = card_payment(office, monkeypatch)

    with django_capture_on_commit_callbacks(execute=True):
        response = post_event("stripe", stripe_event("checkout.session.completed", paid_session()))

    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == "applied"
    payment.refresh_from_db()
    assert payment.status == P.SUCCEEDED
    assert payment.settlement_done_at is not None


def test_forged_tampered_stale_or_unsigned_events_are_refused(office, monkeypatch):
    payment, _sessions = card_payment(office, monkeypatch)
    event = stripe_event("checkout.session.completed", paid_session())

    forged = post_event("stripe", event, secret="whsec_" + "x" * 32)
    stale = post_event("stripe", event, timestamp=int(time.time()) - 301)
    unsigned = post_event("stripe", event, header="")
    body, signature = signed_event(WEBHOOK_SECRET, event)
    tampered = Client().post(
        "/api/v1/payments/webhooks/stripe/",
        data=body.replace(b"1000", b"9999"),
        content_type="application/json",
        headers={"Stripe-Signature": signature},
    )

    for response in (forged, stale, unsigned, tampered):
        assert response.status_code == 400, response.content
    payment.refresh_from_db()
    assert payment.status == P.PENDING
    assert not WebhookEvent.objects.exists()


def test_a_redelivered_event_is_one_effect_and_a_late_expiry_does_not_undo_the_payment(
    office, monkeypatch, django_capture_on_commit_callbacks
):
    payment, _sessions = card_payment(office, monkeypatch)
    completed = stripe_event("checkout.session.completed", paid_session())

    with django_capture_on_commit_callbacks(execute=True):
        first = post_event("stripe", completed)
        again = post_event("stripe", completed)
        late = post_event(
            "stripe",
            stripe_event(
                "checkout.session.expired", documented_session("cs_test_a1", 1000, status="expired")
            ),
        )

    assert [r.json()["outcome"] for r in (first, again, late)] == [
        "applied",
        "duplicate",
        "ignored",
    ]
    payment.refresh_from_db()
    assert payment.status == P.SUCCEEDED
    assert WebhookEvent.objects.count() == 2


def test_konbini_events_pay_or_expire_the_voucher(office, monkeypatch):
    counter = iter(range(100))
    intents = _Recorder(
        create=lambda **kw: documented_konbini_intent(f"pi_test_k{next(counter)}", 1000)
    )
    use_documented(monkeypatch, intents=intents)
    paid = start(office, "convenience_store")
    unpaid = start(office, "convenience_store")

    succeeded = documented_konbini_intent(
        paid.provider_reference, 1000, status="succeeded", amount_received=1000, next_action=None
    )
    expired = documented_konbini_intent(
        unpaid.provider_reference,
        1000,
        status="requires_payment_method",
        next_action=None,
        last_payment_error={"code": "payment_intent_konbini_rejected_confirmation_number"},
    )
    assert (
        post_event("stripe_konbini", stripe_event("payment_intent.succeeded", succeeded)).json()[
            "outcome"
        ]
        == "applied"
    )
    assert (
        post_event("stripe_konbini", stripe_event("payment_intent.payment_failed", expired)).json()[
            "outcome"
        ]
        == "applied"
    )

    paid.refresh_from_db()
    unpaid.refresh_from_db()
    assert paid.status == P.SUCCEEDED
    assert unpaid.status == P.EXPIRED


def test_an_event_of_another_type_is_acknowledged_and_changes_nothing(office, monkeypatch):
    payment, _sessions = card_payment(office, monkeypatch)
    response = post_event("stripe", stripe_event("customer.created", {"id": "cus_1"}))
    assert response.status_code == 200
    assert response.json()["outcome"] == "unknown_payment"
    payment.refresh_from_db()
    assert payment.status == P.PENDING


# --- Refunds and reconciliation (against the mock) --------------------------------------------


def mock_charge(client, payment: Payment, amount: int | None = None) -> str:
    """The charge Stripe made for the payment, made in the mock (with the metadata
    that payment_intent_data.metadata gives the PaymentIntent and its charge)."""
    return client.charges.create(
        params={
            "amount": payment.amount if amount is None else amount,
            "currency": "jpy",
            "source": "tok_visa",
            "metadata": {"cityproc_payment": payment.public_id, "cityproc_provider": "stripe"},
        }
    ).id


def paid_card_payment(office, monkeypatch, stripe_on, mock, django_capture_on_commit_callbacks):
    stripe_on.STRIPE_API_BASE = mock.base_url
    payment, _sessions = card_payment(office, monkeypatch)
    charge = mock_charge(stripe_provider._client(), payment)
    # The one step the mock cannot answer: the session's PaymentIntent and its charge.
    monkeypatch.setattr(stripe_provider.StripeProvider, "charge_id", lambda self, p: charge)
    with django_capture_on_commit_callbacks(execute=True):
        post_event("stripe", stripe_event("checkout.session.completed", paid_session()))
    payment.refresh_from_db()
    assert payment.status == P.SUCCEEDED
    return payment, charge


def test_partial_then_full_refund_through_the_sdk_at_the_mock(
    office, monkeypatch, stripe_on, mock, django_capture_on_commit_callbacks
):
    from payments.services.refunds import refund_request

    payment, charge = paid_card_payment(
        office, monkeypatch, stripe_on, mock, django_capture_on_commit_callbacks
    )
    first = refund_request(actor=office.approver, payment=payment, amount=400, reason="一部取消")
    payment.refresh_from_db()
    assert first.status == RefundStatus.SUCCEEDED
    assert first.provider_reference.startswith("re_")
    assert payment.status == P.PARTIALLY_REFUNDED

    second = refund_request(actor=office.approver, payment=payment, amount=600, reason="残り")
    payment.refresh_from_db()
    assert second.status == RefundStatus.SUCCEEDED
    assert payment.status == P.REFUNDED
    at_stripe = stripe_provider._client().charges.retrieve(charge)
    assert at_stripe.amount_refunded == 1000
    # Asking again for the same refund (our id is the idempotency key) refunds nothing more.
    again = provider_named("stripe").refund(payment, first)
    assert again.reference == first.provider_reference
    assert stripe_provider._client().charges.retrieve(charge).amount_refunded == 1000


def test_a_refund_stripe_refuses_is_failed_and_its_amount_released(
    office, monkeypatch, stripe_on, mock, django_capture_on_commit_callbacks
):
    from payments.services.refunds import refund_request

    payment, charge = paid_card_payment(
        office, monkeypatch, stripe_on, mock, django_capture_on_commit_callbacks
    )
    # Refunded at Stripe's dashboard meanwhile: only 100 yen remain there.
    stripe_provider._client().refunds.create(params={"charge": charge, "amount": 900})

    refund = refund_request(actor=office.approver, payment=payment, amount=500, reason="取消")

    payment.refresh_from_db()
    assert refund.status == RefundStatus.FAILED
    assert payment.refunded_amount == 0
    assert payment.status == P.SUCCEEDED


def test_stripe_down_leaves_the_payment_pending_and_the_refund_requested_until_reconciled(
    office, monkeypatch, stripe_on, mock, django_capture_on_commit_callbacks
):
    from payments.services.reconciliation import reconciliation_run
    from payments.services.refunds import refund_request

    payment, charge = paid_card_payment(
        office, monkeypatch, stripe_on, mock, django_capture_on_commit_callbacks
    )
    mock.stop()
    refund = refund_request(actor=office.approver, payment=payment, amount=300, reason="取消")
    assert refund.status == RefundStatus.REQUESTED
    run = reconciliation_run()
    assert run.repaired == 0
    refund.refresh_from_db()
    assert refund.status == RefundStatus.REQUESTED

    # Back (an empty mock, as after a restart), with the refund at Stripe after all (the
    # request had reached it, only the answer was lost): the reconciliation completes ours.
    mock.start()
    stripe_on.STRIPE_API_BASE = mock.base_url
    payment.refresh_from_db()
    charge = mock_charge(stripe_provider._client(), payment)
    monkeypatch.setattr(stripe_provider.StripeProvider, "charge_id", lambda self, p: charge)
    provider_named("stripe").refund(payment, refund)
    reconciliation_run()

    refund.refresh_from_db()
    payment.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert payment.status == P.PARTIALLY_REFUNDED
    assert Refund.objects.count() == 1


def test_the_reconciliation_reads_stripes_charges_and_repairs_a_lost_webhook(
    office, monkeypatch, stripe_on, mock
):
    from payments.services.reconciliation import reconciliation_run

    stripe_on.STRIPE_API_BASE = mock.base_url
    payment, _sessions = card_payment(office, monkeypatch)
    mock_charge(stripe_provider._client(), payment)
    # A charge of someone else's integration on the same account is not ours.
    stripe_provider._client().charges.create(
        params={"amount": 777, "currency": "jpy", "source": "tok_visa"}
    )

    run = reconciliation_run()

    payment.refresh_from_db()
    assert payment.status == P.SUCCEEDED
    assert run.repaired >= 1
    assert ReconciliationIssue.objects.filter(
        kind=IssueKind.MISSED_WEBHOOK, provider_reference=payment.provider_reference
    ).exists()
    assert not ReconciliationIssue.objects.filter(resolved_at__isnull=True).exists()


def test_with_stripe_on_the_start_forms_answer_may_redirect_to_stripe_checkout(monkeypatch):
    from config.settings import base

    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    policy = base.identity_provider_settings(sandbox_enabled=False, site_url="https://x.example")
    assert (
        base.STRIPE_CHECKOUT_ORIGIN
        not in policy["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]["form-action"]
    )
    monkeypatch.setenv("STRIPE_SECRET_KEY", SECRET_KEY)
    policy = base.identity_provider_settings(sandbox_enabled=False, site_url="https://x.example")
    assert policy["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]["form-action"] == [
        "'self'",
        "https://checkout.stripe.com",
    ]


def test_stripe_down_on_a_status_query_keeps_a_konbini_payment_pending(
    office, monkeypatch, stripe_on
):
    real_client = stripe_provider._client
    intents = _Recorder(create=lambda **kw: documented_konbini_intent("pi_test_down", 1000))
    use_documented(monkeypatch, intents=intents)
    payment = start(office, "convenience_store")
    # Stripe goes away (nothing listens at STRIPE_API_BASE).
    monkeypatch.setattr(stripe_provider, "_client", real_client)

    payment = payment_refresh(payment=payment, force=True)

    payment.refresh_from_db()
    assert payment.status == P.PENDING
    assert payment.instructions["numbers"]
