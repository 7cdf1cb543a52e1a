from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeliveriesConfig(AppConfig):
    name = "deliveries"
    verbose_name = _("Deliveries to back-office systems")

    def ready(self) -> None:
        from applications.hooks import case_event
        from deliveries import exchange, services
        from procedures.hooks import exchange_exported, exchange_imported

        # Each event of a filing, delivered to the procedure's targets. The
        # failures page is reached from the builder and from the notification a
        # dead letter sends (not from the menu, which is full enough).
        case_event.subscribe(services.on_case_event)
        # A procedure's targets travel with it in the exchange format, without secrets.
        exchange_exported.subscribe(exchange.targets_export)
        exchange_imported.subscribe(exchange.targets_import)
