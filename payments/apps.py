from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        from accounts.navigation import NavItem, register
        from accounts.permissions import Action
        from payments.providers import register_provider
        from payments.providers.sandbox import SandboxDeferredProvider, SandboxProvider

        # Built-in gateways; each answers only while PAYMENTS_SANDBOX_ENABLED is on.
        register_provider(SandboxProvider())
        register_provider(SandboxDeferredProvider())
        register(
            NavItem(
                _("Payment reconciliation"),
                "payments:reconciliation",
                order=400,
                requires=Action.AUDIT_DIGITIZATION,
            )
        )
