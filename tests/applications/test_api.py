import re
import secrets

import pytest
from django.db import connection
from knox.models import AuthToken
from rest_framework.test import APIClient
from stdnum.jp import in_ as individual_number

from applications.models import Application, ApplicationStatus
from procedures.services import procedure_create, version_publish
from tests.factories import MY_NUMBER, UserFactory, applicant_step, valid_definition

pytestmark = pytest.mark.django_db

APPLICATIONS = "/api/v1/applications/"
# What a submission answers (the detail is GET applications/{id}/).
SUBMITTED_KEYS = {
    "id",
    "reference",
    "status",
    "status_label",
    "submitted_at",
    "revision",
    "fee_amount",
    "due_date",
    "submission_digest",
    "signature",
    "next_step",
    "links",
}
REFERENCE = re.compile(r"^[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]$")
assert individual_number.is_valid(MY_NUMBER)
WRONG_CHECK_DIGIT = "123456789011"
assert not individual_number.is_valid(WRONG_CHECK_DIGIT)


def _form() -> dict:
    return {
        "steps": [
            applicant_step(),
            {
                "key": "request",
                "title": {"ja": "請求内容", "en": "Request"},
                "fields": [
                    {
                        "key": "purpose",
                        "type": "choice",
                        "label": {"ja": "使用目的", "en": "Purpose"},
                        "required": True,
                        "choices": [
                            {"value": "employment", "label": {"ja": "就職", "en": "Employment"}},
                            {"value": "other", "label": {"ja": "その他", "en": "Other"}},
                        ],
                    },
                    {
                        "key": "purpose_detail",
                        "type": "text",
                        "label": {"ja": "具体的に", "en": "Details"},
                        "required": True,
                        "condition": {"field": "purpose", "op": "equals", "value": "other"},
                    },
                ],
            },
        ]
    }


def _client(user=None) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        _instance, token = AuthToken.objects.create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    return client


@pytest.fixture
def procedure(government):
    definition = valid_definition()
    definition["form"] = _form()
    created = procedure_create(
        actor=None,
        organization=government,
        code="residence-certificate",
        definition=definition,
        title_ja="住民票の写しの交付",
        title_en="Copy of residence record",
        category="residence",
        filer="individual",
        identity_level="email_verified",
        processing_days=5,
    )
    version_publish(actor=None, version=created.versions.get())
    return created


@pytest.fixture
def resident(db):
    return UserFactory()


@pytest.fixture
def api(resident):
    return _client(resident)


@pytest.fixture
def other_api(db):
    return _client(UserFactory())


def _error(response):
    return response.json()["error"]


