"""The procedure builder: its pure edits of a definition, and the pages a
department admin uses to create, check, preview and publish a procedure."""

import copy
import io
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts.models import Role
from audit.models import AuditEvent
from core.errors import ValidationFailed
from procedures import services
from procedures.builder import diff, edits, lookup
from procedures.models import Procedure, ProcedureVersion, VersionState
from tests.factories import PASSWORD, MembershipFactory, confirmed_totp, current_code

pytestmark = pytest.mark.django_db

DEFINITION = {
    "form": {
        "steps": [
            {
                "key": "applicant",
                "title": {"ja": "申請者", "en": "Applicant"},
                "fields": [
                    {"key": "full_name", "type": "text", "label": {"ja": "氏名", "en": "Name"}},
                    {
                        "key": "kind",
                        "type": "choice",
                        "label": {"ja": "種別", "en": "Kind"},
                        "choices": [
                            {"value": "person", "label": {"ja": "個人"}},
                            {"value": "business", "label": {"ja": "法人"}},
                        ],
                    },
                ],
            },
            {
                "key": "business",
                "title": {"ja": "事業者", "en": "Business"},
                "condition": {"field": "kind", "op": "equals", "value": "business"},
                "fields": [
                    {"key": "company", "type": "text", "label": {"ja": "法人名", "en": "Company"}}
                ],
            },
        ]
    },
    "fee": {"kind": "none"},
    "workflow": {"approval": "four_eyes"},
    "delivery": {"methods": ["electronic"]},
}
META = {
    "title_ja": "食品営業許可申請",
    "title_en": "Food business permit",
    "category": "health",
    "filer": "business",
    "identity_level": "email_verified",
    "processing_days": 10,
}


def _text_field(key, ja="項目", **extra):
    return {"key": key, "type": "text", "label": {"ja": ja}, **extra}


def _keys(definition, step=0):
    return [spec["key"] for spec in definition["form"]["steps"][step]["fields"]]


# --- Pure edits ---------------------------------------------------------------------------


def test_adding_a_field_returns_a_new_definition_and_leaves_the_old_one_alone():
    original = copy.deepcopy(DEFINITION)
    changed = edits.add_field(DEFINITION, _text_field("phone_note"), step="applicant")
    assert _keys(changed) == ["full_name", "kind", "phone_note"]
    assert original == DEFINITION


def test_a_field_key_must_be_unique_in_the_whole_form():
    with pytest.raises(ValidationFailed) as refusal:
        edits.add_field(DEFINITION, _text_field("company"), step="applicant")
    assert "key" in refusal.value.details


def test_a_sub_field_goes_into_its_group_and_groups_do_not_nest():
    with_group = edits.add_field(
        DEFINITION,
        {"key": "staff", "type": "group", "label": {"ja": "従業員"}},
        step="business",
    )
    with_sub = edits.add_field(with_group, _text_field("staff_name"), group="staff")
    group = lookup.find_field(with_sub, "staff")
    assert [sub["key"] for sub in group["fields"]] == ["staff_name"]
    with pytest.raises(ValidationFailed):
        edits.add_field(
            with_sub, {"key": "inner", "type": "group", "label": {"ja": "内"}}, group="staff"
        )


def test_moving_a_field_swaps_it_with_its_neighbour_and_stops_at_the_edges():
    moved = edits.move_field(DEFINITION, "kind", edits.UP)
    assert _keys(moved) == ["kind", "full_name"]
    with pytest.raises(ValidationFailed):
        edits.move_field(moved, "kind", edits.UP)


def test_a_move_that_would_put_a_condition_before_the_field_it_reads_is_refused():
    definition = edits.add_field(
        DEFINITION,
        _text_field("reason", condition={"field": "kind", "op": "equals", "value": "person"}),
        step="applicant",
    )
    with pytest.raises(ValidationFailed) as refusal:
        edits.move_field(definition, "reason", edits.UP)
    assert "kind" in str(refusal.value.message)


def test_removing_a_field_that_a_condition_reads_is_refused_naming_the_condition():
    with pytest.raises(ValidationFailed) as refusal:
        edits.remove_field(DEFINITION, "kind")
    assert "事業者" in str(refusal.value.message)
    assert _keys(edits.remove_field(DEFINITION, "full_name")) == ["kind"]


