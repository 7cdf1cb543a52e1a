"""B6: payment webhooks under gunicorn, concurrent deliveries.

Candidate: POST /api/v1/payments/webhooks/sandbox/ with a signed
`payment.succeeded` event (`Sandbox-Signature: t=<unix>,v1=<HMAC-SHA256 of
"<t>.<body>">`, as the sandbox provider signs), each request for its own pending
card payment of an application waiting for its fee: the signature and timestamp
checked, the event recorded once (unique provider + event id), the payment locked
and moved to succeeded, the payer's notification, the audit event, and the
workflow step (the settlement task, which moves the application on to review and
then e-mails the notification) queued to Redis on commit: one message per
delivery. The payments are copies of one made through the services (filing,
`payment_start`).

Baseline: `POST /bench/baseline/parse/` in the same gunicorn: a bare Django view
that parses the same body as JSON and answers 200.

Then 200 concurrent deliveries of one event (the same signed body, 200 client
threads): exactly one is applied, 199 are duplicates, the payment changes once,
one audit event, one settlement task; running that task (as the worker would)
moves the application once.

Target: throughput at least 0.6 of the baseline's.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from typing import Any

from bench import data, load
from bench.core import Benchmark, Check, Comparison, Context, Result, alternate
from bench.server import gunicorn

PROVIDER = "sandbox"
FEE = 1000
REFERENCE_BASE = 40_000_000_000  # apart from B2's and B4's generated references


def fee_definition() -> dict:
    definition = data.housing_definition()
    definition["fee"] = {
        "kind": "fixed",
        "amount": FEE,
        "due": "before_review",
        "methods": ["card"],
    }
    return definition


def _procedure(prefix: str):
    from accounts.models import OrganizationKind
    from accounts.services import organization_create
    from procedures.models import Procedure
    from procedures.services import procedure_create, version_publish

    procedure = Procedure.objects.filter(code=f"{prefix}-fee-procedure").first()
    if procedure is not None:
        return procedure
    city = organization_create(
        code=f"{prefix}-city",
        name_ja="ベンチ市",
        name_en="Bench City",
        kind=OrganizationKind.GOVERNMENT,
    )
    department = organization_create(
        code=f"{prefix}-department",
        name_ja="ベンチ課",
        name_en="Bench Division",
        kind=OrganizationKind.DEPARTMENT,
        parent=city,
    )
    procedure = procedure_create(
        actor=None,
        organization=department,
        code=f"{prefix}-fee-procedure",
        definition=fee_definition(),
        title_ja="ベンチ 手数料のある手続",
        title_en="Bench procedure with a fee",
        category="other",
        filer="individual",
        identity_level="email_verified",
        processing_days=10,
    )
    version_publish(actor=None, version=procedure.versions.get())
    return procedure


def _payments(procedure, residents: list, count: int) -> list:
    """`count` pending card payments, each of its own application waiting for its
    fee: one filed and started through the services, the rest copies of its rows."""
    from applications import services
    from applications.models import Application
    from payments.models import Payment
    from payments.models import new_public_id as payment_public_id
    from payments.services.start import payment_start

    owner = residents[0]
    template = services.application_start(actor=owner, procedure=procedure)
    for step, answers in data.housing_answers(1).items():
        services.application_save_step(
            actor=owner, application=template, step_key=step, answers=answers
        )
    template = services.application_submit(actor=owner, application=template, declaration=True)
    if template.status != "payment_pending":
        raise RuntimeError(f"the filing waits for no fee (status {template.status})")
    payment, _created = payment_start(
        actor=owner,
        subject_kind="application",
        subject_id=template.pk,
        method="card",
        idempotency_key=secrets.token_hex(8),
    )
    if payment.status != "pending" or not payment.provider_reference:
        raise RuntimeError(f"the sandbox did not open the payment ({payment.status})")
    copies = [
        Application(
            procedure_id=template.procedure_id,
            version_id=template.version_id,
            applicant=residents[(index + 1) % len(residents)],
            status=template.status,
            answers=template.answers,
            data=template.data,
            current_step=template.current_step,
            reference=data._reference(REFERENCE_BASE + secrets.randbelow(10**11)),
            submitted_at=template.submitted_at,
        )
        for index in range(count - 1)
    ]
    Application.objects.bulk_create(copies, batch_size=1000)
    clones = []
    for copy in copies:
        clone = Payment.objects.get(pk=payment.pk)
        clone.pk = None
        clone.public_id = payment_public_id()
        clone.subject_id = copy.pk
        clone.payer_id = copy.applicant_id
        clone.idempotency_key = ""
        clone.provider_reference = f"bench-{secrets.token_hex(10)}"
        clones.append(clone)
    Payment.objects.bulk_create(clones, batch_size=1000)
    return [payment, *clones]


def webhook_body(payment, *, event_id: str | None = None) -> bytes:
    return json.dumps(
        {
            "id": event_id or f"evt_{secrets.token_hex(10)}",
            "type": "payment.succeeded",
            "created": int(time.time()),
            "data": {
                "reference": payment.provider_reference,
                "merchant_order": payment.public_id,
                "amount": payment.amount,
                "status": "succeeded",
            },
        }
    ).encode()


def signed_request(payment, *, event_id: str | None = None) -> load.Request:
    from payments.providers.sandbox import SIGNATURE_HEADER, webhook_secret
    from payments.providers.signature import signature_header

    body = webhook_body(payment, event_id=event_id)
    return load.Request(
        "POST",
        f"/api/v1/payments/webhooks/{PROVIDER}/",
        body,
        {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature_header(webhook_secret(PROVIDER), body),
        },
    )


SETTLEMENT_TASK = "payments.tasks.dispatch_settlement"


def _queued(context: Context) -> tuple[int, int]:
    """Settlement tasks waiting in the Redis queue, and all messages there."""
    import redis

    messages = redis.Redis.from_url(context.broker_url).lrange("celery", 0, -1)
    tasks = [json.loads(m).get("headers", {}).get("task") for m in messages]
    return tasks.count(SETTLEMENT_TASK), len(tasks)


def _settlement_tasks(context: Context) -> int:
    return _queued(context)[0]


def _purge(context: Context) -> None:
    import redis

    redis.Redis.from_url(context.broker_url).delete("celery")


def run(context: Context, params: dict[str, Any]) -> Result:
    from django.contrib.auth import get_user_model

    from audit.models import AuditEvent
    from payments.models import Payment, WebhookEvent
    from payments.services.settlement import payment_settlement_dispatch

    result = Result(id="B6", title=BENCHMARK.title, scale=context.scale)
    procedure = _procedure("b6")
    user_ids = data.users_create(count=params["residents"], prefix=f"b6-{os.getpid()}-{id(result)}")
    residents = list(get_user_model().objects.filter(pk__in=user_ids).order_by("pk"))
    per_round = params["requests"]
    # The one made through the services takes the 200 duplicates; the copies the load.
    storm_payment, *payments = _payments(
        procedure, residents, per_round * (params["rounds"] + 1) + 1
    )
    context.log(f"{len(payments):,} pending payments ready")
    pending = iter(payments)
    outcomes: dict[str, list] = {"baseline": [], "candidate": []}
    _purge(context)

    with gunicorn(context, workers=params["workers"], name="b6-gunicorn") as server:

        def baseline() -> float:
            # The same kind of body (a fresh signed event), parsed by a bare view.
            requests = [
                load.Request(
                    "POST", "/bench/baseline/parse/", r.body, {"Content-Type": "application/json"}
                )
                for r in (signed_request(payments[0]) for _ in range(per_round))
            ]
            outcome = load.run(
                server.host, server.port, requests, concurrency=params["concurrency"]
            )
            outcomes["baseline"].append(outcome)
            return outcome.throughput

        def candidate() -> float:
            requests = [signed_request(next(pending)) for _ in range(per_round)]
            outcome = load.run(
                server.host, server.port, requests, concurrency=params["concurrency"]
            )
            outcomes["candidate"].append(outcome)
            return outcome.throughput

        base, cand = alternate(params["rounds"], baseline, candidate)
        queued, messages = _queued(context)
        _purge(context)

        # 200 deliveries of one event at once.
        storm = signed_request(storm_payment, event_id=f"evt_storm_{secrets.token_hex(6)}")
        events_before = AuditEvent.objects.filter(action="payments.succeeded").count()
        answers: list[bytes] = []
        duplicates = params["duplicates"]

        def deliver_storm() -> None:
            import threading

            barrier = threading.Barrier(duplicates)
            lock = threading.Lock()

            def one() -> None:
                barrier.wait()
                try:
                    status, body = load.send(server.host, server.port, storm)
                except OSError as error:
                    status, body = 0, repr(error).encode()
                with lock:
                    answers.append((status, body))

            threads = [threading.Thread(target=one, daemon=True) for _ in range(duplicates)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(180)

        deliver_storm()
        storm_tasks = _settlement_tasks(context)
    _purge(context)

    applied = sum(o.count for o in outcomes["candidate"])
    result.comparisons.append(
        Comparison(
            name="throughput, concurrent deliveries",
            baseline_label="bare view parsing the body",
            candidate_label=f"POST /api/v1/payments/webhooks/{PROVIDER}/",
            unit="req/s",
            baseline=base,
            candidate=cand,
            higher_is_better=True,
            target=0.6,
        )
    )
    succeeded = Payment.objects.filter(pk__in=[p.pk for p in payments], status="succeeded")
    result.checks.append(
        Check(
            "every delivery answered 200 and applied (one settlement task each, no other message)",
            all(o.all_status(200) for o in outcomes["baseline"] + outcomes["candidate"])
            and queued == applied == messages,
            "; ".join(f for o in outcomes["baseline"] + outcomes["candidate"] for f in o.failures)[
                :500
            ]
            or f"{applied} deliveries, {queued} settlement tasks ({messages} messages), "
            f"{succeeded.count()} payments succeeded",
        )
    )

    # The workflow step, as the worker would run it for each queued task.
    moved = [payment_settlement_dispatch(payment_id=storm_payment.pk) for _ in range(storm_tasks)]
    storm_payment.refresh_from_db()
    statuses = sorted({status for status, _ in answers})
    parsed = [json.loads(body).get("outcome") for status, body in answers if status == 200]
    audit = AuditEvent.objects.filter(action="payments.succeeded").count() - events_before
    recorded = WebhookEvent.objects.filter(event_id=json.loads(storm.body)["id"]).count()
    from applications.models import Application

    application = Application.objects.get(pk=storm_payment.subject_id)
    settled_events = application.events.filter(kind="payment_settled").count()
    one_effect = (
        statuses == [200]
        and parsed.count("applied") == 1
        and parsed.count("duplicate") == duplicates - 1
        and storm_payment.status == "succeeded"
        and audit == 1
        and recorded == 1
        and storm_tasks == 1
        and moved == [True]
        and settled_events == 1
    )
    result.checks.append(
        Check(
            f"{duplicates} concurrent duplicates give exactly one effect",
            one_effect,
            f"statuses {statuses}, {parsed.count('applied')} applied, "
            f"{parsed.count('duplicate')} duplicates; payment {storm_payment.status}; "
            f"{audit} audit event, {recorded} webhook record, {storm_tasks} settlement task; "
            f"application {application.status} with {settled_events} payment_settled event",
        )
    )
    result.notes.update(
        workers=params["workers"],
        concurrency=params["concurrency"],
        requests_per_round=per_round,
        duplicates=duplicates,
        body_bytes=len(storm.body),
    )
    return result


BENCHMARK = Benchmark(
    id="B6",
    title="Payment webhooks under gunicorn",
    target="throughput >= 0.6x a bare view parsing the same body; "
    "200 concurrent duplicates give exactly one effect",
    run=run,
    full={
        "rounds": 7,
        "requests": 300,
        "residents": 50,
        "workers": 2 * (os.cpu_count() or 1),
        "concurrency": 8,
        "duplicates": 200,
    },
    small={
        "rounds": 2,
        "requests": 10,
        "residents": 4,
        "workers": 2,
        "concurrency": 4,
        "duplicates": 200,
    },
)
