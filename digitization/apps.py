from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DigitizationConfig(AppConfig):
    name = "digitization"
    verbose_name = _("Digitization")

    def ready(self) -> None:
        from accounts.permissions import Action, holds
        from applications.hooks import case_counted
        from core import demo as core_demo
        from core.navigation import NavItem, register
        from digitization import demo, figures_cache

        # The auditors' kept figures count the platform's filings.
        case_counted.subscribe(figures_cache.on_case_counted)

        # After the procedures (20) and the demo casework (30).
        core_demo.register("digitization", demo.seed, order=60)
        register(
            NavItem(
                _("Digitization"),
                "digitization:dashboard",
                order=400,
                requires=holds(Action.AUDIT_DIGITIZATION),
            )
        )
        register(
            NavItem(
                _("Case figures"),
                "digitization:reports",
                order=410,
                requires=holds(Action.REPORT_INVENTORY),
            )
        )
        register(
            NavItem(
                _("Audit log"),
                "digitization:audit_log",
                order=420,
                requires=holds(Action.VIEW_AUDIT_LOG),
            )
        )
        register(NavItem(_("Open data"), "open_data:index", order=900, anonymous=True))
