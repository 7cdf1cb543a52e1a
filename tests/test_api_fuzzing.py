"""The API under fuzzing (issue 9).

schemathesis reads the OpenAPI schema the platform serves at /api/schema/ and
generates requests for every operation from it, valid and invalid, with
Hypothesis. They go over HTTP to a live server, as each role: anonymous, a
resident who owns applications, a clerk, an approver, a department admin and an
auditor (staff with tokens issued against a one-time code, as the API requires).
Every answer must pass these checks:

- not a server error (no 5xx);
- a status code the schema documents for that operation;
- a content type the schema documents for that status;
- a body that matches the documented schema (errors too: core/api/schema.py).

Objects exist before the fuzzing starts (applications in each state, an attached
file, a receipt, a payment, a draft version, an exemption), and part of the
generated requests address them by their real ids, so object endpoints are fuzzed
past their 404. Each operation gets a few examples as every role, and more as the
role that works with it. The examples are derandomized, so a run is reproducible,
and there is no shrinking, so a failing run stays short: each failure prints a
curl command that repeats it.
"""

from __future__ import annotations

import itertools
import os
import re
from collections import Counter
from dataclasses import dataclass

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import Role
from applications import services as application_services
from payments.services.start import payment_start
from procedures.services import exemption_request, procedure_draft
from tests.applications.casework_setup import PDF, City, file_application, resident, staff
from tests.factories import MY_NUMBER, PASSWORD, confirmed_totp, current_code, publish_procedure
from tests.payments.conftest import definition as fee_definition

pytestmark = pytest.mark.django_db(transaction=True)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Examples per operation: as the role that works with it, and as everyone else
# (who should be refused, in a documented way). About 10 s per role in all.
# bin/fuzz multiplies the examples and scenarios for a long run (FUZZ_SCALE).
SCALE = max(1, int(os.environ.get("FUZZ_SCALE", "1")))
FOCUS_EXAMPLES = 8 * SCALE
OTHER_EXAMPLES = 1 * SCALE

# Where each role does its work (path prefixes under /api/v1/).
FOCUS = {
    "anonymous": ("procedures/", "postal-codes/", "schemas/", "open-data/", "auth/token/"),
    "resident": ("applications/", "payments/", "auth/", "procedures/"),
    # A resident filing for someone else (a parent for a child, an agent).
    "proxy_filer": ("applications/", "payments/"),
    "clerk": ("queue/", "payments/"),
    "approver": ("queue/", "payments/"),
    "department_admin": ("manage/", "queue/", "exemptions/"),
    "auditor": ("digitization/", "exemptions/", "payments/reconciliation/", "open-data/"),
    "platform_admin": ("manage/", "digitization/audit", "auth/"),
}

# Not fuzzed: what random requests cannot meaningfully reach.
SKIPPED = {
    # Signed by the payment provider with an HMAC over the body (and a timestamp):
    # every generated request fails the signature check before anything else runs.
    # tests/payments/test_webhooks.py covers bad signatures, replays and bodies.
    "POST /api/v1/payments/webhooks/{provider}/",
}


@dataclass
class World:
    tokens: dict[str, str | None]
    known: dict[str, list]


def _token(base_url: str, user, *, staff_member: bool) -> str:
    """A bearer token through the API, as a client gets one (staff: with a code)."""
    body = {"email": user.email, "password": PASSWORD}
    if staff_member:
        body["otp"] = current_code(confirmed_totp(user))
    response = requests.post(f"{base_url}/api/v1/auth/token/", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["token"]


def build_world(base_url: str) -> World:
    city = City()
    owner = resident("申請 太郎")
    other = resident("他人 次郎")
    submitted = file_application(city.permit, owner, files=(("plan.pdf", PDF),))
    others = file_application(city.permit, other)
    draft = application_services.application_start(actor=owner, procedure=city.permit)
    application_services.application_save_step(
        actor=owner,
        application=draft,
        step_key="applicant",
        answers={"full_name": owner.display_name, "my_number": MY_NUMBER},
    )
    fee_procedure = publish_procedure(
        code="shop-permit", definition=fee_definition(), organization=city.health
    )
    unpaid = application_services.application_start(actor=owner, procedure=fee_procedure)
    application_services.application_save_step(
        actor=owner,
        application=unpaid,
        step_key="applicant",
        answers={"full_name": owner.display_name, "my_number": MY_NUMBER},
    )
    application_services.application_save_step(
        actor=owner, application=unpaid, step_key="details", answers={"purpose": "開業"}
    )
    application_services.application_submit(actor=owner, application=unpaid, declaration=True)
    payment, _created = payment_start(
        actor=owner, subject_kind="application", subject_id=unpaid.pk, method="card"
    )
    procedure_draft(actor=city.supervisor, procedure=city.permit)
    exemption = exemption_request(
        actor=city.supervisor,
        procedure=city.permit,
        principle="paperless",
        reason="原本の提出が法律で定められている",
        within_city_discretion=False,
    )
    auditor = staff(city.city, Role.AUDITOR, "監査 五郎")
    platform_admin = staff(city.city, Role.SYSTEM_ADMIN, "基盤 六郎")
    proxy = resident("代理 七子")
    on_behalf = file_application(
        city.permit, proxy, on_behalf_of_name="代理 八郎", on_behalf_of_relationship="子"
    )
    proxy_draft = application_services.application_start(
        actor=proxy,
        procedure=city.permit,
        on_behalf_of_name="代理 八郎",
        on_behalf_of_relationship="子",
    )
    tokens = {
        "anonymous": None,
        "resident": _token(base_url, owner, staff_member=False),
        "clerk": _token(base_url, city.clerk, staff_member=True),
        "approver": _token(base_url, city.approver, staff_member=True),
        "department_admin": _token(base_url, city.supervisor, staff_member=True),
        "auditor": _token(base_url, auditor, staff_member=True),
        "proxy_filer": _token(base_url, proxy, staff_member=False),
        "platform_admin": _token(base_url, platform_admin, staff_member=True),
    }
    known = {
        "id": [submitted.pk, draft.pk, unpaid.pk, others.pk, on_behalf.pk, proxy_draft.pk],
        "exemption:id": [exemption.pk],
        "public_id": [a.public_id for a in submitted.attachments.all()],
        "payment:public_id": [str(payment.public_id)],
        "document_id": list(submitted.documents.values_list("pk", flat=True)),
        "code": ["health-permit", "shop-permit"],
        "postal:code": ["1000001"],
        "number": [1, 2],
        "step_key": ["applicant", "details"],
    }
    return World(tokens=tokens, known=known)


def _known_path_parameters(operation, world: World) -> list[dict]:
    """Path parameters naming objects that exist (at most six combinations)."""
    names = [parameter.name for parameter in operation.path_parameters]
    # A token_key is never given: revoking the fuzzer's own token would end the run.
    if not names or "token_key" in names:
        return []
    resource = operation.path.removeprefix("/api/v1/").split("/")[0]
    qualified = {"exemptions": "exemption", "payments": "payment", "postal-codes": "postal"}
    choices = []
    for name in names:
        values = world.known.get(f"{qualified.get(resource)}:{name}") or world.known.get(name)
        if not values:
            return []
        choices.append(values)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*choices)][:6]


