from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeliveriesConfig(AppConfig):
    name = "deliveries"
    verbose_name = _("Deliveries to back-office systems")

    def ready(self) -> None:
        from accounts.permissions import Action, holds
        from applications.hooks import case_event
        from core.navigation import NavItem, register
        from deliveries import services

        # Each event of a filing, delivered to the procedure's targets.
        case_event.subscribe(services.on_case_event)

        register(
            NavItem(
                _("Delivery failures"),
                "deliveries:dead_letters",
                order=310,
                requires=holds(Action.MANAGE_PROCEDURES),
            )
        )
