from django.core.management.base import BaseCommand, CommandError

from audit.services import audit_chain_verify


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; exits non-zero naming the first broken row."

    def handle(self, *args, **options):
        result = audit_chain_verify()
        if not result.ok:
            raise CommandError(
                f"Audit chain broken at row {result.broken_sequence}: {result.reason} "
                f"({result.checked} rows verified before it)."
            )
        self.stdout.write(
            self.style.SUCCESS(f"Audit chain intact: {result.checked} rows verified.")
        )
