"""The benchmarks `bin/bench` knows, by id. To add one: write bench/bN_<name>.py defining
`BENCHMARK = Benchmark(...)` with `full` and `small` parameters, add the module
here, and a small-scale test in tests/bench/ (see docs/performance.md)."""

from __future__ import annotations

from importlib import import_module

from bench.core import Benchmark

MODULES = (
    "bench.b1_submit",
    "bench.b2_queue",
    "bench.b3_receipt_pdf",
    "bench.b4_rates",
    "bench.b5_celery_receipts",
    "bench.b6_webhooks",
    "bench.b7_worker_memory",
    "bench.b8_search",
)


def benchmarks() -> dict[str, Benchmark]:
    found = {}
    for name in MODULES:
        benchmark = import_module(name).BENCHMARK
        found[benchmark.id] = benchmark
    return found
