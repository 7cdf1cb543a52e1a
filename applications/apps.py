from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApplicationsConfig(AppConfig):
    name = "applications"
    verbose_name = _("Applications")

    def ready(self) -> None:
        from accounts.navigation import NavItem, register

        register(NavItem(_("My applications"), "applications:list", order=20))
