"""The schema tells the truth (issue 18): what the server answers at its edges is
what /api/schema/ says it answers.

- an unsupported method is 405 with the error body and an Allow header, before
  any authentication (not 401 or 403);
- page and page_size outside their documented ranges, not numbers, or given twice,
  are 400 validation_failed, not silently replaced by the defaults;
- a body over the upload limit is 413 with the error body;
- the schema declares the Idempotency-Key header where the server requires it,
  the page parameters with their ranges, and 413, 414 and 429 where they can happen.
"""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.models import Role
from applications.casework import queue as queue_pages
from tests.applications.casework_setup import City, resident, staff
from tests.factories import UserFactory, confirmed_totp

pytestmark = pytest.mark.django_db


def _client(user=None, *, staff_member: bool = False) -> APIClient:
    client = APIClient()
    headers = {"HTTP_ACCEPT_LANGUAGE": "en"}
    if user is not None:
        if staff_member:
            confirmed_totp(user)
        _instance, token = AuthToken.objects.create(user=user)
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    client.credentials(**headers)
    return client


def _error_code(response) -> str:
    assert response["Content-Type"].startswith("application/json"), response.content
    return response.json()["error"]["code"]


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def _operations(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


# --- 405 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("trace", "/api/v1/applications/"),
        ("patch", "/api/v1/applications/"),
        ("put", "/api/v1/auth/tokens/"),
        ("trace", "/api/v1/queue/"),
        ("delete", "/api/v1/procedures/"),
        ("patch", "/api/v1/digitization/summary/"),
    ],
)
def test_an_unsupported_method_is_405_with_the_error_body_even_without_credentials(method, path):
    response = getattr(_client(), method)(path)
    assert response.status_code == 405, response.content
    assert _error_code(response) == "method_not_allowed"
    assert "GET" in response["Allow"]
    assert method.upper() not in response["Allow"]


def test_an_unsupported_method_is_405_with_a_bad_token_too():
    client = APIClient(HTTP_AUTHORIZATION="Bearer cp_not-a-real-token", HTTP_ACCEPT_LANGUAGE="en")
    response = client.trace("/api/v1/applications/")
    assert response.status_code == 405, response.content
    assert _error_code(response) == "method_not_allowed"


def test_a_supported_method_without_credentials_is_still_401():
    response = _client().get("/api/v1/applications/")
    assert response.status_code == 401
    assert _error_code(response) == "not_authenticated"


# --- Pagination ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "page_size=null",
        "page_size=0",
        "page_size=-1",
        f"page_size={settings.REST_FRAMEWORK['PAGE_SIZE'] * 100}",
        "page_size=1.5",
        "page_size=1&page_size=2",
        "page=0",
        "page=-1",
        "page=null",
        "page=1&page=2",
    ],
)
def test_a_page_parameter_outside_its_range_is_400(government, query):
    response = _client(UserFactory()).get(f"/api/v1/applications/?{query}")
    assert response.status_code == 400, response.content
    assert _error_code(response) == "validation_failed"
    name = query.split("=")[0]
    assert list(response.json()["error"]["details"]) == [name]


def test_page_parameters_inside_their_range_still_work(government):
    client = _client(UserFactory())
    assert client.get("/api/v1/applications/?page=1&page_size=200").status_code == 200
    assert client.get("/api/v1/applications/?page_size=").status_code == 200
    # A page past the end is the documented 404.
    response = client.get("/api/v1/applications/?page=2")
    assert response.status_code == 404
    assert _error_code(response) == "not_found"


@pytest.mark.parametrize(
    "query", ["page_size=null", "page_size=0", "page_size=1&page_size=2", "cursor=a&cursor=b"]
)
def test_the_queue_refuses_page_parameters_outside_their_range(query):
    city = City()
    response = _client(city.clerk, staff_member=True).get(f"/api/v1/queue/?{query}")
    assert response.status_code == 400, response.content
    assert _error_code(response) == "validation_failed"
    assert list(response.json()["error"]["details"]) == [query.split("=")[0]]