def _start(api, **extra):
    response = api.post(
        APPLICATIONS, {"procedure": "residence-certificate", **extra}, format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()


def _url(application_id, action=""):
    return f"{APPLICATIONS}{application_id}/{action}"


def _step(api, application_id, step, answers):
    return api.put(_url(application_id, f"steps/{step}/"), {"answers": answers}, format="json")


def _complete(api, application_id):
    assert _step(
        api, application_id, "applicant", {"full_name": "山田 太郎", "my_number": MY_NUMBER}
    ).json()["valid"]
    assert _step(api, application_id, "request", {"purpose": "employment"}).json()["valid"]


def _submitted(api, procedure):
    application = _start(api)
    _complete(api, application["id"])
    response = api.post(_url(application["id"], "submit/"), {"declaration": True}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def _raw_row(application_id) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT answers::text || data::text FROM applications_application WHERE id = %s",
            [application_id],
        )
        return cursor.fetchone()[0]


# --- Filing ---------------------------------------------------------------------------------


def test_a_resident_fills_in_and_submits_an_application_step_by_step(api, resident, procedure):
    draft = _start(api)
    assert draft["status"] == "draft"
    assert draft["status_label"] == "Draft"
    assert draft["reference"] == ""
    assert draft["procedure"] == {
        "code": "residence-certificate",
        "title": "Copy of residence record",
    }
    assert draft["version"] == 1
    assert draft["current_step"] == "applicant"
    assert draft["answers"] == {}
    assert draft["data"] is None
    assert draft["on_behalf_of"] is None
    assert [step["key"] for step in draft["form"]["steps"]] == ["applicant", "request"]
    assert [event["kind"] for event in draft["events"]] == ["draft_started"]
    application_id = draft["id"]

    # An invalid answer is reported, and still kept: a draft loses nothing.
    invalid = _step(
        api, application_id, "applicant", {"full_name": "山田 太郎", "my_number": WRONG_CHECK_DIGIT}
    )
    assert invalid.status_code == 200
    assert invalid.json()["valid"] is False
    assert list(invalid.json()["errors"]) == ["my_number"]
    kept = api.get(_url(application_id)).json()
    assert kept["answers"]["full_name"] == "山田 太郎"
    assert kept["answers"]["my_number"] == "********9011"

    fixed = _step(
        api, application_id, "applicant", {"full_name": "山田 太郎", "my_number": MY_NUMBER}
    )
    assert fixed.json() == {"valid": True, "errors": {}}

    # The detail is asked for only when the purpose is "other".
    other = _step(api, application_id, "request", {"purpose": "other"})
    assert other.json() == {
        "valid": False,
        "errors": {"purpose_detail": ["This field is required."]},
    }
    assert not api.get(_url(application_id, "check/")).json()["valid"]
    chosen = _step(api, application_id, "request", {"purpose": "other", "purpose_detail": "留学"})
    assert chosen.json()["valid"] is True

    check = api.get(_url(application_id, "check/"))
    assert check.status_code == 200
    assert check.json() == {"valid": True, "errors": {}}

    submitted = api.post(_url(application_id, "submit/"), {"declaration": True}, format="json")

    assert submitted.status_code == 200, submitted.json()
    # A short answer: the filing's reference, status, fee and signature, and links.
    body = submitted.json()
    assert set(body) == SUBMITTED_KEYS
    assert body["id"] == application_id
    # The 400 yen fee is due before review: the filing waits for payment first.
    assert body["status"] == "payment_pending"
    assert body["status_label"] == "Waiting for payment"
    assert body["fee_amount"] == 400
    assert body["next_step"]["code"] == "pay_fee"
    assert body["due_date"] is None  # the processing period starts once it is paid
    assert body["revision"] == 1
    assert REFERENCE.match(body["reference"])
    assert body["submitted_at"]
    assert re.fullmatch(r"[0-9a-f]{64}", body["submission_digest"])
    assert body["signature"]
    assert body["links"] == {
        "detail": _url(application_id),
        "page": f"/applications/{application_id}/",
    }

    # The detail is one GET away.
    detail = api.get(body["links"]["detail"]).json()
    for key in SUBMITTED_KEYS - {"links", "next_step"}:
        assert detail[key] == body[key], key
    assert detail["next_step"] == body["next_step"]
    assert [revision["digest"] for revision in detail["revisions"]] == [body["submission_digest"]]
    assert detail["data"] == {
        "full_name": "山田 太郎",
        "my_number": "********9018",
        "purpose": "other",
        "purpose_detail": "留学",
    }
    assert [event["kind"] for event in detail["events"]] == ["draft_started", "submitted"]
    assert detail["events"][1]["from_status"] == "draft"
    assert detail["events"][1]["to_status"] == "payment_pending"

    # A double click, a retry: the same application, and only one filing.
    again = api.post(_url(application_id, "submit/"), {"declaration": True}, format="json")
    assert again.status_code == 200
    assert again.json() == body
    assert (
        Application.objects.filter(
            applicant=resident, status=ApplicationStatus.PAYMENT_PENDING
        ).count()
        == 1
    )

    listed = api.get(APPLICATIONS).json()
    assert listed["count"] == 1
    assert listed["results"][0] == {
        "id": application_id,
        "reference": body["reference"],
        "procedure": {"code": "residence-certificate", "title": "Copy of residence record"},
        "version": 1,
        "status": "payment_pending",
        "status_label": "Waiting for payment",
        "current_step": "request",
        "created_at": detail["created_at"],
        "updated_at": detail["updated_at"],
        "submitted_at": body["submitted_at"],
    }


def test_a_hidden_conditional_answer_is_not_filed(api, procedure):
    application_id = _start(api)["id"]
    _step(api, application_id, "applicant", {"full_name": "山田 太郎", "my_number": MY_NUMBER})
    _step(api, application_id, "request", {"purpose": "other", "purpose_detail": "留学"})
    _step(api, application_id, "request", {"purpose": "employment", "purpose_detail": "留学"})

    api.post(_url(application_id, "submit/"), {"declaration": True}, format="json")

    assert api.get(_url(application_id)).json()["data"] == {
        "full_name": "山田 太郎",
        "my_number": "********9018",
        "purpose": "employment",
    }


def test_submitting_an_incomplete_draft_lists_what_is_missing(api, procedure):
    application_id = _start(api)["id"]
    _step(api, application_id, "applicant", {"full_name": "", "my_number": ""})

    response = api.post(_url(application_id, "submit/"), {"declaration": True}, format="json")

    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "validation_failed"
    assert set(error["details"]) == {"full_name", "my_number", "purpose"}
    assert error["details"]["full_name"] == ["This field is required."]
    assert api.get(_url(application_id)).json()["status"] == "draft"


def test_submitting_needs_the_declaration(api, procedure):
    application_id = _start(api)["id"]
    _complete(api, application_id)

    refused = api.post(_url(application_id, "submit/"), {"declaration": False}, format="json")
    missing = api.post(_url(application_id, "submit/"), {}, format="json")

    for response in (refused, missing):
        assert response.status_code == 400
        assert _error(response)["code"] == "validation_failed"
        assert "declaration" in _error(response)["details"]
    assert Application.objects.get(pk=application_id).status == ApplicationStatus.DRAFT


def test_a_submission_takes_a_fixed_number_of_queries_and_publishes_one_task(
    api, procedure, django_assert_num_queries, django_capture_on_commit_callbacks
):
    _submitted(api, procedure)  # the month's running total exists from now on
    application_id = _start(api)["id"]
    _complete(api, application_id)

    # The token and its user (1); in a savepoint here, a transaction in production
    # (2): the draft locked with its procedure and version (1), the verified
    # identity (1), whether the fee is settled already (1, only for a fee due
    # before review), the signed revision (1), the application (1), the timeline
    # event (1), the running total (1), the audit chain head locked (1), the audit
    # row written and the head advanced (1), the procedure's delivery targets (1,
    # deliveries/services.py). No query for the answer.
    with (
        django_assert_num_queries(13),
        django_capture_on_commit_callbacks() as callbacks,
    ):
        response = api.post(_url(application_id, "submit/"), {"declaration": True}, format="json")

    assert response.status_code == 200, response.json()
    # Once committed: the receipt task published, the auditors' kept filings outdated.
    assert len(callbacks) == 2


def test_the_schema_documents_the_short_answer_of_a_submission(db):
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    (path,) = [path for path in schema["paths"] if path.endswith("/submit/")]
    responses = schema["paths"][path]["post"]["responses"]
    reference = responses["200"]["content"]["application/json"]["schema"]["$ref"]
    submitted = schema["components"]["schemas"][reference.rsplit("/", 1)[1]]

    assert set(submitted["properties"]) == SUBMITTED_KEYS
    assert set(submitted["required"]) == SUBMITTED_KEYS
    assert {"200", "400", "403", "404"} <= set(responses)


def test_a_reference_number_already_taken_is_drawn_again(api, resident, procedure, monkeypatch):
    # The random source (not the platform's code) draws a taken number first.
    earlier = Application.objects.get(pk=_submitted(api, procedure)["id"])
    taken = earlier.reference.replace("-", "")[:8]
    draws, draw = iter(taken + "ABCDEFGH"), secrets.choice
    monkeypatch.setattr(secrets, "choice", lambda sequence: next(draws, None) or draw(sequence))
    application_id = _start(api)["id"]
    _complete(api, application_id)

    response = api.post(_url(application_id, "submit/"), {"declaration": True}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["reference"] == "ABCD-EFGH-" + response.json()["reference"][-1]
    filed = Application.objects.get(pk=application_id)
    assert filed.revisions.count() == 1
    assert filed.events.filter(kind="submitted").count() == 1
    assert Application.objects.filter(reference=earlier.reference).count() == 1


def test_the_individual_number_is_masked_everywhere_and_stored_encrypted(api, procedure):
    responses = []
    draft = api.post(APPLICATIONS, {"procedure": "residence-certificate"}, format="json")
    responses.append(draft)
    application_id = draft.json()["id"]
    responses.append(
        _step(
            api,
            application_id,
            "applicant",
            {"full_name": "山田 太郎", "my_number": MY_NUMBER},
        )
    )
    responses.append(_step(api, application_id, "request", {"purpose": "employment"}))
    responses.append(api.get(_url(application_id)))
    responses.append(api.get(_url(application_id, "check/")))
    responses.append(api.get(APPLICATIONS))
    assert MY_NUMBER not in _raw_row(application_id)

    responses.append(
        api.post(_url(application_id, "submit/"), {"declaration": True}, format="json")
    )
    responses.append(
        api.post(_url(application_id, "submit/"), {"declaration": True}, format="json")
    )
    responses.append(api.get(_url(application_id)))
    responses.append(
        api.post(_url(application_id, "withdraw/"), {"reason": "不要になった"}, format="json")
    )

    for response in responses:
        assert response.status_code in (200, 201), response.content
        assert MY_NUMBER.encode() not in response.content
        assert MY_NUMBER[:8].encode() not in response.content
    detail = responses[-1].json()
    assert detail["answers"]["my_number"] == "********9018"
    assert detail["data"]["my_number"] == "********9018"

    stored = _raw_row(application_id)
    assert MY_NUMBER not in stored
    assert "encrypted" in stored
    application = Application.objects.get(pk=application_id)
    assert application.answers["my_number"] != MY_NUMBER
    assert application.data["my_number"] != MY_NUMBER


def test_filing_on_behalf_of_someone_needs_the_relationship(api, procedure):
    missing = api.post(
        APPLICATIONS,
        {"procedure": "residence-certificate", "on_behalf_of_name": "山田 花子"},
        format="json",
    )
    assert missing.status_code == 400
    assert "on_behalf_of_relationship" in _error(missing)["details"]

    draft = _start(api, on_behalf_of_name="山田 花子", on_behalf_of_relationship="母")
    assert draft["on_behalf_of"] == {"name": "山田 花子", "relationship": "母"}


@pytest.mark.parametrize("code", ["no-such-procedure", "only-a-draft", "retired-one"])
def test_only_published_procedures_can_be_applied_for(api, government, procedure, code):
    procedure_create(
        actor=None,
        organization=government,
        code="only-a-draft",
        definition=valid_definition(),
        title_ja="下書き",
        category="other",
        filer="individual",
        processing_days=5,
    )
    retired = procedure_create(
        actor=None,
        organization=government,
        code="retired-one",
        definition=valid_definition(),
        title_ja="廃止",
        category="other",
        filer="individual",
        processing_days=5,
    )
    version_publish(actor=None, version=retired.versions.get())
    retired.status = "retired"
    retired.save(update_fields=["status"])

    response = api.post(APPLICATIONS, {"procedure": code}, format="json")

    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"
    assert not Application.objects.exists()


def test_steps_are_checked_and_only_drafts_are_edited(api, procedure):
    application_id = _start(api)["id"]

    unknown = _step(api, application_id, "no_such_step", {"x": 1})
    assert unknown.status_code == 404
    assert _error(unknown)["code"] == "not_found"

    not_an_object = api.put(
        _url(application_id, "steps/applicant/"), {"answers": ["x"]}, format="json"
    )
    assert not_an_object.status_code == 400
    assert "answers" in _error(not_an_object)["details"]

    _complete(api, application_id)
    api.post(_url(application_id, "submit/"), {"declaration": True}, format="json")

    late = _step(api, application_id, "applicant", {"full_name": "別人"})
    assert late.status_code == 409
    assert _error(late)["code"] == "not_a_draft"
    assert Application.objects.get(pk=application_id).data["full_name"] == "山田 太郎"


def test_a_resident_deletes_a_draft_but_not_a_filing(api, procedure):
    draft_id = _start(api)["id"]
    deleted = api.delete(_url(draft_id))
    assert deleted.status_code == 204
    assert api.get(_url(draft_id)).status_code == 404

    filed = _submitted(api, procedure)
    refused = api.delete(_url(filed["id"]))
    assert refused.status_code == 409
    assert _error(refused)["code"] == "not_a_draft"
    assert Application.objects.filter(pk=filed["id"]).exists()


# --- Withdrawing ----------------------------------------------------------------------------


def test_a_resident_withdraws_a_submitted_application_with_a_reason(api, procedure):
    filed = _submitted(api, procedure)

    without_reason = api.post(_url(filed["id"], "withdraw/"), {"reason": " "}, format="json")
    assert without_reason.status_code == 400
    assert "reason" in _error(without_reason)["details"]

    response = api.post(
        _url(filed["id"], "withdraw/"), {"reason": "別の窓口で取得しました"}, format="json"
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "withdrawn"
    assert body["status_label"] == "Withdrawn"
    assert body["withdrawn_reason"] == "別の窓口で取得しました"
    assert body["can_withdraw"] is False
    assert body["reference"] == filed["reference"]
    last = body["events"][-1]
    assert last["kind"] == "withdrawn"
    assert (last["from_status"], last["to_status"]) == ("payment_pending", "withdrawn")
    assert last["message"] == "別の窓口で取得しました"
    assert api.get(_url(filed["id"])).json()["events"] == body["events"]


def test_a_draft_cannot_be_withdrawn(api, procedure):
    application_id = _start(api)["id"]

    response = api.post(_url(application_id, "withdraw/"), {"reason": "やめた"}, format="json")

    assert response.status_code == 409
    assert _error(response)["code"] == "cannot_withdraw"
    assert Application.objects.get(pk=application_id).status == ApplicationStatus.DRAFT


# --- Who sees what --------------------------------------------------------------------------


OBJECT_REQUESTS = [
    ("get", "", None),
    ("get", "check/", None),
    ("put", "steps/applicant/", {"answers": {"full_name": "乗っ取り"}}),
    ("post", "submit/", {"declaration": True}),
    ("post", "withdraw/", {"reason": "いたずら"}),
    ("delete", "", None),
]


@pytest.mark.parametrize("filed", [False, True], ids=["draft", "submitted"])
@pytest.mark.parametrize(("method", "action", "body"), OBJECT_REQUESTS)
def test_another_residents_application_does_not_exist_for_them(
    api, other_api, procedure, filed, method, action, body
):
    application = _submitted(api, procedure) if filed else _start(api)
    before = Application.objects.get(pk=application["id"])

    response = getattr(other_api, method)(_url(application["id"], action), body, format="json")

    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"
    after = Application.objects.get(pk=application["id"])
    assert (after.status, after.answers, after.updated_at) == (
        before.status,
        before.answers,
        before.updated_at,
    )
    assert other_api.get(APPLICATIONS).json()["count"] == 0


def test_an_unknown_application_is_not_found(api, procedure):
    response = api.get(_url(999999))
    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("get", APPLICATIONS, None),
        ("post", APPLICATIONS, {"procedure": "residence-certificate"}),
        ("get", f"{APPLICATIONS}1/", None),
        ("put", f"{APPLICATIONS}1/steps/applicant/", {"answers": {}}),
        ("post", f"{APPLICATIONS}1/submit/", {"declaration": True}),
        ("post", f"{APPLICATIONS}1/withdraw/", {"reason": "x"}),
        ("delete", f"{APPLICATIONS}1/", None),
    ],
)
def test_anonymous_callers_must_log_in(procedure, method, url, body):
    response = getattr(_client(), method)(url, body, format="json")
    assert response.status_code == 401
    assert _error(response)["code"] == "not_authenticated"
    assert not Application.objects.exists()


def test_the_list_is_paginated_and_its_query_count_does_not_grow(
    api, resident, procedure, django_assert_max_num_queries
):
    def drafts(count):
        for _ in range(count):
            _start(api)

    drafts(3)
    with django_assert_max_num_queries(4):
        small = api.get(APPLICATIONS)
    assert small.json()["count"] == 3

    drafts(7)
    with django_assert_max_num_queries(4):
        large = api.get(APPLICATIONS)
    assert large.json()["count"] == 10
    assert len(large.json()["results"]) == 10

    page = api.get(APPLICATIONS, {"page_size": 4, "page": 2}).json()
    assert page["count"] == 10
    assert len(page["results"]) == 4
    assert page["next"] and page["previous"]
