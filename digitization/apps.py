from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DigitizationConfig(AppConfig):
    name = "digitization"
    verbose_name = _("Digitization")

    def ready(self) -> None:
        from accounts.navigation import NavItem, register
        from accounts.permissions import Action
        from core import demo as core_demo
        from digitization import demo

        # After the procedures (20) and the demo casework (30).
        core_demo.register("digitization", demo.seed, order=60)
        register(
            NavItem(
                _("Digitization"),
                "digitization:dashboard",
                order=400,
                requires=Action.AUDIT_DIGITIZATION,
            )
        )
        register(
            NavItem(
                _("Case figures"),
                "digitization:reports",
                order=410,
                requires=Action.REPORT_INVENTORY,
            )
        )
        register(
            NavItem(
                _("Audit log"),
                "digitization:audit_log",
                order=420,
                requires=Action.VIEW_AUDIT_LOG,
            )
        )
        register(NavItem(_("Open data"), "open_data:index", order=900, anonymous=True))
