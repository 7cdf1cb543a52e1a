"""B1: submitting applications through the API under gunicorn, concurrent clients.

Candidate: POST /api/v1/applications/{id}/submit/ {"declaration": true} by the
draft's owner (bearer token): the 21 answers of a housing application validated
by the form engine (names, dates, phone numbers, an address looked up from its
postal code, the Individual Number decrypted and checked), a reference number,
the signed filing (RFC 8785 + Ed25519), the timeline event, the running total,
the audit event (hash chain), the receipt task published to Redis on commit, and
a short answer (reference, status, fee, signature, links; the detail is a GET
away). Each request submits its own draft, prepared beforehand (the drafts are
copies of one filled in through the services).

Baseline: a bare Django view in the same server (bench/views.py) that parses the
same answers as JSON and INSERTs them as one row.

Both under the same gunicorn (sync workers, 2 per core, as docs/operations.md
advises), `concurrency` client threads, rounds alternated; figure: requests/s.
Target: the candidate reaches at least 0.6 of the baseline's throughput.
"""

from __future__ import annotations

import json
import os
from typing import Any

from bench import data, load
from bench.core import Benchmark, Check, Comparison, Context, Result, alternate
from bench.server import gunicorn


def _drafts(procedure, residents: list, tokens: dict[int, str], count: int) -> list:
    """`count` drafts with every answer filled, each owned by a resident with a token:
    one through the services, the rest copies of its row."""
    from applications import services
    from applications.models import Application

    owner = residents[0]
    template = services.application_start(actor=owner, procedure=procedure)
    for step, answers in data.housing_answers(1).items():
        services.application_save_step(
            actor=owner, application=template, step_key=step, answers=answers
        )
    template.refresh_from_db()
    check = services.application_check(template)
    if not check.is_valid:
        raise RuntimeError(f"the benchmark's answers are not valid: {check.errors}")
    copies = []
    for index in range(count - 1):
        copy = Application(
            procedure_id=template.procedure_id,
            version_id=template.version_id,
            applicant=residents[(index + 1) % len(residents)],
            status=template.status,
            answers=template.answers,
            current_step=template.current_step,
        )
        copies.append(copy)
    Application.objects.bulk_create(copies, batch_size=1000)
    drafts = [template, *copies]
    return [(draft.pk, tokens[draft.applicant_id]) for draft in drafts]


def _queue_length(context: Context) -> int:
    import redis

    return redis.Redis.from_url(context.broker_url).llen("celery")


def _purge(context: Context) -> None:
    import redis

    redis.Redis.from_url(context.broker_url).delete("celery")


def run(context: Context, params: dict[str, Any]) -> Result:
    from django.contrib.auth import get_user_model
    from knox.models import AuthToken

    from bench.views import ensure_baseline_table

    result = Result(id="B1", title=BENCHMARK.title, scale=context.scale)
    ensure_baseline_table()
    catalogue = data.catalogue_get_or_build(
        prefix="b1", bureaus=1, departments_per_bureau=1, procedures=1
    )
    procedure = catalogue.procedures[0]
    user_ids = data.users_create(count=params["residents"], prefix=f"b1-{os.getpid()}-{id(result)}")
    residents = list(get_user_model().objects.filter(pk__in=user_ids).order_by("pk"))
    tokens = {user.pk: AuthToken.objects.create(user=user)[1] for user in residents}
    per_round = params["requests"]
    drafts = _drafts(procedure, residents, tokens, per_round * (params["rounds"] + 1))
    context.log(f"{len(drafts):,} drafts ready")
    body = json.dumps(data.flat_answers(1), ensure_ascii=False).encode()
    submit_body = json.dumps({"declaration": True}).encode()
    json_headers = {"Content-Type": "application/json", "Accept-Language": "ja"}
    pending = iter(drafts)
    _purge(context)
    outcomes: dict[str, list] = {"baseline": [], "candidate": []}

    with gunicorn(context, workers=params["workers"], name="b1-gunicorn") as server:

        def baseline() -> float:
            requests = [
                load.Request("POST", "/bench/baseline/insert/", body, json_headers)
                for _ in range(per_round)
            ]
            outcome = load.run(
                server.host, server.port, requests, concurrency=params["concurrency"]
            )
            outcomes["baseline"].append(outcome)
            return outcome.throughput

        def candidate() -> float:
            requests = []
            for _ in range(per_round):
                draft_id, token = next(pending)
                requests.append(
                    load.Request(
                        "POST",
                        f"/api/v1/applications/{draft_id}/submit/",
                        submit_body,
                        {**json_headers, "Authorization": f"Bearer {token}"},
                    )
                )
            outcome = load.run(
                server.host, server.port, requests, concurrency=params["concurrency"]
            )
            outcomes["candidate"].append(outcome)
            return outcome.throughput

        queued_before = _queue_length(context)
        base, cand = alternate(params["rounds"], baseline, candidate)
        queued = _queue_length(context) - queued_before
    _purge(context)

    result.comparisons.append(
        Comparison(
            name="throughput, concurrent clients",
            baseline_label="bare view, one INSERT of the JSON",
            candidate_label="POST .../submit/",
            unit="req/s",
            baseline=base,
            candidate=cand,
            higher_is_better=True,
            target=0.6,
        )
    )
    submitted = sum(o.count for o in outcomes["candidate"])
    result.checks.append(
        Check(
            "every request succeeded (201 baseline, 200 submit)",
            all(o.all_status(201) for o in outcomes["baseline"])
            and all(o.all_status(200) for o in outcomes["candidate"]),
            "; ".join(f for o in outcomes["baseline"] + outcomes["candidate"] for f in o.failures)[
                :500
            ]
            or f"{submitted} submissions",
        )
    )
    result.checks.append(
        Check(
            "one receipt task queued per submission",
            queued == submitted,
            f"{queued} tasks for {submitted} submissions",
        )
    )
    result.notes.update(
        workers=params["workers"],
        concurrency=params["concurrency"],
        requests_per_round=per_round,
        fields=sum(len(s["fields"]) for s in data.housing_definition()["form"]["steps"]),
    )
    return result


BENCHMARK = Benchmark(
    id="B1",
    title="Submitting applications through the API under gunicorn",
    target="throughput >= 0.6x a bare view doing one INSERT of the same JSON",
    run=run,
    full={
        "rounds": 7,
        "requests": 300,
        "residents": 50,
        "workers": 2 * (os.cpu_count() or 1),
        "concurrency": 8,
    },
    small={"rounds": 2, "requests": 8, "residents": 4, "workers": 2, "concurrency": 4},
)
