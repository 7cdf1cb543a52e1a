"""manage.py retention_purge [--dry-run] [--limit N]: purge the cases whose
retention period has run out (applications/purge.py), with a progress bar on a
terminal and a summary; the daily beat task runs the same service."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand

from applications.purge import purge_due, retention_purge_run


class Command(BaseCommand):
    help = "Purge the cases whose retention period has run out (or count them with --dry-run)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count, change nothing.")
        parser.add_argument("--limit", type=int, default=None, help="Purge at most N cases.")

    def handle(self, *args, dry_run: bool = False, limit: int | None = None, **options):
        total = purge_due().count() if limit is None else min(limit, purge_due().count())
        done = 0

        def progress(count: int) -> None:
            nonlocal done
            done += count
            if sys.stdout.isatty() and total:
                filled = int(30 * done / total)
                bar = "#" * filled + "-" * (30 - filled)
                self.stdout.write(f"\r[{bar}] {done}/{total}", ending="")
                self.stdout.flush()

        summary = retention_purge_run(dry_run=dry_run, limit=limit, progress=progress)
        if sys.stdout.isatty() and total and not dry_run:
            self.stdout.write("")
        verb = "would purge" if dry_run else "purged"
        self.stdout.write(
            f"Retention: {verb} {summary.purged} case(s); {summary.files} file(s) removed."
        )
        for code, count in sorted(summary.by_procedure.items()):
            self.stdout.write(f"  {code}: {count}")
