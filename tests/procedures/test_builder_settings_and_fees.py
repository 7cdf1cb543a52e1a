"""The builder's field page (each type's own settings, the preview rendered by the
form engine) and fee page (rules and waivers as inputs, the example amount, the
services' problems next to their input), with and without the page scripts."""

from __future__ import annotations

import copy
import re
from html import unescape
from html.parser import HTMLParser

import pytest
from django.template.loader import render_to_string

from accounts.models import Role
from procedures import services
from procedures.builder.forms.fee import FeeForm
from procedures.fees import fee_amount, fee_breakdown
from procedures.form_engine import engine, html
from tests.procedures.test_builder import (
    DEFINITION,
    _create,
    _draft,
    _staff,
    _verified_login,
)

pytestmark = pytest.mark.django_db

BASE = "/manage/procedures/food-permit/"


@pytest.fixture
def admin(org_tree):
    return _staff(org_tree["health"])


@pytest.fixture
def admin_client(client, admin):
    _verified_login(client, admin)
    return client


@pytest.fixture
def procedure(admin, org_tree):
    definition = copy.deepcopy(DEFINITION)
    definition["form"]["steps"][0]["fields"] += [
        {"key": "copies", "type": "integer", "label": {"ja": "請求部数", "en": "Copies"}},
        {
            "key": "staff",
            "type": "group",
            "label": {"ja": "従業員", "en": "Staff"},
            "fields": [{"key": "staff_name", "type": "text", "label": {"ja": "従業員氏名"}}],
        },
    ]
    return _create(admin, org_tree["food"], definition=definition)


# --- Reading the pages ------------------------------------------------------------------


class _Controls(HTMLParser):
    """Every named control of a page with the settings slot it sits in, and the
    values a browser would send for the form with the given id."""

    def __init__(self, form_id: str = "") -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.slots: dict[str, str] = {}  # input name -> data-settings-slot around it
        self.posted: list[tuple[str, str]] = []
        self._stack: list[str | None] = []
        self._in_form = False
        self._select: str | None = None
        self._textarea: str | None = None
        self._text = ""

    VOID = {"input", "br", "img", "meta", "link", "hr"}

    def handle_starttag(self, tag, attrs):
        attrs = {key: value if value is not None else "" for key, value in attrs}
        if tag == "form":
            self._in_form = attrs.get("id") == self.form_id
        if tag not in self.VOID:
            self._stack.append(attrs.get("data-settings-slot"))
        name = attrs.get("name")
        if name and tag in ("input", "select", "textarea"):
            slots = [slot for slot in self._stack if slot]
            self.slots.setdefault(name, slots[-1] if slots else "")
        if not self._in_form or not name:
            if tag == "option" and self._select is not None and "selected" in attrs:
                self.posted.append((self._select, attrs.get("value", "")))
            return
        if tag == "input":
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            if kind in ("submit", "file"):
                return
            default = "on" if kind in ("checkbox", "radio") else ""
            self.posted.append((name, attrs.get("value", default)))
        elif tag == "select":
            self._select = name
        elif tag == "textarea":
            self._textarea, self._text = name, ""

    def handle_data(self, data):
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag not in self.VOID and self._stack:
            self._stack.pop()
        if tag == "form":
            self._in_form = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # A browser drops the newline right after <textarea>.
            self.posted.append((self._textarea, self._text.removeprefix("\n")))
            self._textarea = None


def _controls(response, form_id: str = "") -> _Controls:
    parser = _Controls(form_id)
    parser.feed(response.content.decode())
    return parser


def _post_data(response, form_id: str) -> dict[str, list[str]]:
    data: dict[str, list[str]] = {}
    for name, value in _controls(response, form_id).posted:
        data.setdefault(name, []).append(value)
    return data


def _errors_of(response, input_id: str) -> str:
    """The error list the page shows next to one input (id="<input id>_error")."""
    match = re.search(
        rf'id="{input_id}_error">(.*?)</ul>', response.content.decode(), flags=re.DOTALL
    )
    return unescape(re.sub(r"<[^>]+>", " ", match.group(1))) if match else ""


def _fragment(response) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


# --- Each type's own settings ---------------------------------------------------------------

