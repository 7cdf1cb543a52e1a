"""B7: peak memory of one web worker after 10,000 mixed requests.

One gunicorn sync worker serves a mix of what residents, clerks and machines ask
for: the home page, the catalogue and a procedure page, the catalogue API, a
procedure's form, a resident's applications and one application, starting a draft
and saving a step, the clerks' queue API, a 404 and the health check. The
worker's peak resident set size (VmHWM, from /proc) after `total` requests is
compared with the same worker after the first `early` requests.
Target: at most 1.2x (no leak).
"""

from __future__ import annotations

import itertools
import json
import os
from typing import Any

from bench import data, load
from bench.core import Benchmark, Check, Comparison, Context, Result
from bench.server import gunicorn, peak_rss_bytes, rss_bytes


def _setup(params: dict[str, Any]) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from knox.models import AuthToken

    from accounts.models import Role
    from applications import services

    catalogue = data.catalogue_get_or_build(
        prefix="b7", bureaus=1, departments_per_bureau=2, procedures=4
    )
    user_ids = data.users_create(count=params["residents"], prefix=f"b7-{os.getpid()}-{id(params)}")
    residents = list(get_user_model().objects.filter(pk__in=user_ids).order_by("pk"))
    tokens = [AuthToken.objects.create(user=user)[1] for user in residents]
    applications = []
    for index, resident in enumerate(residents):
        procedure = catalogue.procedures[index % len(catalogue.procedures)]
        application = services.application_start(actor=resident, procedure=procedure)
        for step, answers in data.housing_answers(index).items():
            services.application_save_step(
                actor=resident, application=application, step_key=step, answers=answers
            )
        application = services.application_submit(
            actor=resident, application=application, declaration=True
        )
        applications.append(application.pk)
    clerk, _device = data.staff_member(
        organization=catalogue.bureaus[0],
        role=Role.CLERK,
        email=f"b7-clerk-{os.getpid()}-{id(params)}@bench.example.jp",
    )
    clerk_token = AuthToken.objects.create(user=clerk)[1]
    return {
        "procedures": [p.code for p in catalogue.procedures],
        "tokens": tokens,
        "applications": applications,
        "clerk_token": clerk_token,
    }


def _mix(setup: dict[str, Any]) -> itertools.cycle:
    """The requests, in a fixed rotation."""
    code = setup["procedures"][0]
    json_headers = {"Content-Type": "application/json", "Accept-Language": "ja"}
    per_resident = []
    for token, application_id in zip(setup["tokens"], setup["applications"], strict=True):
        auth = {**json_headers, "Authorization": f"Bearer {token}"}
        per_resident += [
            load.Request("GET", "/api/v1/applications/", headers=auth),
            load.Request("GET", f"/api/v1/applications/{application_id}/", headers=auth),
            load.Request(
                "POST",
                "/api/v1/applications/",
                json.dumps({"procedure": code}).encode(),
                headers=auth,
            ),
        ]
    clerk = {**json_headers, "Authorization": f"Bearer {setup['clerk_token']}"}
    common = [
        load.Request("GET", "/"),
        load.Request("GET", "/procedures/"),
        load.Request("GET", f"/procedures/{code}/"),
        load.Request("GET", "/procedures/?q=%E4%BD%8F%E5%AE%85"),
        load.Request("GET", "/api/v1/procedures/"),
        load.Request("GET", f"/api/v1/procedures/{code}/"),
        load.Request("GET", "/api/v1/queue/?status=submitted", headers=clerk),
        load.Request("GET", "/api/v1/queue/", headers=clerk),
        load.Request("GET", "/no-such-page/"),
        load.Request("GET", "/healthz"),
    ]
    mixed = []
    for index, request in enumerate(per_resident):
        mixed.append(request)
        mixed.append(common[index % len(common)])
    return itertools.cycle(mixed)


def run(context: Context, params: dict[str, Any]) -> Result:
    result = Result(id="B7", title=BENCHMARK.title, scale=context.scale)
    setup = _setup(params)
    requests = _mix(setup)
    early, total = params["early"], params["total"]
    statuses: dict[int, int] = {}
    failures: list[str] = []
    with gunicorn(context, workers=1, name="b7-gunicorn") as server:
        pids = server.worker_pids()
        if len(pids) != 1:
            raise RuntimeError(f"expected one gunicorn worker, found {pids}")
        worker = pids[0]

        def send(count: int) -> None:
            batch = [next(requests) for _ in range(count)]
            outcome = load.run(server.host, server.port, batch, concurrency=params["concurrency"])
            for status, number in outcome.statuses.items():
                statuses[status] = statuses.get(status, 0) + number
            failures.extend(f for f in outcome.failures if " 404 " not in f)

        send(early)
        after_early = peak_rss_bytes(worker)
        rss_early = rss_bytes(worker)
        send(total - early)
        after_total = peak_rss_bytes(worker)
        rss_total = rss_bytes(worker)
        still_same = server.worker_pids() == [worker]
    result.comparisons.append(
        Comparison(
            name=f"peak RSS of one worker after {total:,} requests against after {early}",
            baseline_label=f"after {early} requests",
            candidate_label=f"after {total:,} requests",
            unit="bytes",
            baseline=[after_early],
            candidate=[after_total],
            target=1.2,
        )
    )
    unexpected = {s: n for s, n in statuses.items() if s not in (200, 201, 404)}
    result.checks.append(
        Check(
            "the same worker answered every request, none failed",
            still_same and not unexpected and not failures,
            f"statuses {dict(sorted(statuses.items()))}"
            + (f"; {failures[:3]}" if failures else ""),
        )
    )
    result.notes.update(
        rss_after_early=rss_early,
        rss_after_total=rss_total,
        requests_in_mix=len(setup["tokens"]) * 6,
        concurrency=params["concurrency"],
    )
    return result


BENCHMARK = Benchmark(
    id="B7",
    title="Peak memory of one web worker after many mixed requests",
    target="peak RSS after 10,000 requests <= 1.2x after 100",
    run=run,
    full={"early": 100, "total": 10_000, "residents": 20, "concurrency": 2},
    small={"early": 20, "total": 80, "residents": 2, "concurrency": 2},
)
