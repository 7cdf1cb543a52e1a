from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and organizations")

    def ready(self) -> None:
        from accounts import demo
        from accounts.api import schema  # noqa: F401  (registers the OpenAPI extension)
        from core import demo as core_demo
        from core.navigation import NavItem, register

        core_demo.register("accounts", demo.seed, order=10)

        register(NavItem(_("Home"), "home", order=0, anonymous=True))
        register(NavItem(_("Notifications"), "accounts:notifications", order=850))
        register(NavItem(_("My account"), "accounts:profile", order=900))
        register(
            NavItem(
                _("Administration"),
                "admin:index",
                order=950,
                requires=lambda user: user.is_superuser,
            )
        )