# What an admin sees for each type, written out here rather than read from the table.
OWN_SETTINGS = {
    "text": {"min_length", "max_length", "pattern", "pattern_message_ja", "pattern_message_en",
             "prefill"},
    "textarea": {"min_length", "max_length", "pattern", "pattern_message_ja",
                 "pattern_message_en", "prefill"},
    "integer": {"min", "max", "display"},
    "decimal": {"min", "max", "decimal_places"},
    "date": {"min_date", "max_date", "prefill"},
    "email": set(),
    "phone": set(),
    "postal_code": set(),
    "address": {"prefill"},
    "name": {"prefill"},
    "choice": {"choices"},
    "multi_choice": {"choices", "min_choices", "max_choices"},
    "consent": set(),
    "file": {"accept", "max_size_mb", "max_files", "paper_original_required"},
    "my_number": set(),
    "corporate_number": set(),
    "group": {"min_items", "max_items"},
}  # fmt: skip
EVERY_SETTING = set().union(*OWN_SETTINGS.values())


@pytest.mark.parametrize("kind", sorted(OWN_SETTINGS))
def test_the_field_page_shows_the_chosen_types_settings_and_only_those(
    admin_client, procedure, kind
):
    response = admin_client.get(f"{BASE}steps/applicant/add-field/?type={kind}")
    assert response.status_code == 200
    slots = _controls(response).slots
    shown = {name for name, slot in slots.items() if slot == "current"}
    assert shown == OWN_SETTINGS[kind]
    # Without script the others are on the page too, each once, under its heading.
    others = {name for name, slot in slots.items() if slot and slot != "current"}
    assert others == EVERY_SETTING - OWN_SETTINGS[kind]
    page = response.content.decode()
    assert ("data-no-settings hidden" in page) == bool(OWN_SETTINGS[kind])


def test_a_sub_field_is_offered_no_group_and_no_group_settings(admin_client, procedure):
    response = admin_client.get(f"{BASE}fields/staff/add-field/?type=integer")
    assert response.status_code == 200
    slots = _controls(response).slots
    assert "min_items" not in slots and "max_items" not in slots
    assert 'value="group"' not in response.content.decode()


def test_editing_a_field_shows_its_settings_filled_in(admin_client, procedure):
    response = admin_client.get(f"{BASE}fields/kind/")
    slots = _controls(response).slots
    assert {name for name, slot in slots.items() if slot == "current"} == {"choices"}
    assert "person|個人\nbusiness|法人" in response.content.decode()


def test_settings_of_another_type_are_refused_with_a_message_next_to_them(admin_client, procedure):
    response = admin_client.post(
        f"{BASE}fields/copies/",
        {"key": "copies", "type": "integer", "label_ja": "請求部数", "max_length": "5", "min": "1"},
    )
    assert response.status_code == 400
    assert "does not apply to fields of the type “Whole number”" in _errors_of(
        response, "id_max_length"
    )
    assert "max_length" not in _draft("food-permit").definition["form"]["steps"][0]["fields"][2]


def test_saving_a_field_writes_only_its_types_settings(admin_client, procedure):
    response = admin_client.post(
        f"{BASE}fields/copies/",
        {"key": "copies", "type": "integer", "label_ja": "請求部数", "min": "1", "max": "10"},
    )
    assert response.status_code == 302
    spec = _draft("food-permit").definition["form"]["steps"][0]["fields"][2]
    assert spec == {
        "key": "copies",
        "type": "integer",
        "label": {"ja": "請求部数"},
        "min": 1,
        "max": 10,
    }


# --- The field preview ----------------------------------------------------------------------


def _engine_markup(spec: dict) -> str:
    """The field as the residents' step page renders it."""
    step = {"key": "s", "fields": [spec]}
    view = html.step_views({"steps": [step]}, step, {})[0]
    return render_to_string("forms/field.html", {"field": view})