def test_renaming_a_field_carries_the_new_key_into_the_conditions_that_read_it():
    spec = {**lookup.find_field(DEFINITION, "kind"), "key": "applicant_kind"}
    renamed = edits.update_field(DEFINITION, "kind", spec)
    assert renamed["form"]["steps"][1]["condition"]["field"] == "applicant_kind"


@pytest.fixture
def english():
    with translation.override("en"):
        yield


@pytest.mark.usefixtures("english")
def test_steps_are_added_moved_and_removed_but_never_the_last_one():
    added = edits.add_step(DEFINITION, {"key": "consent", "title": {"ja": "同意"}})
    assert [step["key"] for step in added["form"]["steps"]] == ["applicant", "business", "consent"]
    moved = edits.move_step(added, "consent", edits.UP)
    assert [step["key"] for step in moved["form"]["steps"]] == ["applicant", "consent", "business"]
    # The business step reads "kind" from the first step, so it cannot go first.
    with pytest.raises(ValidationFailed):
        edits.move_step(DEFINITION, "business", edits.UP)

    only = edits.remove_step(edits.remove_step(added, "business"), "consent")
    with pytest.raises(ValidationFailed) as refusal:
        edits.remove_step(only, "applicant")
    assert "last step" in str(refusal.value.message)


def test_updating_a_step_keeps_its_fields():
    updated = edits.update_step(
        DEFINITION, "applicant", {"key": "applicant", "title": {"ja": "申請者情報"}}
    )
    assert updated["form"]["steps"][0]["title"] == {"ja": "申請者情報"}
    assert _keys(updated) == ["full_name", "kind"]


@pytest.mark.usefixtures("english")
def test_the_diff_names_added_removed_moved_and_changed_items():
    new = edits.add_field(DEFINITION, _text_field("phone_note", "備考"), step="applicant")
    new = edits.move_field(new, "phone_note", edits.UP)
    new = edits.move_field(new, "phone_note", edits.UP)
    new = edits.remove_field(new, "full_name")
    new = edits.add_field(new, _text_field("full_name", "氏名"), step="business")
    new = edits.update_field(new, "kind", {**lookup.find_field(new, "kind"), "required": True})
    new = edits.replace_sections(new, {"fee": {"kind": "fixed", "amount": 300}})

    changes = diff.definition_diff(DEFINITION, new)
    text = "\n".join(changes)
    assert "“備考” (phone_note) added" in text
    assert (
        "“氏名” (full_name) moved from the step “Applicant” (applicant) to the step “Business”"
        in text
    )
    assert "(kind) changed: required: no → yes" in text
    assert "amount: — → 300" in text
    removed = edits.remove_field(DEFINITION, "full_name")
    assert diff.definition_diff(DEFINITION, removed) == [
        "Field “Name” (full_name) removed from the step “Applicant” (applicant)."
    ]
    swapped = edits.move_field(DEFINITION, "kind", edits.UP)
    assert diff.definition_diff(DEFINITION, swapped) == [
        "Field “Kind” (kind) moved within the step “Applicant” (applicant)."
    ]
    assert diff.definition_diff(DEFINITION, DEFINITION) == []


def test_the_conditions_of_a_field_may_read_only_earlier_fields():
    keys = [
        spec["key"]
        for spec in lookup.field_condition_fields(DEFINITION, step="applicant", field="kind")
    ]
    assert keys == ["full_name"]
    keys = [spec["key"] for spec in lookup.field_condition_fields(DEFINITION, step="business")]
    assert keys == ["full_name", "kind", "company"]
    keys = [spec["key"] for spec in lookup.step_condition_fields(DEFINITION, "business")]
    assert keys == ["full_name", "kind"]


# --- Pages -------------------------------------------------------------------------------


def _verified_login(client, user):
    device = confirmed_totp(user)
    client.post("/accounts/login/", {"email": user.email, "password": PASSWORD})
    assert client.post("/accounts/2fa/", {"token": current_code(device)}).status_code == 302


def _staff(organization, role=Role.DEPARTMENT_ADMIN):
    user = MembershipFactory(organization=organization, role=role).user
    user.preferred_language = "en"
    user.save(update_fields=["preferred_language"])
    return user


