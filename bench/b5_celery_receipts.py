"""B5: receipts issued by Celery workers against the same work in a plain loop.

Each unit of work is `receipt_issue` for one submitted application: lock the row,
build the content, render the PDF (core.pdf), sign it, store the file, record the
event, the notification and the audit event. The candidate publishes
`applications.tasks.issue_receipt` to the Redis broker (acks_late, prefetch 1, as
configured) for a real `celery worker` with `processes` prefork children, and
waits until every receipt exists. The baseline calls `receipt_issue` in a loop in
this process. Rounds alternate; figure: receipts per second per process.

The receipt tasks go to a queue of the benchmark's own; the notification e-mails
they queue are only published (in both cases alike), not sent.
Target: at least 0.9x the loop's throughput per worker process.
"""

from __future__ import annotations

import os
import time
from typing import Any

from bench import data
from bench.core import Benchmark, Check, Comparison, Context, Result, alternate
from bench.server import celery_workers

QUEUE = "bench-receipts"


def _submitted(count: int, prefix: str = "b5") -> list[int]:
    """`count` submitted applications without a receipt: one filed through the
    services, the rest copies of its row (their own reference numbers)."""
    from accounts.models import User
    from applications import services
    from applications.models import Application, IssuedDocument
    from procedures.models import Procedure

    catalogue = data.catalogue_get_or_build(
        prefix=prefix, bureaus=1, departments_per_bureau=1, procedures=1
    )
    procedure: Procedure = catalogue.procedures[0]
    user_id = data.users_create(count=1, prefix=f"{prefix}-{time.time_ns()}")[0]
    applicant = User.objects.get(pk=user_id)
    template = services.application_start(actor=applicant, procedure=procedure)
    for step, answers in data.housing_answers(5).items():
        services.application_save_step(
            actor=applicant, application=template, step_key=step, answers=answers
        )
    template = services.application_submit(actor=applicant, application=template, declaration=True)
    template.refresh_from_db()
    IssuedDocument.objects.filter(application=template).delete()  # eager settings issue it
    skip = {"id", "reference"}
    values = {
        f.attname: getattr(template, f.attname)
        for f in Application._meta.concrete_fields
        if f.name not in skip
    }
    base = 900_000_000 + time.time_ns() % 10_000_000 * 50
    copies = [Application(**values, reference=data._reference(base + n)) for n in range(count - 1)]
    Application.objects.bulk_create(copies, batch_size=500)
    return [template.pk, *(copy.pk for copy in copies)]


def run(context: Context, params: dict[str, Any]) -> Result:
    import redis

    from applications.documents import receipt_issue
    from applications.models import DocumentKind, IssuedDocument
    from applications.tasks import issue_receipt
    from config.celery import app

    result = Result(id="B5", title=BENCHMARK.title, scale=context.scale)
    per_round = params["receipts"]
    rounds = params["rounds"]
    ids = _submitted(per_round * 2 * (rounds + 1) * len(params["processes"]))
    pending = iter(ids)
    broker = redis.Redis.from_url(context.broker_url)
    broker.delete(QUEUE)
    used = 0

    def loop() -> float:
        nonlocal used
        batch = [next(pending) for _ in range(per_round)]
        started = time.perf_counter()
        for application_id in batch:
            receipt_issue(application_id=application_id)
        elapsed = time.perf_counter() - started
        used += len(batch)
        return len(batch) / elapsed

    def workers(processes: int) -> float:
        nonlocal used
        batch = [next(pending) for _ in range(per_round)]
        started = time.perf_counter()
        for application_id in batch:
            issue_receipt.apply_async(args=[application_id], queue=QUEUE)
        deadline = time.monotonic() + params["timeout"]
        done = 0
        while time.monotonic() < deadline:
            done = IssuedDocument.objects.filter(
                application_id__in=batch, kind=DocumentKind.RECEIPT
            ).count()
            if done == len(batch):
                break
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
        used += len(batch)
        if done != len(batch):
            raise RuntimeError(f"workers issued {done} of {len(batch)} receipts in time")
        return len(batch) / elapsed / processes

    # Publish for real even where the settings run tasks eagerly (the test suite).
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        for processes in params["processes"]:
            with celery_workers(
                context, processes=processes, queue=QUEUE, name=f"b5-celery-{processes}"
            ):
                baseline, candidate = alternate(rounds, loop, lambda p=processes: workers(p))
            result.comparisons.append(
                Comparison(
                    name=f"receipts per second per process, {processes} worker process"
                    + ("es" if processes > 1 else ""),
                    baseline_label="receipt_issue() in a loop, one process",
                    candidate_label=f"issue_receipt tasks, celery worker --concurrency={processes}",
                    unit="receipts/s",
                    baseline=baseline,
                    candidate=candidate,
                    higher_is_better=True,
                    target=0.9,
                )
            )
    finally:
        app.conf.task_always_eager = eager
        broker.delete(QUEUE)
        broker.delete("celery")  # the notification e-mails queued by both

    issued = ids[:used]
    receipts = IssuedDocument.objects.filter(application_id__in=issued, kind=DocumentKind.RECEIPT)
    result.checks.append(
        Check(
            "exactly one receipt per application",
            receipts.count() == len(issued)
            and receipts.values("application_id").distinct().count() == len(issued),
            f"{receipts.count()} receipts for {len(issued)} applications",
        )
    )
    result.notes.update(processes=params["processes"], receipts_per_round=per_round)
    return result


BENCHMARK = Benchmark(
    id="B5",
    title="Receipts rendered by Celery workers (Redis, acks_late) against a plain loop",
    target="throughput per worker process >= 0.9x the loop's",
    run=run,
    full={
        "rounds": 5,
        "receipts": 40,
        "processes": sorted({1, os.cpu_count() or 1}),
        "timeout": 600,
    },
    small={"rounds": 1, "receipts": 2, "processes": [1], "timeout": 120},
)