def test_the_preview_endpoint_renders_the_typed_field_with_the_form_engine(admin_client, procedure):
    response = admin_client.get(
        f"{BASE}field-preview/",
        {
            "type": "multi_choice",
            "key": "purposes",
            "label_ja": "使用目的",
            "label_en": "Purposes",
            "help_en": "Tick all that apply.",
            "required": "on",
            "choices": "sale|売買|Sale\nloan|融資|Loan",
        },
    )
    assert response.status_code == 200
    expected = _engine_markup(
        {
            "key": "purposes",
            "type": "multi_choice",
            "label": {"ja": "使用目的", "en": "Purposes"},
            "help": {"ja": "", "en": "Tick all that apply."},
            "required": True,
            "choices": [
                {"value": "sale", "label": {"ja": "売買", "en": "Sale"}},
                {"value": "loan", "label": {"ja": "融資", "en": "Loan"}},
            ],
        }
    )
    assert expected.strip() in response.content.decode()
    assert 'type="checkbox" name="f.purposes"' in expected
    # The page's own language: the English label for an admin reading English.
    assert "Purposes" in _fragment(response) and "(required)" in _fragment(response)


def test_the_preview_shows_what_cleans_while_settings_are_being_typed(admin_client, procedure):
    response = admin_client.get(
        f"{BASE}field-preview/", {"type": "integer", "min": "10", "max": "1", "key": ""}
    )
    assert response.status_code == 200
    assert 'name="f.new_field"' in response.content.decode()
    assert "(no label yet)" in _fragment(response)
    assert "Choose a type" in _fragment(admin_client.get(f"{BASE}field-preview/?type=nonsense"))


def test_the_preview_of_a_group_shows_an_item_with_its_saved_sub_fields(admin_client, procedure):
    response = admin_client.get(
        f"{BASE}field-preview/",
        {"type": "group", "key": "staff", "label_ja": "従業員", "preview_field": "staff"},
    )
    page = response.content.decode()
    assert 'name="f.staff.0.staff_name"' in page
    # The preview sends nothing: no "add an item" button.
    assert 'name="group_add"' not in page


def test_the_field_page_shows_the_saved_field_and_without_script_previews_what_was_sent(
    admin_client, procedure
):
    page = admin_client.get(f"{BASE}fields/kind/").content.decode()
    preview = page[page.index("data-field-preview") :]
    assert 'type="radio" name="f.kind" id="f-kind-person"' in preview
    response = admin_client.post(
        f"{BASE}fields/kind/",
        {
            "key": "kind",
            "type": "choice",
            "label_ja": "種別",
            "choices": "person|個人\nbusiness|法人\nnpo|NPO法人",
            "preview": "1",
        },
    )
    assert response.status_code == 200
    assert 'id="f-kind-npo"' in response.content.decode()
    choices = _draft("food-permit").definition["form"]["steps"][0]["fields"][1]["choices"]
    assert [choice["value"] for choice in choices] == ["person", "business"]  # not saved


# --- Permissions of the new pages -----------------------------------------------------------


@pytest.mark.parametrize("path", ["field-preview/?type=text", "fee-example/?kind=fixed"])
def test_the_preview_pages_are_the_managers_only(client, procedure, org_tree, path):
    assert client.get(BASE + path).status_code == 302  # to the login page
    for organization, role in (
        (org_tree["taxation"], Role.DEPARTMENT_ADMIN),  # another department's admin
        (org_tree["food"], Role.CLERK),  # a clerk of the department itself
    ):
        client.logout()
        _verified_login(client, _staff(organization, role=role))
        assert client.get(BASE + path).status_code == 404, (organization, role)
        assert client.get(f"/manage/procedures/no-such-procedure/{path}").status_code == 404


def test_the_manager_opens_the_preview_pages(admin_client, procedure):
    for path in ("field-preview/?type=text", "fee-example/?kind=fixed"):
        assert admin_client.get(BASE + path).status_code == 200


# --- The fee form ------------------------------------------------------------------------------

ROUND_TRIP_FEES = [
    {"kind": "none"},
    {"kind": "fixed", "amount": 18300, "due": "before_review", "methods": ["card", "qr_code"]},
    {
        "kind": "per_item",
        "unit_amount": 400,
        "item_field": "copies",
        "due": "on_approval",
        "methods": ["bank_transfer"],
        "waivers": [
            {
                "condition": {"field": "kind", "op": "equals", "value": "person"},
                "label": {"ja": "生活保護受給世帯", "en": "Households on public assistance"},
            }
        ],
    },
    {
        "kind": "computed",
        "amount": 1000,
        "rules": [
            {"condition": {"field": "copies", "op": "gt", "value": 1}, "amount": 300},
            {
                "condition": {
                    "any": [
                        {"field": "kind", "op": "equals", "value": "business"},
                        {"field": "full_name", "op": "filled"},
                    ]
                },
                "amount": 500,
                "label": {"ja": "法人加算", "en": "Corporate surcharge"},
            },
        ],
        "waivers": [
            {
                "condition": {"not": {"field": "copies", "op": "gte", "value": 1}},
                "label": {"ja": "部数なし"},
            }
        ],
        "due": "before_review",
        "methods": ["card", "convenience_store"],
    },
]