@pytest.mark.parametrize(
    "query",
    ["page_size=null", "page_size=0", "page_size=201", "cursor=a&cursor=b", "cursor=not-a-cursor"],
)
def test_the_audit_log_refuses_page_parameters_outside_their_range(query):
    city = City()
    auditor = staff(city.city, Role.AUDITOR, "監査 五郎")
    response = _client(auditor, staff_member=True).get(f"/api/v1/digitization/audit-log/?{query}")
    assert response.status_code == 400, response.content
    assert _error_code(response) == "validation_failed"
    assert list(response.json()["error"]["details"]) == [query.split("=")[0]]


def test_the_audit_log_follows_its_own_next_link():
    city = City()
    auditor = staff(city.city, Role.AUDITOR, "監査 五郎")
    client = _client(auditor, staff_member=True)
    first = client.get("/api/v1/digitization/audit-log/?page_size=1")
    assert first.status_code == 200, first.content
    following = client.get(first.json()["next"])
    assert following.status_code == 200, following.content
    assert following.json()["results"] != first.json()["results"]


def test_the_schema_gives_the_page_parameters_their_ranges(schema):
    listed = {p["name"]: p for p in schema["paths"]["/api/v1/applications/"]["get"]["parameters"]}
    assert listed["page"]["schema"] == {"type": "integer", "minimum": 1}
    assert listed["page_size"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 200}
    queue = {p["name"]: p for p in schema["paths"]["/api/v1/queue/"]["get"]["parameters"]}
    assert queue["page_size"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": queue_pages.MAX_PAGE_SIZE,
    }


# --- 413, 414, 429 ---------------------------------------------------------------------


def test_a_body_over_the_upload_limit_is_413_with_the_error_body(government):
    too_big = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1
    body = json.dumps({"procedure": "x" * too_big})
    response = _client(UserFactory()).post(
        "/api/v1/applications/", data=body, content_type="application/json"
    )
    assert response.status_code == 413, response.content
    assert _error_code(response) == "request_too_large"


def test_every_operation_with_a_body_documents_413_and_the_schema_414(schema):
    assert "414" in schema["info"]["description"]
    for path, method, operation in _operations(schema):
        responses = operation["responses"]
        if "requestBody" in operation:
            assert "413" in responses, (method, path)
            assert "application/json" in responses["413"]["content"], (method, path)


def test_the_token_endpoint_documents_429(schema):
    responses = schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]
    assert "429" in responses
    assert "locked_out" in responses["429"]["description"]


def test_the_token_endpoint_takes_json_only_as_its_schema_says(schema):
    body = schema["paths"]["/api/v1/auth/token/"]["post"]["requestBody"]
    assert list(body["content"]) == ["application/json"]
    response = APIClient().post(
        "/api/v1/auth/token/", {"email": "a@example.jp", "password": "x"}, format="multipart"
    )
    assert response.status_code == 415
    assert _error_code(response) == "unsupported_media_type"


# --- Idempotency-Key -------------------------------------------------------------------


def test_starting_a_payment_declares_its_required_idempotency_key_and_its_error(schema):
    operation = schema["paths"]["/api/v1/payments/"]["post"]
    headers = {p["name"]: p for p in operation["parameters"] if p["in"] == "header"}
    assert headers["Idempotency-Key"]["required"] is True
    assert headers["Idempotency-Key"]["schema"]["maxLength"] == 100
    assert "idempotency_key_required" in operation["responses"]["400"]["description"]
    assert "idempotency_key_invalid" in operation["responses"]["400"]["description"]
    assert "idempotency_key_reused" in operation["responses"]["409"]["description"]


def test_no_other_operation_declares_an_idempotency_key(schema):
    declared = [
        (method, path)
        for path, method, operation in _operations(schema)
        if any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
    ]
    assert declared == [("post", "/api/v1/payments/")]


def test_starting_a_payment_without_the_key_is_the_documented_400():
    applicant = resident()
    response = _client(applicant).post(
        "/api/v1/payments/", {"application": 1, "method": "card"}, format="json"
    )
    assert response.status_code == 400
    assert _error_code(response) == "idempotency_key_required"
