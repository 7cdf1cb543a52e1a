import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from digitization import selectors, services
from digitization.inventory_seed import SeedOptions, seed_inventory


class Command(BaseCommand):
    help = (
        "Build a government-sized inventory (about 30,000 procedure types, the top 169 "
        "carrying about 98% of the cases) with this fiscal year's case figures. "
        "Idempotent; quick demo data is seed_demo's."
    )

    def add_arguments(self, parser):
        defaults = SeedOptions()
        parser.add_argument("--count", type=int, default=defaults.count, help="Procedure types.")
        parser.add_argument(
            "--top", type=int, default=defaults.top, help="How many carry --top-share."
        )
        parser.add_argument("--top-share", type=float, default=defaults.top_share)
        parser.add_argument(
            "--total-cases", type=int, default=defaults.total_cases, help="Cases a year."
        )
        parser.add_argument("--seed", type=int, default=defaults.seed, help="Random seed.")
        parser.add_argument(
            "--no-snapshot", action="store_true", help="Do not take today's snapshot."
        )

    def handle(self, *args, **options):
        if not settings.DEMO_ENABLED:
            raise CommandError("Demo data is disabled in these settings (DEMO_ENABLED).")
        if options["count"] < options["top"] or not 0 < options["top_share"] < 1:
            raise CommandError("--count must be at least --top, and --top-share between 0 and 1.")
        started = time.monotonic()
        result = seed_inventory(
            SeedOptions(
                count=options["count"],
                top=options["top"],
                top_share=options["top_share"],
                total_cases=options["total_cases"],
                seed=options["seed"],
            )
        )
        if not options["no_snapshot"]:
            services.snapshot_take()
        overview = selectors.overview_of(
            selectors.whole_government(), ranked_limit=0, with_trend=False
        )
        figures = overview.figures.as_dict()
        self.stdout.write(
            f"Inventory: {result['entries']} procedure types and {result['reports']} case reports added "
            f"over {result['departments']} departments in {time.monotonic() - started:.1f}s. "
            f"Now {figures['procedures']} in force; availability {figures['availability_by_volume']:.2%} "
            f"by volume, {figures['availability_by_count']:.2%} by count; usage {figures['usage'] or 0:.2%}; "
            f"{overview.gap.cases_short} cases short of the target."
        )
