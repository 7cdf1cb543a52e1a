"""The builder's co-signers page (docs/cosignature.md): a department admin adds,
changes and removes the roles whose consent the filing needs; what is saved is the
`cosigners` section of the open format, checked like the rest of the definition,
and a condition written in the JSON editor survives the page."""

from __future__ import annotations

import copy

import pytest

from procedures.builder import edits
from procedures.models import ProcedureVersion, VersionState
from tests.procedures.test_builder import DEFINITION, _create, _staff, _verified_login

pytestmark = pytest.mark.django_db
BASE = "/manage/procedures/food-permit/cosigners/"


@pytest.fixture
def admin(org_tree):
    return _staff(org_tree["health"])


@pytest.fixture
def admin_client(client, admin):
    _verified_login(client, admin)
    return client


def _draft() -> ProcedureVersion:
    return ProcedureVersion.objects.get(procedure__code="food-permit", state=VersionState.DRAFT)


def _management(total: int, initial: int) -> dict:
    return {
        "cosigners-TOTAL_FORMS": str(total),
        "cosigners-INITIAL_FORMS": str(initial),
        "cosigners-MIN_NUM_FORMS": "0",
        "cosigners-MAX_NUM_FORMS": "5",
    }


def _role(index: int, **values) -> dict:
    base = {
        "key": "guarantor",
        "label_ja": "連帯保証人",
        "label_en": "Guarantor",
        "required": "on",
        "identity_level": "identity_verified",
        "statement_ja": "連帯保証人となることに同意します。",
        "statement_en": "I agree to be the guarantor.",
        "shows": ["company"],
    } | values
    return {f"cosigners-{index}-{name}": value for name, value in base.items() if value is not None}


def test_a_department_admin_adds_changes_and_removes_a_cosigner(admin_client, admin, org_tree):
    _create(admin, org_tree["food"])
    page = admin_client.get(BASE)
    assert page.status_code == 200
    content = page.content.decode()
    # Only answers a co-signer may read are offered.
    assert 'value="company"' in content and 'value="full_name"' in content

    added = admin_client.post(BASE, _management(1, 0) | _role(0))
    assert added.status_code == 302
    assert _draft().definition["cosigners"] == [
        {
            "key": "guarantor",
            "label": {"ja": "連帯保証人", "en": "Guarantor"},
            "required": True,
            "identity_level": "identity_verified",
            "statement": {
                "ja": "連帯保証人となることに同意します。",
                "en": "I agree to be the guarantor.",
            },
            "shows": ["company"],
        }
    ]
    editor = admin_client.get("/manage/procedures/food-permit/").content.decode()
    assert 'id="cosigners"' in editor and "Guarantor" in editor

    # A condition written in the JSON editor is kept when the page saves again.
    version = _draft()
    definition = copy.deepcopy(version.definition)
    definition["cosigners"][0]["condition"] = {"field": "kind", "op": "equals", "value": "person"}
    version.definition = definition
    version.save(update_fields=["definition"])
    changed = admin_client.post(
        BASE, _management(2, 1) | _role(0, required=None, identity_level="email_verified")
    )
    assert changed.status_code == 302
    role = _draft().definition["cosigners"][0]
    assert role["required"] is False and role["identity_level"] == "email_verified"
    assert role["condition"] == {"field": "kind", "op": "equals", "value": "person"}

    removed = admin_client.post(BASE, _management(2, 1) | _role(0, DELETE="on"))
    assert removed.status_code == 302
    assert "cosigners" not in _draft().definition


def test_the_cosigners_page_refuses_what_the_format_refuses(admin_client, admin, org_tree):
    _create(admin, org_tree["food"])
    twice = admin_client.post(BASE, _management(2, 0) | _role(0) | _role(1))
    assert twice.status_code == 400
    assert "Co-signer keys must be unique." in twice.content.decode()
    no_statement = admin_client.post(BASE, _management(1, 0) | _role(0, statement_ja=""))
    assert no_statement.status_code == 400
    assert "cosigners" not in _draft().definition
    # A removed field that a co-signer was shown: the edit is refused with the reason.
    admin_client.post(BASE, _management(1, 0) | _role(0))
    refused = admin_client.post("/manage/procedures/food-permit/fields/company/remove/")
    assert refused.status_code == 400
    assert "co-signer" in refused.content.decode()
    assert any(
        spec["key"] == "company" for step in _draft().definition["form"]["steps"]
        for spec in step["fields"]
    )  # fmt: skip


def test_renaming_a_field_renames_what_the_cosigner_is_shown(admin, org_tree):
    definition = copy.deepcopy(DEFINITION)
    definition["cosigners"] = [
        {
            "key": "partner",
            "label": {"ja": "共同事業者"},
            "statement": {"ja": "共同で事業を営むことに同意します。"},
            "shows": ["company"],
            "condition": {"field": "company", "op": "filled"},
        }
    ]
    _create(admin, org_tree["food"], definition=definition)
    spec = {"key": "company_name", "type": "text", "label": {"ja": "法人名"}}
    renamed = edits.update_field(_draft().definition, "company", spec)
    role = renamed["cosigners"][0]
    assert role["shows"] == ["company_name"]
    assert role["condition"] == {"field": "company_name", "op": "filled"}


def test_what_changed_since_the_published_version_names_the_cosigners(
    admin_client, admin, org_tree
):
    from procedures import services

    definition = copy.deepcopy(DEFINITION)
    definition["cosigners"] = [
        {
            "key": "partner",
            "label": {"ja": "共同事業者", "en": "Partner"},
            "statement": {"ja": "同意します。"},
            "condition": {"field": "kind", "op": "equals", "value": "business"},
        }
    ]
    procedure = _create(admin, org_tree["food"], definition=definition)
    services.version_publish(actor=admin, version=procedure.versions.get())
    assert admin_client.post("/manage/procedures/food-permit/draft/").status_code == 302
    changed = admin_client.post(
        BASE,
        _management(2, 1)
        | _role(0, key="partner", label_ja="共同事業者", label_en="Partner", shows=None)
        | _role(1),
    )
    assert changed.status_code == 302
    editor = admin_client.get("/manage/procedures/food-permit/")
    assert editor.status_code == 200
    content = editor.content.decode()
    assert "Co-signers: “Guarantor” (guarantor) added." in content
    assert "Co-signers: “Partner” (partner) changed:" in content
