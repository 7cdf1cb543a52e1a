from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProceduresConfig(AppConfig):
    name = "procedures"
    verbose_name = _("Procedures")

    def ready(self) -> None:
        from accounts.permissions import Action, holds
        from core import demo as core_demo
        from core.navigation import NavItem, register
        from procedures import demo

        core_demo.register("procedures", demo.seed, order=20)
        register(NavItem(_("Procedures"), "catalogue:list", order=10, anonymous=True))
        # The builder; named apart from the public catalogue's "Procedures" entry.
        register(
            NavItem(
                _("Manage procedures"),
                "procedures:builder_list",
                order=300,
                requires=holds(Action.MANAGE_PROCEDURES),
            )
        )
