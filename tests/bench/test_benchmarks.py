"""Every benchmark at its small scale, so none of them rots: each builds its data,
starts what it needs (gunicorn, a Celery worker) against the test database and
Redis, and produces its ratios. The targets are for the full-size report
(docs/performance.md), not for these runs; what is asserted is that each figure
exists and that the correctness checks measured alongside hold."""

import math

import pytest

from bench.core import Context
from bench.registry import benchmarks

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def context(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return Context(scale="small", verbose=False, workdir=tmp_path / "bench")


def _run(benchmark_id: str, context: Context):
    result = benchmarks()[benchmark_id].execute(context)
    assert result.comparisons, f"{benchmark_id} produced no ratio"
    for comparison in result.comparisons:
        assert comparison.baseline and comparison.candidate, comparison.name
        assert math.isfinite(comparison.ratio) and comparison.ratio > 0, comparison.name
    failed = [f"{check.name}: {check.detail}" for check in result.checks if not check.passed]
    assert not failed, failed
    return result


def test_b1_submitting_through_the_api_under_gunicorn_gives_a_throughput_ratio(context):
    result = _run("B1", context)
    assert result.comparisons[0].unit == "req/s"


def test_b2_the_queue_gives_ratios_against_the_raw_query_with_constant_queries(context):
    result = _run("B2", context)
    names = [comparison.name for comparison in result.comparisons]
    assert "API, first page" in names and "HTML page, first page" in names
    assert result.notes["deep_page"] > 1


def test_b3_rendering_a_receipt_gives_time_and_memory_ratios(context):
    result = _run("B3", context)
    assert {comparison.unit for comparison in result.comparisons} == {"s", "bytes"}


def test_b4_the_auditors_rates_give_ratios_against_a_count_without_reading_applications(
    context,
):
    result = _run("B4", context)
    assert {comparison.name for comparison in result.comparisons} == {
        "rates API",
        "dashboard page",
        "rates API, inventory figures computed (just after a change)",
        "dashboard page, rendered again (just after a filing)",
    }
    assert result.notes["applications"] >= 2_000


def test_b5_receipts_through_a_celery_worker_give_a_throughput_ratio(context):
    _run("B5", context)


def test_b7_a_web_worker_gives_its_memory_ratio(context):
    _run("B7", context)


def test_b6_payment_webhooks_give_a_throughput_ratio_and_one_effect_for_duplicates(context):
    result = _run("B6", context)
    assert result.comparisons[0].unit == "req/s"
    assert any("duplicates give exactly one effect" in check.name for check in result.checks)


def test_the_command_lists_every_benchmark(capsys):
    from bench.__main__ import main

    assert main(["--list"]) == 0
    listed = capsys.readouterr().out
    assert all(f"B{n} " in listed for n in range(1, 8))


def test_b8_the_search_gives_ratios_with_the_same_rows_and_the_documented_ranks(context):
    result = _run("B8", context)
    assert [c.unit for c in result.comparisons] == ["ms/query", "ms/query"]
