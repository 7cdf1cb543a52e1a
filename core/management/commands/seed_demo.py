from django.core.management.base import BaseCommand

from core.demo import seeders


class Command(BaseCommand):
    help = "Load demo data for every role (idempotent: a second run changes nothing)."

    def handle(self, *args, **options):
        results: dict = {"stdout": self.stdout, "style": self.style}
        for seeder in seeders():
            seeder.seed(results)