def _set_fee(admin, fee):
    draft = _draft("food-permit")
    services.version_update(actor=admin, version=draft, definition={**draft.definition, "fee": fee})


@pytest.mark.parametrize("fee", ROUND_TRIP_FEES, ids=[fee["kind"] for fee in ROUND_TRIP_FEES])
def test_the_fee_form_round_trips_to_the_same_json(admin_client, admin, procedure, fee):
    _set_fee(admin, fee)
    page = admin_client.get(f"{BASE}fee/")
    assert page.status_code == 200
    # Enter presses the first button of a form: saving, not adding or removing a row.
    form = page.content.decode().split('id="fee-form"', 1)[1]
    assert re.match(r'[^<]*(<(?!button)[^>]*>[^<]*)*<button type="submit" name="save"', form)
    data = {**_post_data(page, "fee-form"), "save": ["1"]}
    response = admin_client.post(f"{BASE}fee/", data)
    assert response.status_code == 302, _fragment(response)[:2000]
    assert _draft("food-permit").definition["fee"] == fee


def test_the_fee_inputs_keep_only_what_the_kind_takes(admin_client, admin, procedure):
    response = admin_client.post(
        f"{BASE}fee/",
        {
            "kind": "fixed",
            "amount": "500",
            "unit_amount": "400",
            "item_field": "copies",
            "methods": ["card"],
            "rule_count": "1",
            "rule_0_amount": "300",
            "rule_0_field": "copies",
            "rule_0_op": "gt",
            "rule_0_value": "1",
        },
    )
    assert response.status_code == 302
    assert _draft("food-permit").definition["fee"] == {
        "kind": "fixed",
        "amount": 500,
        "due": "before_review",
        "methods": ["card"],
    }


def test_invalid_fee_input_is_shown_next_to_its_input_and_nothing_typed_is_lost(
    admin_client, admin, procedure
):
    before = _draft("food-permit").definition["fee"]
    response = admin_client.post(
        f"{BASE}fee/",
        {
            "kind": "computed",
            "amount": "1000",
            "methods": ["card"],
            "rule_count": "2",
            "rule_0_label_ja": "2部目以降",
            "rule_0_amount": "-5",
            "rule_0_field": "copies",
            "rule_0_op": "gt",
            "rule_0_value": "1",
            "rule_1_label_ja": "法人加算",
            "rule_1_amount": "500",
            "rule_1_op": "equals",
            "waiver_count": "1",
            "waiver_0_label_en": "Households on public assistance",
            "waiver_0_field": "kind",
            "waiver_0_op": "equals",
            "waiver_0_value": "nobody",
        },
    )
    assert response.status_code == 400
    assert "greater than or equal to 0" in _errors_of(response, "id_rule_0_amount")
    assert "Choose when the rule applies." in _errors_of(response, "id_rule_1_field")
    assert "Enter the Japanese text too" in _errors_of(response, "id_waiver_0_label_ja")
    assert "Not an option of this field: nobody" in _errors_of(response, "id_waiver_0_value")
    posted = _post_data(response, "fee-form")
    assert posted["rule_0_label_ja"] == ["2部目以降"]
    assert posted["rule_0_amount"] == ["-5"]
    assert posted["rule_1_label_ja"] == ["法人加算"]
    assert posted["waiver_0_label_en"] == ["Households on public assistance"]
    assert posted["waiver_0_value"] == ["nobody"]
    assert posted["kind"] == ["computed"]
    # The summary names the row of each problem.
    assert "Question of rule 2: Choose when the rule applies." in _fragment(response)
    assert _draft("food-permit").definition["fee"] == before


