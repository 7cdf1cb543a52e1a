"""Who gets what: every object page and endpoint, as every role, gets exactly the
expected status. Someone else's object answers exactly like an object that does
not exist (so a 404 never tells that it exists), and the API never answers 200
to someone the page refuses."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Role
from applications.documents import receipt_issue
from payments.services.start import payment_start
from tests.applications.casework_setup import (
    PDF,
    City,
    definition,
    file_application,
    resident,
    staff,
    verified_login,
)
from tests.applications.cosign_setup import cosigned_procedure, file_cosigned
from tests.factories import PASSWORD, publish_procedure

pytestmark = pytest.mark.django_db
PERSON = {"name": "他人", "email": "someone@example.jp"}

ROLES = (
    "anonymous",
    "owner",
    "other_resident",
    "clerk",
    "approver",
    "supervisor",
    "clerk_elsewhere",
    "auditor",
)
MISSING = 999_999_999


@pytest.fixture
def world():
    city = City()
    owner = resident("申請 太郎")
    application = file_application(city.permit, owner, files=(("plan.pdf", PDF),))
    receipt = receipt_issue(application_id=application.pk)
    attachment = application.attachments.get()
    # A second filing, with a fee, and its payment started by card.
    fee_definition = definition()
    fee_definition["fee"] = {"kind": "fixed", "amount": 500, "methods": ["card"]}
    paid_procedure = publish_procedure(
        code="fee-permit", definition=fee_definition, organization=city.health
    )
    fee_filing = file_application(paid_procedure, owner)
    payment, _created = payment_start(
        actor=owner, subject_kind="application", subject_id=fee_filing.pk, method="card"
    )
    # A filing waiting for its co-signers (docs/cosignature.md).
    cosigned = file_cosigned(cosigned_procedure(city.health), owner)
    people = {
        "owner": owner,
        "other_resident": resident("他人 花子"),
        "clerk": city.clerk,
        "approver": city.approver,
        "supervisor": city.supervisor,
        "clerk_elsewhere": city.tax_clerk,
        "auditor": staff(city.city, Role.AUDITOR, "監査 五郎"),
    }
    return {
        "application": application.pk,
        "receipt": receipt.pk,
        "attachment": attachment.public_id,
        "payment": payment.public_id,
        "cosigned": cosigned.pk,
        "request": cosigned.cosignatures.get(role="guarantor").public_id,
        "people": people,
    }


def _client(world, role: str) -> Client:
    client = Client()
    if role == "anonymous":
        return client
    user = world["people"][role]
    if role in ("owner", "other_resident"):
        response = client.post("/accounts/login/", {"email": user.email, "password": PASSWORD})
        assert response.status_code == 302
    else:
        verified_login(client, user)
    return client


# path template, then the expected status per role. {a} is the application, {d}
# the receipt, {f} the attachment. "login" is the redirect to the login page.
RESIDENT_OBJECT = {
    "anonymous": "login",
    "owner": 200,
    "other_resident": 404,
    "clerk": 404,
    "approver": 404,
    "supervisor": 404,
    "clerk_elsewhere": 404,
    "auditor": 404,
}
RESIDENT_API_OBJECT = {**RESIDENT_OBJECT, "anonymous": 401}
STAFF_OBJECT = {
    "anonymous": "login",
    "owner": 404,
    "other_resident": 404,
    "clerk": 200,
    "approver": 200,
    "supervisor": 200,
    "clerk_elsewhere": 404,
    "auditor": 404,
}
# The casework API refuses callers without a reviewing role outright (403 for any
# id, so nothing leaks), before looking for the object.
STAFF_API_OBJECT = {
    **STAFF_OBJECT,
    "anonymous": 401,
    "owner": 403,
    "other_resident": 403,
    "auditor": 403,
}

BUILDER_OBJECT = {
    "anonymous": "login",
    "owner": 404,
    "other_resident": 404,
    "clerk": 404,
    "approver": 404,
    "supervisor": 200,
    "clerk_elsewhere": 404,
    "auditor": 404,
}

# The payment's page is the payer's (staff see payments on the case page); the API
# also serves the reviewers of the organization paid to, who refund through it.
PAYMENT_OBJECT = {
    "anonymous": "login",
    "owner": 200,
    "other_resident": 404,
    "clerk": 404,
    "approver": 404,
    "supervisor": 404,
    "clerk_elsewhere": 404,
    "auditor": 404,
}

# Inventory entries: the auditors', and those who report for the organization.
# People with no digitization role at all are refused outright (403, whatever the
# code); those who report for other organizations do not see the entry (404).
INVENTORY_OBJECT = {
    "anonymous": "login",
    "owner": 403,
    "other_resident": 403,
    "clerk": 200,
    "approver": 403,
    "supervisor": 200,
    "clerk_elsewhere": 404,
    "auditor": 200,
}

# The retention page and API: department admins and auditors, over their own
# organizations' procedures (what each sees is tests/applications/test_retention_pages.py).
RETENTION = {
    "anonymous": "login",
    "owner": 403,
    "other_resident": 403,
    "clerk": 403,
    "approver": 403,
    "supervisor": 200,
    "clerk_elsewhere": 403,
    "auditor": 200,
}

# A co-signer's request page answers only the browser that opened the e-mailed
# link (its token in the session): the request's id alone is nothing, for anyone.
COSIGN_REQUEST = dict.fromkeys(ROLES, 404)

MATRIX = [
    ("/applications/{c}/cosigners/guarantor/", RESIDENT_OBJECT),
    ("/cosign/requests/{r}/", COSIGN_REQUEST),
    ("/casework/retention/", RETENTION),
    ("/api/v1/retention/", {**RETENTION, "anonymous": 401}),
    ("/digitization/inventory/health-permit/", INVENTORY_OBJECT),
    ("/payments/{p}/", PAYMENT_OBJECT),
    (
        "/api/v1/payments/{p}/",
        {
            **PAYMENT_OBJECT,
            "anonymous": 401,
            "clerk": 200,
            "approver": 200,
            "supervisor": 200,
        },
    ),
    ("/manage/procedures/health-permit/", BUILDER_OBJECT),
    ("/manage/procedures/health-permit/export/", BUILDER_OBJECT),
    ("/manage/procedures/health-permit/field-preview/?type=text", BUILDER_OBJECT),
    ("/manage/procedures/health-permit/fee-example/?kind=fixed", BUILDER_OBJECT),
    (
        "/api/v1/manage/procedures/health-permit/",
        {
            **dict.fromkeys(BUILDER_OBJECT, 403),
            "anonymous": 401,
            "supervisor": 200,
            "clerk_elsewhere": 403,
        },
    ),
    ("/applications/{a}/", RESIDENT_OBJECT),
    ("/applications/{a}/attachments/{f}/", RESIDENT_OBJECT),
    ("/applications/{a}/documents/{d}/", RESIDENT_OBJECT),
    ("/api/v1/applications/{a}/", RESIDENT_API_OBJECT),
    ("/api/v1/applications/{a}/attachments/{f}/", RESIDENT_API_OBJECT),
    ("/api/v1/applications/{a}/documents/{d}/", RESIDENT_API_OBJECT),
    ("/casework/{a}/", STAFF_OBJECT),
    ("/casework/{a}/attachments/{f}/", STAFF_OBJECT),
    ("/casework/{a}/documents/{d}/", STAFF_OBJECT),
    ("/api/v1/queue/{a}/", STAFF_API_OBJECT),
    ("/api/v1/queue/{a}/notes/", STAFF_API_OBJECT),
    ("/api/v1/queue/{a}/attachments/{f}/", STAFF_API_OBJECT),
    ("/api/v1/queue/{a}/documents/{d}/", STAFF_API_OBJECT),
]


def _path(template: str, world) -> str:
    return template.format(
        a=world["application"],
        d=world["receipt"],
        f=world["attachment"],
        p=world["payment"],
        c=world["cosigned"],
        r=world["request"],
    )


def _status(response) -> int | str:
    if response.status_code == 302 and "/accounts/login/" in response["Location"]:
        return "login"
    return response.status_code


def test_every_object_endpoint_answers_each_role_as_expected(world):
    clients = {role: _client(world, role) for role in ROLES}
    wrong = []
    for template, expected in MATRIX:
        path = _path(template, world)
        for role in ROLES:
            got = _status(clients[role].get(path))
            if got != expected[role]:
                wrong.append(f"{path} as {role}: {got}, expected {expected[role]}")
    assert wrong == [], "\n".join(wrong)


def test_someone_elses_object_looks_exactly_like_a_missing_one(world):
    """For every role refused an object, asking for an id that does not exist
    gives the same status: the answer never tells that the object exists."""
    clients = {role: _client(world, role) for role in ROLES}
    leaks = []
    for template, expected in MATRIX:
        real = _path(template, world)
        missing = template.format(
            a=MISSING, d=MISSING, f="0" * 32, p="f" * 32, c=MISSING, r="0" * 32
        ).replace("health-permit", "no-such-procedure")
        for role in ROLES:
            if expected[role] == 200:
                continue
            refused, absent = _status(clients[role].get(real)), _status(clients[role].get(missing))
            if refused != absent:
                leaks.append(f"{template} as {role}: {refused} for a real one, {absent} if missing")
    assert leaks == []


def test_writes_are_refused_to_everyone_but_the_owner_or_the_reviewers(world):
    """The state-changing endpoints, as people who must not act: nothing changes."""
    from applications.models import Application, Cosignature, LegalHold
    from applications.purge import legal_hold_place

    before = Application.objects.get(pk=world["application"])
    attempts = [
        ("other_resident", "/api/v1/applications/{a}/withdraw/", {"reason": "x"}),
        ("clerk", "/api/v1/applications/{a}/withdraw/", {"reason": "x"}),
        ("other_resident", "/api/v1/queue/{a}/actions/", {"action": "claim"}),
        ("clerk_elsewhere", "/api/v1/queue/{a}/actions/", {"action": "claim"}),
        ("owner", "/api/v1/queue/{a}/actions/", {"action": "claim"}),
        ("auditor", "/api/v1/queue/{a}/actions/", {"action": "claim"}),
        ("clerk", "/api/v1/queue/{a}/assign/", {"assignee": None}),
        # Legal holds: only the department admins of the procedure.
        ("owner", "/api/v1/queue/{a}/holds/", {"reason": "x"}),
        ("clerk", "/api/v1/queue/{a}/holds/", {"reason": "x"}),
        ("approver", "/api/v1/queue/{a}/holds/", {"reason": "x"}),
        ("clerk_elsewhere", "/api/v1/queue/{a}/holds/", {"reason": "x"}),
        ("auditor", "/api/v1/queue/{a}/holds/", {"reason": "x"}),
        # Naming someone else to co-sign: the applicant only.
        ("other_resident", "/api/v1/applications/{c}/cosigners/guarantor/", PERSON),
        ("clerk", "/api/v1/applications/{c}/cosigners/guarantor/", PERSON),
        ("supervisor", "/api/v1/applications/{c}/cosigners/guarantor/", PERSON),
    ]
    for role, template, body in attempts:
        client = _client(world, role)
        response = client.post(_path(template, world), body, content_type="application/json")
        assert response.status_code in (403, 404), (role, template, response.status_code)
    # Nor through the page, nor by signing without the link.
    for role in ("other_resident", "clerk", "supervisor", "auditor"):
        client = _client(world, role)
        page = client.post(_path("/applications/{c}/cosigners/guarantor/", world), PERSON)
        sign = client.post(_path("/cosign/requests/{r}/sign/", world), {"declaration": "on"})
        assert (page.status_code, sign.status_code) == (404, 404), role
    assert not Cosignature.objects.filter(
        application_id=world["cosigned"], superseded_at__isnull=False
    ).exists()
    assert not Cosignature.objects.filter(status="signed").exists()
    after = Application.objects.get(pk=world["application"])
    assert (after.status, after.assignee_id) == (before.status, before.assignee_id)
    assert not LegalHold.objects.exists()
    # Releasing a department admin's hold: nobody else.
    hold = legal_hold_place(
        actor=world["people"]["supervisor"], application=after, reason="訴訟係属中"
    )
    for role in ("owner", "clerk", "approver", "clerk_elsewhere", "auditor"):
        response = _client(world, role).post(
            f"/api/v1/retention/holds/{hold.pk}/release/",
            {"reason": "x"},
            content_type="application/json",
        )
        assert response.status_code in (403, 404), (role, response.status_code)
    hold.refresh_from_db()
    assert hold.released_at is None