@pytest.fixture
def admin(org_tree):
    return _staff(org_tree["health"])


@pytest.fixture
def admin_client(client, admin):
    _verified_login(client, admin)
    return client


def _create(admin, organization, code="food-permit", definition=None):
    return services.procedure_create(
        actor=admin,
        organization=organization,
        code=code,
        definition=copy.deepcopy(definition or DEFINITION),
        **META,
    )


def _draft(code):
    return ProcedureVersion.objects.get(procedure__code=code, state=VersionState.DRAFT)


def _field_post(key, label, type_="text", **extra):
    return {"key": key, "type": type_, "label_ja": label, "op": "equals", **extra}


def test_a_department_admin_builds_checks_fixes_and_publishes_a_procedure(admin_client, org_tree):
    client = admin_client
    response = client.post(
        "/manage/procedures/new/",
        {
            "code": "street-stall",
            "organization": org_tree["food"].pk,
            "title_ja": "露店営業届",
            "title_en": "Street stall notice",
            "category": "health",
            "life_events": ["business_start"],
            "filer": "business",
            "identity_level": "email_verified",
            "processing_days": "7",
            "annual_volume": "120",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/manage/procedures/street-stall/"
    procedure = Procedure.objects.get(code="street-stall")
    assert procedure.life_events == ["business_start"]

    response = client.post(
        "/manage/procedures/street-stall/add-step/",
        {"key": "stall", "title_ja": "露店", "title_en": "Stall", "condition_op": "equals"},
    )
    assert response.status_code == 302
    base = "/manage/procedures/street-stall/steps/stall/add-field/"
    assert (
        client.post(
            base,
            {
                "key": "seal",
                "type": "text",
                "label_ja": "代表者氏名（押印）",
                "label_en": "Representative",
                "required": "on",
                "condition_op": "equals",
                "required_if_op": "equals",
            },
        ).status_code
        == 302
    )
    assert (
        client.post(
            base,
            {
                "key": "stall_kind",
                "type": "choice",
                "label_ja": "露店の種類",
                "choices": "food|飲食|Food\ngoods|物販|Goods",
                "condition_op": "equals",
                "required_if_op": "equals",
            },
        ).status_code
        == 302
    )
    assert (
        client.post(
            base,
            {
                "key": "menu",
                "type": "textarea",
                "label_ja": "提供する食品",
                "condition_field": "stall_kind",
                "condition_op": "equals",
                "condition_value": "food",
                "required_if_op": "equals",
            },
        ).status_code
        == 302
    )
    draft = _draft("street-stall")
    fields = draft.definition["form"]["steps"][1]["fields"]
    assert [spec["key"] for spec in fields] == ["seal", "stall_kind", "menu"]
    assert fields[2]["condition"] == {"field": "stall_kind", "op": "equals", "value": "food"}
    # Only what was filled in is written.
    assert fields[1] == {
        "key": "stall_kind",
        "type": "choice",
        "label": {"ja": "露店の種類"},
        "choices": [
            {"value": "food", "label": {"ja": "飲食", "en": "Food"}},
            {"value": "goods", "label": {"ja": "物販", "en": "Goods"}},
        ],
    }

    editor = client.get("/manage/procedures/street-stall/").content.decode()
    assert "Not publishable: it fails Hanko-less" in editor
    assert (
        'class="badge badge--fail">Fail</span> <span class="principle__name">Hanko-less' in editor
    )
    assert "form.steps.1.fields.0.label.ja" in editor
    assert "Shown only if “露店の種類” is “Food”." in editor

    response = client.post(
        "/manage/procedures/street-stall/fields/seal/",
        {
            "key": "representative",
            "type": "text",
            "label_ja": "代表者氏名",
            "label_en": "Representative",
            "required": "on",
            "condition_op": "equals",
            "required_if_op": "equals",
        },
    )
    assert response.status_code == 302
    editor = client.get("/manage/procedures/street-stall/").content.decode()
    assert (
        'class="badge badge--pass">Pass</span> <span class="principle__name">Hanko-less' in editor
    )
    assert "can be published" in editor

    confirmation = client.get("/manage/procedures/street-stall/publish/")
    assert confirmation.status_code == 200
    page = confirmation.content.decode()
    assert "Publish version 1" in page
    revision = confirmation.context["form"].initial["revision"]
    response = client.post("/manage/procedures/street-stall/publish/", {"revision": revision})
    assert response.status_code == 302

    version = ProcedureVersion.objects.get(procedure__code="street-stall")
    assert version.state == VersionState.PUBLISHED
    assert AuditEvent.objects.filter(action="procedures.published").count() == 1
    assert AuditEvent.objects.filter(action="procedures.draft_edited").count() == 5


def test_publishing_a_failing_draft_is_refused_naming_the_principle(admin_client, admin, org_tree):
    definition = copy.deepcopy(DEFINITION)
    definition["contact"] = {"channels": ["email", "fax"]}
    _create(admin, org_tree["food"], definition=definition)

    page = admin_client.get("/manage/procedures/food-permit/publish/")
    assert "FAX-less" in page.content.decode()
    assert b"Publish version 1</button>" not in page.content
    revision = page.context["form"].initial["revision"]
    response = admin_client.post(
        "/manage/procedures/food-permit/publish/", {"revision": revision}, follow=True
    )
    text = response.content.decode()
    assert "Publishing is refused" in text
    assert "FAX-less" in text
    assert _draft("food-permit").state == VersionState.DRAFT


def test_a_draft_changed_since_the_confirmation_page_is_not_published(
    admin_client, admin, org_tree
):
    _create(admin, org_tree["food"])
    response = admin_client.post(
        "/manage/procedures/food-permit/publish/", {"revision": "stale"}, follow=True
    )
    assert "The draft changed since you opened this page" in response.content.decode()
    assert _draft("food-permit").state == VersionState.DRAFT


def test_the_preview_renders_the_resident_templates_validates_and_remembers_answers(
    admin_client, admin, org_tree
):
    definition = copy.deepcopy(DEFINITION)
    definition["form"]["steps"][0]["fields"][0]["required"] = True
    definition["form"]["steps"][0]["fields"].append(
        {"key": "licence", "type": "file", "label": {"ja": "許可証"}, "required": True}
    )
    _create(admin, org_tree["food"], definition=definition)
    client = admin_client

    response = client.get("/manage/procedures/food-permit/preview/")
    assert response["Location"] == "/manage/procedures/food-permit/preview/applicant/"
    page = client.get(response["Location"])
    html = page.content.decode()
    assert "forms/step_fields.html" in [template.name for template in page.templates]
    assert "<form data-form-engine" in html
    assert 'src="/static/js/form-conditions.js"' in html
    assert 'name="f.full_name"' in html
    file_input = re.search(r'<input type="file" name="f\.licence"[^>]*>', html).group(0)
    assert " disabled" in file_input
    assert "<script>" not in html and "style=" not in html

    response = client.post(
        "/manage/procedures/food-permit/preview/applicant/", {"f.kind": "business"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert 'class="error-summary"' in html
    assert 'href="#f-full_name"' in html
    assert "許可証" not in response.context["error_links"][0]["text"]  # uploads are not enforced

    response = client.post(
        "/manage/procedures/food-permit/preview/applicant/",
        {"f.full_name": "山田 太郎", "f.kind": "business"},
    )
    # "kind" is business, so the business step is next.
    assert response["Location"] == "/manage/procedures/food-permit/preview/business/"
    response = client.post(
        "/manage/procedures/food-permit/preview/business/", {"f.company": "山田商店"}
    )
    assert response["Location"] == "/manage/procedures/food-permit/preview/check-answers/"

    back = client.get("/manage/procedures/food-permit/preview/applicant/").content.decode()
    assert 'value="山田 太郎"' in back
    check = client.get("/manage/procedures/food-permit/preview/check-answers/").content.decode()
    assert "山田商店" in check and "法人" in check

    # Answering "person" skips the business step and drops its answer.
    client.post(
        "/manage/procedures/food-permit/preview/applicant/",
        {"f.full_name": "山田 太郎", "f.kind": "person"},
    )
    check = client.get("/manage/procedures/food-permit/preview/check-answers/").content.decode()
    assert "山田商店" not in check
    assert not AuditEvent.objects.filter(action__startswith="applications.").exists()


def test_group_buttons_in_the_preview_add_an_item_without_validating(admin_client, admin, org_tree):
    definition = copy.deepcopy(DEFINITION)
    definition["form"]["steps"][0]["fields"].append(
        {
            "key": "staff",
            "type": "group",
            "label": {"ja": "従業員"},
            "fields": [
                {"key": "staff_name", "type": "text", "label": {"ja": "氏名"}, "required": True}
            ],
        }
    )
    _create(admin, org_tree["food"], definition=definition)
    response = admin_client.post(
        "/manage/procedures/food-permit/preview/applicant/",
        {"f.staff.count": "0", "group_add": "staff"},
    )
    assert response.status_code == 302
    page = admin_client.get("/manage/procedures/food-permit/preview/applicant/").content.decode()
    assert 'name="f.staff.0.staff_name"' in page
    assert "error-summary" not in page


def test_an_admin_of_another_bureau_gets_not_found(client, admin, org_tree):
    _create(admin, org_tree["food"])
    outsider = _staff(org_tree["taxation"])
    _verified_login(client, outsider)
    for path in ("", "preview/", "publish/", "export/", "fields/full_name/", "json/"):
        assert client.get(f"/manage/procedures/food-permit/{path}").status_code == 404, path
    response = client.post("/manage/procedures/food-permit/fields/kind/move/", {"direction": "up"})
    assert response.status_code == 404
    assert b"food-permit" not in client.get("/manage/procedures/").content


def test_a_clerk_cannot_use_the_builder(client, admin, org_tree):
    _create(admin, org_tree["food"])
    clerk = _staff(org_tree["food"], role=Role.CLERK)
    _verified_login(client, clerk)
    assert client.get("/manage/procedures/").status_code == 403
    assert client.get("/manage/procedures/new/").status_code == 403
    assert client.get("/manage/procedures/food-permit/").status_code == 404
    assert b"/manage/procedures/" not in client.get("/").content  # no navigation entry


def test_the_list_needs_the_same_number_of_queries_for_2_and_6_procedures(
    admin_client, admin, org_tree
):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get("/manage/procedures/").status_code == 200
        return len(queries)

    for number in range(2):
        _create(admin, org_tree["food"], code=f"proc-{number}")
    services.version_publish(
        actor=admin, version=ProcedureVersion.objects.get(procedure__code="proc-0")
    )
    few = count()
    for number in range(2, 6):
        procedure = _create(admin, org_tree["food"], code=f"proc-{number}")
        if number % 2:
            services.version_publish(actor=admin, version=procedure.versions.get())
            services.procedure_draft(actor=admin, procedure=procedure)
    many = count()
    assert few == many
    page = admin_client.get("/manage/procedures/").content.decode()
    assert page.count('<th scope="row">') == 6


def test_service_refusals_show_as_form_errors_and_never_as_a_500(admin_client, admin, org_tree):
    _create(admin, org_tree["food"])
    base = "/manage/procedures/food-permit/"
    # A duplicate key: the builder refuses it next to the input.
    response = admin_client.post(
        f"{base}steps/applicant/add-field/", _field_post("company", "重複")
    )
    assert response.status_code == 400
    assert "Another field already has this key." in response.content.decode()
    # Removing a field a later step's condition reads.
    response = admin_client.post(f"{base}fields/kind/remove/")
    assert response.status_code == 400
    assert "change that first" in response.content.decode()
    # A setting that does not fit the type.
    response = admin_client.post(
        f"{base}steps/applicant/add-field/",
        _field_post("age", "年齢", max_length="3", type_="integer"),
    )
    assert response.status_code == 400
    assert "does not apply" in response.content.decode()
    # The JSON editor: the schema's problems, with their paths.
    response = admin_client.post(
        f"{base}json/", {"definition": json.dumps({"form": {"steps": []}})}
    )
    assert response.status_code == 400
    assert "problem" in response.content.decode()
    # Removing the last step.
    single = copy.deepcopy(DEFINITION)
    del single["form"]["steps"][1]
    _create(admin, org_tree["food"], code="single", definition=single)
    response = admin_client.post("/manage/procedures/single/steps/applicant/remove/")
    assert response.status_code == 400
    assert "last step cannot be removed" in response.content.decode()


def test_moving_removing_and_editing_fee_and_workflow_through_the_pages(
    admin_client, admin, org_tree
):
    _create(admin, org_tree["food"])
    base = "/manage/procedures/food-permit/"
    assert admin_client.post(f"{base}fields/kind/move/", {"direction": "up"}).status_code == 302
    assert _keys(_draft("food-permit").definition) == ["kind", "full_name"]
    assert admin_client.get(f"{base}fields/full_name/remove/").status_code == 200
    assert admin_client.post(f"{base}fields/full_name/remove/").status_code == 302
    assert _keys(_draft("food-permit").definition) == ["kind"]

    response = admin_client.post(
        f"{base}fee/",
        {
            "kind": "fixed",
            "amount": "2000",
            "due": "before_review",
            "methods": ["card", "cash"],
            "waiver_count": "1",
            "waiver_0_op": "equals",
            "waiver_0_label_ja": "生活保護受給者",
            "waiver_0_field": "kind",
            "waiver_0_value": "person",
        },
    )
    assert response.status_code == 302
    fee = _draft("food-permit").definition["fee"]
    assert fee["methods"] == ["card", "cash"]
    assert fee["waivers"] == [
        {
            "condition": {"field": "kind", "op": "equals", "value": "person"},
            "label": {"ja": "生活保護受給者"},
        }
    ]
    editor = admin_client.get(base).content.decode()
    assert "fails Cashless" in editor

    response = admin_client.post(
        f"{base}workflow/",
        {
            "approval": "single",
            "identity_check": "online",
            "delivery_methods": ["electronic"],
            "contact_channels": ["email"],
            "result_kind": "permit",
        },
    )
    assert response.status_code == 302
    definition = _draft("food-permit").definition
    assert definition["workflow"] == {"approval": "single"}
    assert definition["contact"] == {"channels": ["email"]}
    assert definition["result_document"] == {"kind": "permit"}


def test_editing_needs_a_draft_which_is_started_by_a_post(admin_client, admin, org_tree):
    procedure = _create(admin, org_tree["food"])
    services.version_publish(actor=admin, version=procedure.versions.get())
    editor = admin_client.get("/manage/procedures/food-permit/")
    assert "Start a new draft" in editor.content.decode()
    assert procedure.versions.count() == 1  # a GET creates nothing
    response = admin_client.post(
        "/manage/procedures/food-permit/fields/kind/move/", {"direction": "up"}
    )
    assert response.status_code == 302
    assert procedure.versions.count() == 1

    assert admin_client.post("/manage/procedures/food-permit/draft/").status_code == 302
    draft = _draft("food-permit")
    assert draft.number == 2
    admin_client.post(
        "/manage/procedures/food-permit/fields/full_name/",
        {**_field_post("full_name", "氏名"), "required": "on", "required_if_op": "equals"},
    )
    editor = admin_client.get("/manage/procedures/food-permit/").content.decode()
    assert "Changes since the published version 1" in editor
    assert "required: no → yes" in editor


def test_import_shows_every_problem_and_writes_nothing(admin_client, admin, org_tree):
    document = {
        "format": "cityproc.procedure-definition",
        "format_version": 1,
        "procedure": {"code": "x"},
        "version": {"form": {"steps": []}},
    }
    upload = io.BytesIO(json.dumps(document).encode())
    upload.name = "bad.json"
    response = admin_client.post("/manage/procedures/import/", {"file": upload})
    assert response.status_code == 400
    text = response.content.decode()
    assert "nothing was imported" in text
    assert "<code>procedure</code>" in text or "procedure.code" in text
    assert not Procedure.objects.exists()

    exported = services.procedure_export(
        procedure=_create(admin, org_tree["food"]),
        version=ProcedureVersion.objects.get(procedure__code="food-permit"),
    )
    exported["procedure"]["code"] = "food-permit-copy"
    upload = io.BytesIO(json.dumps(exported, ensure_ascii=False).encode())
    upload.name = "good.json"
    response = admin_client.post(
        "/manage/procedures/import/", {"file": upload, "organization": org_tree["food"].pk}
    )
    assert response.status_code == 302
    assert response["Location"] == "/manage/procedures/food-permit-copy/"


def test_export_downloads_the_exchange_document(admin_client, admin, org_tree):
    _create(admin, org_tree["food"])
    response = admin_client.get("/manage/procedures/food-permit/export/")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    document = json.loads(response.content)
    assert document["procedure"]["code"] == "food-permit"
    assert document["version"] == DEFINITION


def test_an_exemption_request_and_retiring_go_through_their_pages(admin_client, admin, org_tree):
    procedure = _create(admin, org_tree["food"])
    response = admin_client.post(
        "/manage/procedures/food-permit/exemptions/request/",
        {
            "principle": "paperless",
            "reason": "法律で原本の提示が必要",
            "legal_basis": "食品衛生法",
            "within_city_discretion": "no",
        },
    )
    assert response.status_code == 302
    exemption = procedure.exemptions.get()
    assert exemption.within_city_discretion is False
    editor = admin_client.get("/manage/procedures/food-permit/").content.decode()
    assert "Requested" in editor

    assert admin_client.get("/manage/procedures/food-permit/retire/").status_code == 200
    assert admin_client.post("/manage/procedures/food-permit/retire/").status_code == 302
    procedure.refresh_from_db()
    assert procedure.status == "retired"


def test_adding_a_field_asks_for_its_type_first_and_opens_its_settings(
    admin_client, admin, org_tree
):
    _create(admin, org_tree["food"])
    url = "/manage/procedures/food-permit/steps/applicant/add-field/"
    chooser = admin_client.get(url)
    assert chooser.status_code == 200
    assert b'name="type" value="choice"' in chooser.content
    assert b'name="label_ja"' not in chooser.content
    form = admin_client.get(f"{url}?type=choice").content.decode()
    current = form[form.index('data-settings-slot="current"') : form.index("data-other-settings")]
    assert 'name="choices"' in current and 'name="min_length"' not in current
    assert 'value="choice" selected' in form


def test_every_builder_page_renders_for_a_draft_with_a_group_and_a_published_version(
    admin_client, admin, org_tree
):
    definition = copy.deepcopy(DEFINITION)
    definition["form"]["steps"][1]["fields"].append(
        {
            "key": "staff",
            "type": "group",
            "label": {"ja": "従業員"},
            "fields": [{"key": "staff_name", "type": "text", "label": {"ja": "氏名"}}],
        }
    )
    definition["form"]["steps"][1]["condition"] = {
        "any": [{"field": "kind", "op": "equals", "value": "business"}]
    }
    procedure = _create(admin, org_tree["food"], definition=definition)
    services.version_publish(actor=admin, version=procedure.versions.get())
    services.procedure_draft(actor=admin, procedure=procedure)
    base = "/manage/procedures/food-permit/"
    for path in (
        "",
        "details/",
        "add-step/",
        "steps/business/",
        "steps/business/remove/",
        "steps/business/add-field/?type=group",
        "fields/staff/",
        "fields/staff/add-field/?type=date",
        "fields/staff/fields/staff_name/",
        "fields/staff/fields/staff_name/remove/",
        "fee/",
        "workflow/",
        "json/",
        "exemptions/request/?principle=paperless",
        "publish/",
        "retire/",
        "preview/business/",
        "preview/check-answers/",
    ):
        response = admin_client.get(base + path)
        assert response.status_code == 200, path
        assert b"style=" not in response.content, path
    # A combined condition is described and kept unless unticked.
    step_page = admin_client.get(base + "steps/business/").content.decode()
    assert "Keep the current combined condition" in step_page
    response = admin_client.post(
        base + "steps/business/",
        {"key": "business", "title_ja": "事業者", "condition_keep": "on", "condition_op": "equals"},
    )
    assert response.status_code == 302
    assert _draft("food-permit").definition["form"]["steps"][1]["condition"] == {
        "any": [{"field": "kind", "op": "equals", "value": "business"}]
    }
    # The group's own page lists and moves its sub-fields.
    admin_client.post(
        base + "fields/staff/add-field/",
        {**_field_post("staff_role", "役職"), "required_if_op": "equals"},
    )
    response = admin_client.post(base + "fields/staff/fields/staff_role/move/", {"direction": "up"})
    assert response["Location"] == base + "fields/staff/"
    group = lookup.find_field(_draft("food-permit").definition, "staff")
    assert [sub["key"] for sub in group["fields"]] == ["staff_role", "staff_name"]