def test_the_services_problems_of_the_fee_are_shown_next_to_their_input(admin_client, procedure):
    response = admin_client.post(f"{BASE}fee/", {"kind": "fixed"})
    assert response.status_code == 400
    assert "A fixed fee needs an amount." in _errors_of(response, "id_amount")
    assert "Choose at least one payment method." in _errors_of(response, "id_methods")
    # A combined condition (kept from the JSON) that reads a field the form lacks,
    # after an empty row: the message goes to the row it came from.
    response = admin_client.post(
        f"{BASE}fee/",
        {
            "kind": "per_item",
            "unit_amount": "400",
            "item_field": "copies",
            "methods": ["card"],
            "waiver_count": "2",
            "waiver_0_op": "equals",
            "waiver_1_label_ja": "存在しない項目",
            "waiver_1_combined": '{"any": [{"field": "ghost", "op": "filled"}]}',
            "waiver_1_keep": "on",
        },
    )
    assert response.status_code == 400
    assert _errors_of(response, "id_waiver_0_field") == ""
    assert "The fee refers to “ghost”, which is not a field." in _errors_of(
        response, "id_waiver_1_field"
    )
    assert _draft("food-permit").definition["fee"] == {"kind": "none"}


def test_the_fee_is_saved_only_without_the_problems_publishing_would_refuse(admin, procedure):
    with pytest.raises(services.DefinitionInvalid) as refusal:
        services.version_fee_update(
            actor=admin,
            version=_draft("food-permit"),
            fee={"kind": "per_item", "unit_amount": 400, "item_field": "full_name"},
        )
    assert [problem["path"] for problem in refusal.value.details] == [
        "version.fee.item_field",
        "version.fee.methods",
    ]


def test_adding_and_removing_rows_keeps_every_value_and_saves_nothing(admin_client, procedure):
    typed = {
        "kind": "computed",
        "amount": "abc",  # not valid yet: kept as typed, no error shown yet
        "rule_count": "2",
        "rule_0_label_ja": "一件目",
        "rule_0_amount": "100",
        "rule_0_field": "copies",
        "rule_0_op": "gt",
        "rule_0_value": "1",
        "rule_1_label_ja": "二件目",
        "rule_1_amount": "200",
        "rule_1_field": "kind",
        "rule_1_op": "equals",
        "rule_1_value": "business",
    }
    added = admin_client.post(f"{BASE}fee/", {**typed, "add_rule": "1"})
    assert added.status_code == 200
    assert "There is a problem" not in added.content.decode()
    posted = _post_data(added, "fee-form")
    assert posted["rule_count"] == ["3"] and posted["amount"] == ["abc"]
    assert posted["rule_1_label_ja"] == ["二件目"] and posted["rule_2_label_ja"] == [""]
    assert re.search(r'name="rule_2_label_ja"[^>]*autofocus', added.content.decode())

    removed = admin_client.post(f"{BASE}fee/", {**typed, "remove_rule": "0"})
    posted = _post_data(removed, "fee-form")
    assert posted["rule_count"] == ["1"]
    assert posted["rule_0_label_ja"] == ["二件目"]
    assert posted["rule_0_field"] == ["kind"] and posted["rule_0_value"] == ["business"]
    assert _draft("food-permit").definition["fee"] == {"kind": "none"}


def test_the_json_view_saves_the_fee_and_shows_its_problems_next_to_it(admin_client, procedure):
    response = admin_client.post(
        f"{BASE}fee/",
        {"kind": "none", "fee_json": '{"kind": "fixed", "amount": 300}', "save_json": "1"},
    )
    assert response.status_code == 400
    assert "fee.methods: Choose at least one payment method." in _errors_of(response, "id_fee_json")
    assert '"amount": 300' in unescape(response.content.decode())  # the JSON as typed
    response = admin_client.post(f"{BASE}fee/", {"fee_json": "[1", "save_json": "1"})
    assert "This is not valid JSON" in _errors_of(response, "id_fee_json")
    fee = {"kind": "fixed", "amount": 300, "methods": ["card"]}
    response = admin_client.post(
        f"{BASE}fee/", {"fee_json": '{"kind": "fixed", "amount": 300, "methods": ["card"]}',
                        "save_json": "1"},
    )  # fmt: skip
    assert response.status_code == 302
    assert _draft("food-permit").definition["fee"] == fee


