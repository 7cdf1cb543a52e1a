from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.demo import seeders


class Command(BaseCommand):
    help = "Load demo data for every role (idempotent: a second run changes nothing)."

    def handle(self, *args, **options):
        if not settings.DEMO_ENABLED:
            raise CommandError("Demo data is disabled in these settings (DEMO_ENABLED).")
        results: dict = {"stdout": self.stdout, "style": self.style}
        for seeder in seeders():
            seeder.seed(results)
