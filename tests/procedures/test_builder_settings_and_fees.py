"""The builder's field page (each type's own settings, the preview rendered by the
form engine), with and without the page script."""

from __future__ import annotations

import copy
import re
from html import unescape
from html.parser import HTMLParser

import pytest
from django.template.loader import render_to_string

from accounts.models import Role
from procedures.form_engine import html
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
    "integer": {"min", "max"},
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


@pytest.mark.parametrize("path", ["field-preview/?type=text"])
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
    for path in ("field-preview/?type=text",):
        assert admin_client.get(BASE + path).status_code == 200