# --- The example amount -------------------------------------------------------------------


def test_the_example_of_a_per_item_fee_counts_two_items_until_told_otherwise(
    admin_client, admin, procedure
):
    query = {"kind": "per_item", "unit_amount": "400", "item_field": "copies", "methods": "card"}
    example = _fragment(admin_client.get(f"{BASE}fee-example/", query))
    assert "Fee: 800 yen" in example
    assert "If “Copies” is 2: 400 yen × 2 copies = 800 yen" in example
    example = _fragment(admin_client.get(f"{BASE}fee-example/", {**query, "f.copies": "25"}))
    assert "If “Copies” is 25: 400 yen × 25 copies = 10,000 yen" in example
    # In Japanese, for an admin who reads Japanese.
    admin.preferred_language = "ja"
    admin.save(update_fields=["preferred_language"])
    response = admin_client.get(f"{BASE}fee-example/", {**query, "f.copies": "3"})
    assert "「請求部数」が3の場合: 400円 × 3通 = 1,200円" in _fragment(response)


def test_the_example_shows_the_rules_and_waivers_that_apply(admin_client, procedure):
    query = {
        "kind": "computed",
        "amount": "1000",
        "methods": "card",
        "rule_count": "1",
        "rule_0_label_ja": "2部目以降",
        "rule_0_amount": "300",
        "rule_0_field": "copies",
        "rule_0_op": "gt",
        "rule_0_value": "1",
        "waiver_count": "1",
        "waiver_0_label_ja": "個人",
        "waiver_0_field": "kind",
        "waiver_0_op": "equals",
        "waiver_0_value": "person",
    }
    response = admin_client.get(f"{BASE}fee-example/", {**query, "f.copies": "2"})
    example = _fragment(response)
    assert "Fee: 1,300 yen Base fee: 1,000 yen 2部目以降: 300 yen" in example
    # The example's answers are the form engine's inputs of the fields the fee reads.
    page = response.content.decode()
    assert 'data-keys="copies kind"' in page and 'name="f.kind" id="f-kind-person"' in page
    waived = _fragment(admin_client.get(f"{BASE}fee-example/", {**query, "f.kind": "person"}))
    assert "Fee: 0 yen" in waived and "Waived (個人): −1,000 yen" in waived
    nothing = _fragment(admin_client.get(f"{BASE}fee-example/", {**query, "f.copies": "1"}))
    assert "Fee: 1,000 yen Base fee: 1,000 yen No rule applies to these answers." in nothing
    # An example answer the form engine refuses gets its message, as on a resident's page.
    refused = _fragment(admin_client.get(f"{BASE}fee-example/", {**query, "f.copies": "x"}))
    assert "Enter a whole number" in refused or "whole number" in refused


def test_the_example_says_what_keeps_the_fee_from_being_saved(admin_client, procedure):
    example = _fragment(admin_client.get(f"{BASE}fee-example/", {"kind": "fixed", "amount": "-1"}))
    assert "The example appears once the fee is complete" in example
    assert "greater than or equal to 0" in example
    example = _fragment(admin_client.get(f"{BASE}fee-example/", {"kind": "fixed", "amount": "9"}))
    assert "Fee: 9 yen" in example and "Choose at least one payment method." in example


def test_the_example_amount_is_the_fee_a_filing_is_charged(procedure):
    """The example and a filing go through the same fee_amount, on answers the
    form engine cleaned."""
    definition = _draft("food-permit").definition
    fee = ROUND_TRIP_FEES[3]
    form = FeeForm(
        None, fee=fee, form_fields=definition["form"]["steps"][0]["fields"]
    )  # the page as opened
    assert form.example_keys() == ["copies", "kind", "full_name"]
    for answers, expected in (
        ({"copies": "1"}, 1000),
        ({"copies": "3"}, 1300),
        ({"copies": "3", "kind": "business"}, 1800),
        ({"copies": "0"}, 0),  # waived: no copy
    ):
        cleaned = engine.validate(definition["form"], answers).data
        assert fee_amount(fee, cleaned) == expected
        assert fee_breakdown(fee, cleaned).total == expected
