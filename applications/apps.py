from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApplicationsConfig(AppConfig):
    name = "applications"
    verbose_name = _("Applications")

    def ready(self) -> None:
        from accounts.permissions import Action, holds
        from applications import demo
        from core import demo as core_demo
        from core.navigation import NavItem, register

        core_demo.register("applications", demo.seed, order=30)
        register(NavItem(_("My applications"), "applications:list", order=20))
        # The clerks' queue, for whoever may review applications somewhere.
        register(
            NavItem(
                _("Queue"), "casework:queue", order=200, requires=holds(Action.REVIEW_APPLICATIONS)
            )
        )
        # Retention and legal holds, for department admins. Auditors see the page too,
        # linked from their digitization dashboard: their English menu would wrap.
        register(
            NavItem(
                _("Retention"),
                "casework:retention",
                order=430,
                requires=holds(Action.MANAGE_PROCEDURES),
            )
        )
        from applications.payment_handlers import register as register_payment_handlers

        register_payment_handlers()  # payments learns about applications only through these
