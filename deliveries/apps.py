from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeliveriesConfig(AppConfig):
    name = "deliveries"
    verbose_name = _("Deliveries to back-office systems")

    def ready(self) -> None:
        from accounts.permissions import Action, holds
        from core.navigation import NavItem, register

        register(
            NavItem(
                _("Delivery failures"),
                "deliveries:dead_letters",
                order=310,
                requires=holds(Action.MANAGE_PROCEDURES),
            )
        )
