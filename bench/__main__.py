"""Run the benchmarks: `python -m bench [B1 B2 ...] [--small] [--rounds N]`
(or `bin/bench ...`). Without ids, all of them. Prints each result and a Markdown
table for docs/performance.md, and writes var/bench/results-<time>.json.

The database is DATABASE_URL (default cityproc_bench on 127.0.0.1:5432), created
and migrated when needed; Redis DB 7 is the broker (CELERY_BROKER_URL)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _setup_django(reset: bool) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    from bench.database import prepare

    prepare(reset=reset)


def table(results: list) -> str:
    lines = [
        "| benchmark | comparison | baseline | candidate | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for result in results:
        for comparison in result.comparisons:
            met = {True: "yes", False: "**no**", None: "-"}[comparison.met]
            lines.append(
                f"| {result.id} | {comparison.name} | {comparison.baseline_label}: "
                f"{_figure(comparison.baseline_median, comparison.unit)} | "
                f"{comparison.candidate_label}: "
                f"{_figure(comparison.candidate_median, comparison.unit)} | "
                f"{comparison.ratio:.2f} | {comparison.target_text} | {met} |"
            )
        for check in result.checks:
            lines.append(
                f"| {result.id} | {check.name} | | {check.detail} | | must hold | "
                f"{'yes' if check.passed else '**no**'} |"
            )
    return "\n".join(lines)


def _figure(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.2f} ms" if value < 10 else f"{value:.1f} s"
    if unit == "bytes":
        return f"{value / 1024 / 1024:.1f} MiB"
    return f"{value:,.1f} {unit}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("ids", nargs="*", help="B1 ... B7 (default: all)")
    parser.add_argument("--small", action="store_true", help="the small scale of tests/bench")
    parser.add_argument("--rounds", type=int, help="rounds per figure (default per benchmark)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument(
        "--reset-db", action="store_true", help="drop and recreate the benchmark database first"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress messages")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    from bench.registry import benchmarks

    known = benchmarks()
    if args.list:
        for benchmark in known.values():
            print(f"{benchmark.id}  {benchmark.title}  (target: {benchmark.target})")
        return 0
    # A terminated run still stops the servers and workers it started (finally blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    _setup_django(reset=args.reset_db)
    from bench.core import Context, machine

    wanted = [name.upper() for name in args.ids] or list(known)
    unknown = [name for name in wanted if name not in known]
    if unknown:
        parser.error(
            f"unknown or not yet available: {', '.join(unknown)} (known: {', '.join(known)})"
        )
    context = Context(scale="small" if args.small else "full", rounds=args.rounds)
    context.verbose = not args.quiet
    about = machine()
    print(f"machine: {json.dumps(about)}", flush=True)
    results = []
    for name in wanted:
        benchmark = known[name]
        print(f"== {benchmark.id}: {benchmark.title} ({context.scale})", flush=True)
        result = benchmark.execute(context)
        results.append(result)
        print(table([result]), flush=True)
        print(f"-- {result.id} {'met' if result.met else 'NOT met'} in {result.seconds:.0f} s")
        for key, value in result.notes.items():
            print(f"   {key}: {value}")
    print("\n" + table(results))
    out = context.workdir / f"results-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(
        json.dumps(
            {"machine": about, "results": [r.as_dict() for r in results]},
            indent=2,
            ensure_ascii=False,
            default=str,
        )
    )
    print(f"\nwritten: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
