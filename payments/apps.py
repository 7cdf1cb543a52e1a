from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        from accounts.permissions import Action, holds
        from core.navigation import NavItem, register
        from payments.providers import register_provider
        from payments.providers.sandbox import SandboxDeferredProvider, SandboxProvider
        from payments.providers.stripe import StripeKonbiniProvider, StripeProvider

        # Built-in gateways; each answers only while PAYMENTS_SANDBOX_ENABLED is on.
        register_provider(SandboxProvider())
        register_provider(SandboxDeferredProvider())
        # Stripe (card; konbini), answering only with STRIPE_SECRET_KEY set.
        register_provider(StripeProvider())
        register_provider(StripeKonbiniProvider())
        register(
            NavItem(
                _("Payment reconciliation"),
                "payments:reconciliation",
                order=400,
                requires=holds(Action.AUDIT_DIGITIZATION),
            )
        )
