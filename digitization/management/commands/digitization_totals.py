"""Check or rebuild the running totals behind the digitization rates
(digitization.totals): `--check` lists where they differ from a recount and
exits 1 if they do; `--rebuild` recounts every organization."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from digitization.totals import totals_mismatches, totals_rebuild


class Command(BaseCommand):
    help = "Check (--check) or rebuild (--rebuild) the digitization running totals."

    def add_arguments(self, parser) -> None:
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--check", action="store_true", help="compare with a recount")
        action.add_argument("--rebuild", action="store_true", help="recount every organization")

    def handle(self, *args, check: bool, rebuild: bool, **options) -> None:
        if rebuild:
            count = totals_rebuild()
            self.stdout.write(f"Recounted the totals of {count} organizations.")
            return
        problems = totals_mismatches()
        for problem in problems:
            self.stdout.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} running totals differ from a recount.")
        self.stdout.write("The running totals agree with a recount.")