def _fuzz(
    operation, *, base_url: str, headers: dict, world: World, examples: int, statuses: Counter
) -> None:
    strategies = [
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    ]
    strategies += [
        operation.as_strategy(path_parameters=known)
        for known in _known_path_parameters(operation, world)
    ]

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(strategies))
    def run(case):
        # No keep-alive session: the live server's keep-alive answers wait for
        # delayed ACKs (about 40 ms a request); a fresh connection does not.
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS, headers=headers)

    run()


@pytest.mark.parametrize("role", list(FOCUS))
def test_every_operation_answers_as_its_schema_says_for_each_role(live_server, role):
    world = build_world(live_server.url)
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/?format=json")
    headers = {"Accept-Language": "en"}
    if world.tokens[role]:
        headers["Authorization"] = f"Bearer {world.tokens[role]}"

    failures, fuzzed, statuses = [], 0, Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label in SKIPPED:
            continue
        focused = operation.path.removeprefix("/api/v1/").startswith(FOCUS[role])
        try:
            _fuzz(
                operation,
                base_url=live_server.url,
                headers=headers,
                world=world,
                examples=FOCUS_EXAMPLES if focused else OTHER_EXAMPLES,
                statuses=statuses,
            )
        except (Exception, FailureGroup) as failure:
            failures.append(f"{operation.label} as {role}: {failure}")
        fuzzed += 1

    print(f"{role}: {fuzzed} operations, answers by status {sorted(statuses.items())}")
    assert fuzzed > 70, "the schema lost its operations"
    assert not failures, "\n\n".join(failures)


@pytest.mark.django_db
def test_every_error_the_schema_documents_has_the_error_shape(client):
    schema = client.get("/api/schema/?format=json").json()
    errors = {
        f"{method.upper()} {path} {code}": response
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        for code, response in operation["responses"].items()
        if code.startswith("4")
    }
    assert len(errors) > 200
    for name, response in errors.items():
        body = response["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/Error"}, name
    manage = schema["paths"]["/api/v1/manage/procedures/{code}/"]["patch"]["responses"]
    assert {"400", "401", "403", "404"} <= set(manage)


# The stateful run: schemathesis links operations by what their responses hold
# (inferred from the response schemas and path parameters: the id a POST returns
# feeds the GET, PUT and POST of that object), so sequences such as "start a
# draft, save a step, check it, submit it, read it, withdraw it" run as each role.
# Revoking a token is left out: a sequence "list my tokens, revoke the first"
# would revoke the one the run uses (tests/accounts/test_api_tokens.py covers it).
STATEFUL_EXCLUDED = "/api/v1/auth/tokens/{token_key}/"
STATEFUL_SCENARIOS = 15 * SCALE
STATEFUL_STEPS = 6


# The approver's sequences are the clerk's (the same operations, other rights). The
# platform admin's operations (procedures by code) give schemathesis no link to
# infer; the stateless run above covers them with real codes.
@pytest.mark.parametrize(
    "role", ["resident", "proxy_filer", "clerk", "department_admin", "auditor"]
)
def test_linked_operations_answer_as_the_schema_says_for_each_role(live_server, role):
    world = build_world(live_server.url)
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/?format=json")
    # Sequences stay among the operations the role works with, so they go deep.
    focus = "|".join(re.escape(f"/api/v1/{prefix}") for prefix in FOCUS[role])
    schema = schema.include(path_regex=f"^({focus})")
    schema = schema.exclude(path=STATEFUL_EXCLUDED).exclude(name=list(SKIPPED))
    headers = {"Accept-Language": "en", "Authorization": f"Bearer {world.tokens[role]}"}
    steps: Counter = Counter()

    class Machine(schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"base_url": live_server.url, "headers": headers, "timeout": 30}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            steps[(case.operation.label, response.status_code)] += 1
            case.validate_response(response, checks=CHECKS, headers=headers)

    Machine.run(
        settings=settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
    )
    linked = [label for (label, status), _count in steps.items() if status < 400]
    print(f"{role}: {sum(steps.values())} linked calls, {sorted(steps.items())}")
    assert linked, "no linked call succeeded: the links were lost"
