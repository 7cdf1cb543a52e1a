from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from jsonschema import Draft202012Validator
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.models import Role
from audit.models import AuditEvent
from procedures.models import Procedure, ProcedureStatus, ProcedureVersion, VersionState
from procedures.services import starter_definition
from tests.factories import (
    MembershipFactory,
    ProcedureFactory,
    ProcedureVersionFactory,
    UserFactory,
    valid_definition,
)

pytestmark = pytest.mark.django_db

CATALOGUE = "/api/v1/procedures/"
MANAGE = "/api/v1/manage/procedures/"
SCHEMA = "/api/v1/schemas/procedure-definition.json"
ENTRY = {
    "code": "food-license",
    "organization": "food-safety",
    "title_ja": "食品営業許可申請",
    "title_en": "Food business licence",
    "description_ja": "飲食店を営むための許可を申請します。",
    "category": "health",
    "life_events": ["business_start"],
    "filer": "both",
    "identity_level": "identity_verified",
    "processing_days": 10,
    "annual_volume": 1200,
}


def _client(user=None) -> APIClient:
    """An API client; for a user, with a real bearer token (as staff get after
    their second factor)."""
    client = APIClient()
    client.credentials(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        _instance, token = AuthToken.objects.create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    return client


@pytest.fixture
def anonymous():
    return _client()


@pytest.fixture
def admin(org_tree):
    """Department admin of the health bureau (and so of food-safety below it)."""
    return MembershipFactory(organization=org_tree["health"], role=Role.DEPARTMENT_ADMIN).user


@pytest.fixture
def admin_api(admin):
    return _client(admin)


@pytest.fixture
def auditor(org_tree):
    return MembershipFactory(organization=org_tree["city"], role=Role.AUDITOR).user


def _published(organization, **fields):
    procedure = ProcedureFactory(owning_organization=organization, **fields)
    ProcedureVersionFactory(procedure=procedure, published=True)
    return procedure


def _with_label(label):
    definition = valid_definition()
    definition["form"]["steps"][0]["fields"][0]["label"]["ja"] = label
    return definition


def _create(admin_api, **changes):
    response = admin_api.post(MANAGE, {**ENTRY, **changes}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def _error(response):
    return response.json()["error"]


# --- The public catalogue ----------------------------------------------------------


def test_anyone_lists_the_published_catalogue_without_logging_in(anonymous, org_tree):
    published = _published(
        org_tree["food"], code="food-license", title_ja="食品営業許可", title_en="Food licence"
    )
    ProcedureFactory(owning_organization=org_tree["food"], code="only-a-draft")
    ProcedureVersionFactory(
        procedure__code="draft-too", procedure__owning_organization=org_tree["food"]
    )
    retired = _published(org_tree["food"], code="retired", status=ProcedureStatus.RETIRED)
    assert retired.versions.get().state == VersionState.PUBLISHED

    response = anonymous.get(CATALOGUE)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    item = body["results"][0]
    assert item == {
        "code": "food-license",
        "title": "Food licence",
        "title_ja": "食品営業許可",
        "title_en": "Food licence",
        "organization": {"code": "food-safety", "name": org_tree["food"].name_en},
        "category": published.category,
        "life_events": [],
        "filer": "individual",
        "identity_level": "email_verified",
        "processing_days": 10,
        "fee": {
            "kind": "fixed",
            "amount": 400,
            "unit_amount": None,
            "due": "before_review",
            "methods": ["card", "bank_transfer"],
        },
        "version": 1,
        "application_window": {"state": "open", "opens_at": None, "closes_at": None},
    }


def test_the_catalogue_speaks_the_requesters_language(org_tree):
    _published(org_tree["food"], title_ja="食品営業許可", title_en="Food licence")
    japanese = APIClient().get(CATALOGUE, HTTP_ACCEPT_LANGUAGE="ja").json()["results"][0]
    assert japanese["title"] == "食品営業許可"


def test_the_catalogue_is_searchable_and_filterable(anonymous, org_tree):
    _published(
        org_tree["food"],
        code="food-license",
        title_ja="食品営業許可申請",
        title_en="Food business licence",
        category="health",
        life_events=["business_start"],
        filer="business",
    )
    _published(
        org_tree["certificates"],
        code="tax-certificate",
        title_ja="課税証明書の交付",
        title_en="Tax certificate",
        description_ja="所得と税額を証明します。",
        category="tax",
        life_events=["moving", "employment"],
        filer="both",
    )
    _published(
        org_tree["food"],
        code="dog-registration",
        title_ja="犬の登録",
        title_en="Dog registration",
        category="health",
        filer="individual",
    )

    def codes(**query):
        response = anonymous.get(CATALOGUE, query)
        assert response.status_code == 200, response.json()
        return sorted(item["code"] for item in response.json()["results"])

    assert codes(q="LICENCE") == ["food-license"]
    assert codes(q="税額") == ["tax-certificate"]
    assert codes(q="dog") == ["dog-registration"]
    assert codes(q="certificate tax") == ["tax-certificate"]
    assert codes(category="health") == ["dog-registration", "food-license"]
    assert codes(organization="certificates") == ["tax-certificate"]
    assert codes(life_event="moving") == ["tax-certificate"]
    assert codes(life_event="business_start", category="health") == ["food-license"]
    # Procedures open to both kinds of filer are found by either.
    assert codes(filer="individual") == ["dog-registration", "tax-certificate"]
    assert codes(filer="business") == ["food-license", "tax-certificate"]
    assert codes(filer="both") == ["tax-certificate"]
    assert codes(q="nothing-like-this") == []

    invalid = anonymous.get(CATALOGUE, {"category": "astrology"})
    assert invalid.status_code == 400
    assert _error(invalid)["code"] == "validation_failed"
    assert "category" in _error(invalid)["details"]


def test_a_published_procedure_comes_with_its_form(anonymous, org_tree):
    procedure = _published(
        org_tree["food"],
        code="food-license",
        description_ja="説明",
        description_en="What this is",
        legal_basis_ja="食品衛生法第55条",
        legal_basis_en="Food Sanitation Act, art. 55",
    )
    version = procedure.versions.get()

    response = anonymous.get(f"{CATALOGUE}food-license/")

    assert response.status_code == 200
    body = response.json()
    assert body["code"] == "food-license"
    assert body["description"] == "What this is"
    assert body["legal_basis"] == "Food Sanitation Act, art. 55"
    assert body["version"] == 1
    assert body["published_at"].startswith(str(version.published_at.year))
    assert body["definition"] == valid_definition()


def test_unknown_or_unpublished_procedures_are_not_found(anonymous, org_tree):
    ProcedureVersionFactory(
        procedure__code="a-draft", procedure__owning_organization=org_tree["food"]
    )
    _published(org_tree["food"], code="retired", status=ProcedureStatus.RETIRED)

    for code in ("a-draft", "retired", "no-such-procedure"):
        response = anonymous.get(f"{CATALOGUE}{code}/")
        assert response.status_code == 404, code
        assert _error(response)["code"] == "not_found"


def test_the_catalogue_takes_the_same_number_of_queries_for_3_and_10_procedures(
    anonymous, org_tree
):
    organizations = [org_tree["food"], org_tree["certificates"], org_tree["health"]]

    def queries_for_catalogue():
        with CaptureQueriesContext(connection) as queries:
            response = anonymous.get(CATALOGUE, {"category": "other"})
        assert response.status_code == 200
        return len(queries), response.json()["count"]

    for index in range(3):
        _published(organizations[index % 3])
    few = queries_for_catalogue()
    for index in range(7):
        _published(organizations[index % 3])
    many = queries_for_catalogue()

    assert few[1] == 3
    assert many[1] == 10
    assert many[0] == few[0] <= 3  # count, page, published versions


def test_the_definition_format_schema_is_served_to_anyone(anonymous):
    response = anonymous.get(SCHEMA)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/schema+json"
    schema = response.json()
    assert schema["$id"].endswith("/api/v1/schemas/procedure-definition.json")
    Draft202012Validator.check_schema(schema)


# --- Department admins --------------------------------------------------------------


def test_a_department_admin_creates_checks_fixes_and_publishes_a_procedure(
    admin_api, anonymous, org_tree
):
    created = _create(admin_api)
    assert created["code"] == "food-license"
    assert created["organization"]["code"] == "food-safety"
    assert created["status"] == "active"
    assert (created["draft_version"], created["published_version"]) == (1, None)
    versions = admin_api.get(f"{MANAGE}food-license/versions/").json()["results"]
    assert [(v["number"], v["state"]) for v in versions] == [(1, "draft")]

    draft_url = f"{MANAGE}food-license/versions/1/"
    edited = admin_api.put(draft_url, {"definition": _with_label("氏名（押印）")}, format="json")
    assert edited.status_code == 200, edited.json()
    assert edited.json()["definition"]["form"]["steps"][0]["fields"][0]["label"]["ja"] == (
        "氏名（押印）"
    )

    report = admin_api.get(f"{draft_url}policy/").json()
    assert report["publishable"] is False
    assert report["problems"] == []
    results = {result["principle"]: result for result in report["principles"]}
    assert set(results) == {"paperless", "hanko_less", "cashless", "fax_less", "touchless"}
    assert results["hanko_less"]["status"] == "fail"
    assert results["hanko_less"]["findings"][0]["path"] == "form.steps.0.fields.0.label.ja"
    assert results["paperless"]["status"] == "pass"

    refused = admin_api.post(f"{draft_url}publish/")
    assert refused.status_code == 409
    assert _error(refused)["code"] == "policy_failed"
    assert _error(refused)["details"][0]["principle"] == "hanko_less"
    assert anonymous.get(f"{CATALOGUE}food-license/").status_code == 404

    admin_api.put(draft_url, {"definition": valid_definition()}, format="json")
    assert admin_api.get(f"{draft_url}policy/").json()["publishable"] is True
    published = admin_api.post(f"{draft_url}publish/")
    assert published.status_code == 200, published.json()
    assert published.json()["state"] == "published"
    assert published.json()["published_at"]

    public = anonymous.get(f"{CATALOGUE}food-license/")
    assert public.status_code == 200
    # Published with the department's default period written in (core.retention).
    assert public.json()["definition"] == {**valid_definition(), "retention": {"period": "5y"}}
    listed = admin_api.get(MANAGE).json()["results"]
    assert [(p["code"], p["draft_version"], p["published_version"]) for p in listed] == [
        ("food-license", None, 1)
    ]
    procedure = Procedure.objects.get(code="food-license")
    actions = set(
        AuditEvent.objects.filter(target_id=str(procedure.pk)).values_list("action", flat=True)
    )
    assert {"procedures.created", "procedures.draft_edited", "procedures.published"} <= actions


def test_a_published_version_cannot_be_edited_only_a_new_draft_can(admin_api, org_tree):
    _create(admin_api)
    admin_api.put(
        f"{MANAGE}food-license/versions/1/", {"definition": valid_definition()}, format="json"
    )
    assert admin_api.post(f"{MANAGE}food-license/versions/1/publish/").status_code == 200

    refused = admin_api.put(
        f"{MANAGE}food-license/versions/1/", {"definition": _with_label("お名前")}, format="json"
    )
    assert refused.status_code == 409
    assert _error(refused)["code"] == "version_not_draft"
    assert ProcedureVersion.objects.get(number=1).definition == {
        **valid_definition(),
        "retention": {"period": "5y"},
    }

    started = admin_api.post(f"{MANAGE}food-license/versions/")
    assert started.status_code == 201
    assert (started.json()["number"], started.json()["state"]) == (2, "draft")
    assert started.json()["definition"] == {**valid_definition(), "retention": {"period": "5y"}}
    again = admin_api.post(f"{MANAGE}food-license/versions/")
    assert again.status_code == 200
    assert again.json()["number"] == 2

    edited = admin_api.put(
        f"{MANAGE}food-license/versions/2/", {"definition": _with_label("お名前")}, format="json"
    )
    assert edited.status_code == 200
    versions = admin_api.get(f"{MANAGE}food-license/versions/").json()["results"]
    assert [(v["number"], v["state"]) for v in versions] == [(2, "draft"), (1, "published")]
    assert "definition" not in versions[0]


def test_an_invalid_definition_is_refused_with_the_path_of_each_problem(admin_api, org_tree):
    _create(admin_api)
    broken = valid_definition()
    broken["form"]["steps"][0]["fields"][0]["type"] = "seal"
    del broken["delivery"]

    response = admin_api.put(
        f"{MANAGE}food-license/versions/1/", {"definition": broken}, format="json"
    )

    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "definition_invalid"
    paths = {problem["path"] for problem in error["details"]}
    assert "version.form.steps.0.fields.0.type" in paths
    assert "version" in paths  # 'delivery' is a required property
    assert all(problem["message"] for problem in error["details"])
    missing = admin_api.put(f"{MANAGE}food-license/versions/1/", {}, format="json")
    assert missing.status_code == 400
    assert "definition" in _error(missing)["details"]


def test_a_department_admin_edits_the_catalogue_entry_and_retires_it(
    admin_api, anonymous, org_tree
):
    _create(admin_api)
    admin_api.post(f"{MANAGE}food-license/versions/1/publish/")

    patched = admin_api.patch(
        f"{MANAGE}food-license/",
        {"title_en": "Food business permit", "processing_days": 7, "code": "ignored"},
        format="json",
    )
    assert patched.status_code == 200, patched.json()
    assert patched.json()["title_en"] == "Food business permit"
    assert patched.json()["processing_days"] == 7
    assert patched.json()["title_ja"] == ENTRY["title_ja"]
    assert patched.json()["code"] == "food-license"
    out_of_range = admin_api.patch(f"{MANAGE}food-license/", {"processing_days": 0}, format="json")
    assert out_of_range.status_code == 400
    assert "processing_days" in _error(out_of_range)["details"]

    retired = admin_api.post(f"{MANAGE}food-license/retire/")
    assert retired.status_code == 200
    assert retired.json()["status"] == "retired"
    assert retired.json()["published_version"] is None
    assert anonymous.get(f"{CATALOGUE}food-license/").status_code == 404


def test_creating_checks_the_shape_and_the_code(admin_api, org_tree):
    unknown = admin_api.post(MANAGE, {**ENTRY, "organization": "no-such-org"}, format="json")
    assert unknown.status_code == 400
    assert _error(unknown)["code"] == "validation_failed"
    assert "organization" in _error(unknown)["details"]

    bad = admin_api.post(
        MANAGE,
        {**ENTRY, "code": "Food_License", "category": "astrology", "processing_days": 400},
        format="json",
    )
    assert bad.status_code == 400
    assert set(_error(bad)["details"]) == {"code", "category", "processing_days"}

    reserved = admin_api.post(MANAGE, {**ENTRY, "code": "import"}, format="json")
    assert reserved.status_code == 400
    assert "code" in _error(reserved)["details"]

    _create(admin_api)
    taken = admin_api.post(MANAGE, ENTRY, format="json")
    assert taken.status_code == 409
    assert _error(taken)["code"] == "code_taken"
    assert Procedure.objects.count() == 1


def test_an_admin_of_another_bureau_neither_sees_nor_creates_there(admin_api, org_tree):
    _create(admin_api)
    other = MembershipFactory(organization=org_tree["taxation"], role=Role.DEPARTMENT_ADMIN).user
    other_api = _client(other)

    for url in (
        f"{MANAGE}food-license/",
        f"{MANAGE}food-license/versions/",
        f"{MANAGE}food-license/versions/1/",
        f"{MANAGE}food-license/versions/1/policy/",
        f"{MANAGE}food-license/export/",
        f"{MANAGE}food-license/exemptions/",
    ):
        response = other_api.get(url)
        assert response.status_code == 404, url
        assert _error(response)["code"] == "not_found"
    assert (
        other_api.patch(
            f"{MANAGE}food-license/", {"title_ja": "乗っ取り"}, format="json"
        ).status_code
        == 404
    )
    assert other_api.post(f"{MANAGE}food-license/versions/1/publish/").status_code == 404
    assert other_api.post(f"{MANAGE}food-license/retire/").status_code == 404
    assert other_api.get(MANAGE).json()["results"] == []

    intruding = other_api.post(MANAGE, {**ENTRY, "code": "intruder"}, format="json")
    assert intruding.status_code == 403
    assert _error(intruding)["code"] == "permission_denied"
    assert not Procedure.objects.filter(code="intruder").exists()
    assert Procedure.objects.get(code="food-license").title_ja == ENTRY["title_ja"]


def test_a_resident_is_refused_by_the_manage_and_audit_endpoints(org_tree):
    resident = _client(UserFactory())
    for method, url in (
        ("get", MANAGE),
        ("post", MANAGE),
        ("post", f"{MANAGE}import/"),
        ("get", f"{MANAGE}anything/"),
        ("get", "/api/v1/exemptions/"),
        ("post", "/api/v1/exemptions/1/decide/"),
    ):
        response = getattr(resident, method)(url, {}, format="json")
        assert response.status_code == 403, url
        assert _error(response)["code"] == "permission_denied"
    assert Procedure.objects.count() == 0


def test_the_manage_endpoints_need_authentication(anonymous):
    response = anonymous.get(MANAGE)
    assert response.status_code == 401
    assert _error(response)["code"] == "not_authenticated"


def test_the_managed_list_takes_the_same_number_of_queries_for_3_and_10_procedures(admin, org_tree):
    def queries_for_list():
        client = _client(admin)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(MANAGE)
        assert response.status_code == 200
        return len(queries), response.json()["count"]

    for _ in range(3):
        _published(org_tree["food"])
    few = queries_for_list()
    for _ in range(7):
        procedure = _published(org_tree["food"])
        ProcedureVersionFactory(procedure=procedure, number=2)
    many = queries_for_list()

    assert (few[1], many[1]) == (3, 10)
    assert many[0] == few[0] <= 6  # token, roles, count, page (version numbers annotated)


# --- Export and import -------------------------------------------------------------


def test_an_exported_procedure_validates_and_imports_under_a_new_code(
    admin_api, anonymous, org_tree
):
    _create(admin_api, description_en="Apply for the licence.", legal_basis_ja="食品衛生法")
    admin_api.post(f"{MANAGE}food-license/versions/1/publish/")

    exported = admin_api.get(f"{MANAGE}food-license/export/")

    assert exported.status_code == 200
    assert exported["Content-Disposition"] == 'attachment; filename="food-license.json"'
    document = exported.json()
    schema = anonymous.get(SCHEMA).json()
    assert list(Draft202012Validator(schema).iter_errors(document)) == []
    assert document["procedure"]["organization"] == "food-safety"
    assert document["procedure"]["title"] == {"ja": ENTRY["title_ja"], "en": ENTRY["title_en"]}

    document["procedure"]["code"] = "food-license-copy"
    imported = admin_api.post(f"{MANAGE}import/", document, format="json")

    assert imported.status_code == 201, imported.json()
    assert imported.json() == {"code": "food-license-copy", "version": 1}
    copy = Procedure.objects.get(code="food-license-copy")
    original = Procedure.objects.get(code="food-license")
    assert copy.owning_organization == original.owning_organization
    assert copy.versions.get().state == VersionState.DRAFT
    assert copy.versions.get().definition == original.versions.get().definition
    assert copy.description_en == "Apply for the licence."

    # Importing again makes a new draft of the same procedure.
    document["procedure"]["title"]["en"] = "Food licence (copy)"
    again = admin_api.post(f"{MANAGE}import/", document, format="json")
    assert again.status_code == 201
    assert again.json() == {"code": "food-license-copy", "version": 1}
    copy.refresh_from_db()
    assert copy.title_en == "Food licence (copy)"


def test_export_picks_the_published_version_else_the_draft_or_the_one_asked_for(
    admin_api, org_tree
):
    _create(admin_api)
    assert admin_api.get(f"{MANAGE}food-license/export/").json()["version"] == starter_definition()
    admin_api.post(f"{MANAGE}food-license/versions/1/publish/")
    admin_api.post(f"{MANAGE}food-license/versions/")
    admin_api.put(
        f"{MANAGE}food-license/versions/2/", {"definition": valid_definition()}, format="json"
    )

    assert admin_api.get(f"{MANAGE}food-license/export/").json()["version"] == {
        **starter_definition(),
        "retention": {"period": "5y"},
    }
    second = admin_api.get(f"{MANAGE}food-license/export/", {"version": 2})
    assert second.json()["version"] == valid_definition()
    assert admin_api.get(f"{MANAGE}food-license/export/", {"version": 9}).status_code == 404
    assert admin_api.get(f"{MANAGE}food-license/export/", {"version": "x"}).status_code == 400


def test_importing_chooses_the_owner_and_checks_the_caller_manages_it(admin_api, org_tree):
    _create(admin_api)
    document = admin_api.get(f"{MANAGE}food-license/export/").json()
    document["procedure"]["code"] = "moved"

    elsewhere = admin_api.post(
        f"{MANAGE}import/?organization=certificates", document, format="json"
    )
    assert elsewhere.status_code == 403
    assert _error(elsewhere)["code"] == "permission_denied"
    unknown = admin_api.post(f"{MANAGE}import/?organization=nowhere", document, format="json")
    assert unknown.status_code == 400
    assert "organization" in _error(unknown)["details"]
    assert not Procedure.objects.filter(code="moved").exists()

    document["procedure"]["organization"] = "another-city-dept"
    placed = admin_api.post(f"{MANAGE}import/?organization=health", document, format="json")
    assert placed.status_code == 201
    assert Procedure.objects.get(code="moved").owning_organization == org_tree["health"]


def test_a_broken_document_is_refused_with_every_path_and_nothing_is_written(admin_api, org_tree):
    _create(admin_api)
    document = admin_api.get(f"{MANAGE}food-license/export/").json()
    document["procedure"]["code"] = "Not A Code"
    document["procedure"]["processing_days"] = 0
    document["version"]["fee"]["kind"] = "barter"
    before = (
        Procedure.objects.count(),
        ProcedureVersion.objects.count(),
        AuditEvent.objects.count(),
    )

    response = admin_api.post(f"{MANAGE}import/", document, format="json")

    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "definition_invalid"
    assert {problem["path"] for problem in error["details"]} == {
        "procedure.code",
        "procedure.processing_days",
        "version.fee.kind",
    }
    after = (
        Procedure.objects.count(),
        ProcedureVersion.objects.count(),
        AuditEvent.objects.count(),
    )
    assert after == before

    for garbage in ([], {"format": "something-else"}):
        refused = admin_api.post(f"{MANAGE}import/", garbage, format="json")
        assert refused.status_code == 400
        assert _error(refused)["code"] == "definition_invalid"
    not_json = admin_api.post(f"{MANAGE}import/", "{oops", content_type="application/json")
    assert not_json.status_code == 400
    assert _error(not_json)["code"] == "parse_error"
    assert Procedure.objects.count() == before[0]


# --- Exemptions ---------------------------------------------------------------------


def _paper_original_definition():
    definition = valid_definition()
    definition["form"]["steps"][0]["fields"].append(
        {"key": "license", "type": "file", "label": {"ja": "免状"}, "paper_original_required": True}
    )
    return definition


def test_an_auditor_approves_an_exemption_and_the_policy_then_reports_exempt(
    admin_api, auditor, org_tree
):
    _create(admin_api)
    draft_url = f"{MANAGE}food-license/versions/1/"
    admin_api.put(draft_url, {"definition": _paper_original_definition()}, format="json")
    paperless = next(
        r
        for r in admin_api.get(f"{draft_url}policy/").json()["principles"]
        if r["principle"] == "paperless"
    )
    assert paperless["status"] == "fail"

    requested = admin_api.post(
        f"{MANAGE}food-license/exemptions/",
        {
            "principle": "paperless",
            "reason": "政令で免状そのものの提出が定められているため",
            "legal_basis": "食品衛生法施行令",
            "within_city_discretion": False,
        },
        format="json",
    )
    assert requested.status_code == 201, requested.json()
    exemption = requested.json()
    assert exemption["status"] == "requested"
    assert exemption["effective"] is False
    assert exemption["procedure"]["code"] == "food-license"
    duplicate = admin_api.post(
        f"{MANAGE}food-license/exemptions/",
        {"principle": "paperless", "reason": "again", "within_city_discretion": False},
        format="json",
    )
    assert duplicate.status_code == 409
    assert _error(duplicate)["code"] == "exemption_exists"

    auditor_api = _client(auditor)
    waiting = auditor_api.get("/api/v1/exemptions/", {"status": "requested"}).json()["results"]
    assert [item["id"] for item in waiting] == [exemption["id"]]

    no_date = auditor_api.post(
        f"/api/v1/exemptions/{exemption['id']}/decide/", {"approve": True}, format="json"
    )
    assert no_date.status_code == 400
    assert "review_date" in _error(no_date)["details"]
    review_date = (timezone.localdate() + timedelta(days=180)).isoformat()
    decided = auditor_api.post(
        f"/api/v1/exemptions/{exemption['id']}/decide/",
        {"approve": True, "review_date": review_date, "note": "法令上やむを得ない"},
        format="json",
    )
    assert decided.status_code == 200, decided.json()
    assert decided.json()["status"] == "approved"
    assert decided.json()["review_date"] == review_date
    assert decided.json()["effective"] is True
    twice = auditor_api.post(
        f"/api/v1/exemptions/{exemption['id']}/decide/", {"approve": False}, format="json"
    )
    assert twice.status_code == 409
    assert auditor_api.get("/api/v1/exemptions/", {"status": "requested"}).json()["count"] == 0

    report = admin_api.get(f"{draft_url}policy/").json()
    paperless = next(r for r in report["principles"] if r["principle"] == "paperless")
    assert paperless["status"] == "exempt"
    assert paperless["exemption"] == exemption["id"]
    assert report["publishable"] is True
    assert admin_api.post(f"{draft_url}publish/").status_code == 200
    listed = admin_api.get(f"{MANAGE}food-license/exemptions/").json()["results"]
    assert [(item["principle"], item["status"]) for item in listed] == [("paperless", "approved")]


def test_an_exemption_outside_the_auditors_scope_is_not_found(admin_api, org_tree):
    _create(admin_api)
    exemption = admin_api.post(
        f"{MANAGE}food-license/exemptions/",
        {"principle": "touchless", "reason": "現地確認が必要", "within_city_discretion": True},
        format="json",
    ).json()
    taxation_auditor = _client(
        MembershipFactory(organization=org_tree["taxation"], role=Role.AUDITOR).user
    )

    assert taxation_auditor.get("/api/v1/exemptions/").json()["results"] == []
    response = taxation_auditor.post(
        f"/api/v1/exemptions/{exemption['id']}/decide/", {"approve": False}, format="json"
    )
    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"
    # The department admin may request but not decide.
    assert admin_api.get("/api/v1/exemptions/").status_code == 403


def test_absurdly_nested_json_is_a_clear_error_not_a_crash(admin_api, org_tree):
    _create(admin_api)
    condition = {"field": "full_name", "op": "filled"}
    for _ in range(300):
        condition = {"not": condition}
    definition = valid_definition()
    definition["form"]["steps"][0]["fields"][0]["condition"] = condition

    edited = admin_api.put(
        f"{MANAGE}food-license/versions/1/", {"definition": definition}, format="json"
    )
    assert edited.status_code == 400
    assert _error(edited)["code"] == "definition_invalid"
    assert _error(edited)["details"][0]["path"] == "version"

    document = admin_api.get(f"{MANAGE}food-license/export/").json()
    document["procedure"]["code"] = "deep"
    document["version"] = definition
    imported = admin_api.post(f"{MANAGE}import/", document, format="json")
    assert imported.status_code == 400
    assert _error(imported)["code"] == "definition_invalid"

    too_deep_to_parse = "[" * 100_000 + "]" * 100_000
    for url in (f"{MANAGE}import/", f"{MANAGE}food-license/versions/1/"):
        method = admin_api.post if url.endswith("import/") else admin_api.put
        response = method(url, too_deep_to_parse, content_type="application/json")
        assert response.status_code == 400, url
        assert _error(response)["code"] == "parse_error"
    assert not Procedure.objects.filter(code="deep").exists()


def test_a_postal_code_is_looked_up_offline_for_address_autofill(client):
    found = client.get("/api/v1/postal-codes/1000001/")
    assert found.status_code == 200
    assert found.json() == {
        "postal_code": "100-0001",
        "prefecture": "東京都",
        "city": "千代田区",
        "town": "千代田",
    }
    assert client.get("/api/v1/postal-codes/9999999/").status_code == 404
    assert client.get("/api/v1/postal-codes/not-a-code/").json()["error"]["code"] == "not_found"


def test_an_absurd_annual_volume_is_refused_not_a_crash(admin_api, org_tree):
    # Found by the schema fuzzing: the database column holds at most 2**31 - 1.
    _create(admin_api)
    too_many = admin_api.patch(f"{MANAGE}food-license/", {"annual_volume": 2**31}, format="json")
    assert too_many.status_code == 400
    assert "annual_volume" in _error(too_many)["details"]
    document = admin_api.get(f"{MANAGE}food-license/export/").json()
    document["procedure"]["code"] = "food-license-copy"
    document["procedure"]["annual_volume"] = 2**31
    imported = admin_api.post(f"{MANAGE}import/", document, format="json")
    assert imported.status_code == 400
    assert _error(imported)["code"] == "definition_invalid"
    assert not Procedure.objects.filter(code="food-license-copy").exists()
