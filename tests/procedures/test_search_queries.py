"""The catalogue search as residents use it: the query table of docs/procedures.md
against the demo catalogue, the page's referrals and suggestions, and the
department's keywords and readings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from accounts.models import Role
from procedures import search, selectors
from procedures.models import Procedure
from procedures.reading import reading_of
from procedures.services import procedure_update
from tests.factories import MembershipFactory, OrganizationFactory, ProcedureFactory

pytestmark = pytest.mark.django_db

TABLE = Path(settings.BASE_DIR) / "docs" / "procedures.md"


def _query_table() -> list[tuple[str, str, str, str]]:
    text = TABLE.read_text(encoding="utf-8")
    block = text.split("<!-- search-queries:start -->")[1].split("<!-- search-queries:end -->")[0]
    rows = []
    for line in block.strip().splitlines()[2:]:
        query, kind, expected, rank = (cell.strip() for cell in line.strip("|").split("|"))
        rows.append((query, kind, expected, rank))
    return rows


@pytest.fixture
def demo(capsys):
    call_command("seed_demo")
    capsys.readouterr()


def test_the_documented_table_holds_at_least_thirty_kinds_of_query():
    rows = _query_table()
    assert len(rows) >= 30
    kinds = " ".join(kind for _query, kind, _expected, _rank in rows)
    for kind in ("kanji", "hiragana", "half-width", "English", "typo", "life event"):
        assert kind in kinds


def test_every_documented_query_finds_its_procedure_at_the_documented_rank(demo):
    catalogue = selectors.published_procedures()
    wrong = []
    for query, _kind, expected, rank in _query_table():
        found = [p.code for p in selectors.search_procedures(catalogue, query)]
        if rank == "referral":
            referrals = [referral.key for referral in search.referrals_for(query)]
            if expected not in referrals or found:
                wrong.append(f"{query}: referrals {referrals}, found {found}")
        elif rank == "suggested":
            closest = [p.code for p in selectors.closest_procedures(catalogue, query)]
            if found or not closest or closest[0] != expected:
                wrong.append(f"{query}: found {found}, suggested {closest}")
        elif expected not in found or found.index(expected) + 1 != int(rank):
            wrong.append(f"{query}: {found}")
    assert not wrong, wrong


def test_a_search_for_what_another_office_issues_says_where_to_go(client, demo):
    content = client.get("/procedures/", {"q": "住民票"}, HTTP_ACCEPT_LANGUAGE="ja").content
    content = content.decode()
    assert "「住民票の写し」はこちらでは扱っていません" in content
    assert "お住まいの区市町村が交付しています" in content
    assert 'href="https://www.lg-waps.go.jp/"' in content
    english = client.get("/procedures/", {"q": "family register"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "is not handled here" in english.content.decode()
    assert "registered domicile" in english.content.decode()


def test_a_search_that_finds_nothing_suggests_similar_names_and_categories(client, demo):
    content = client.get("/procedures/", {"q": "nursary"}, HTTP_ACCEPT_LANGUAGE="en").content
    content = content.decode()
    assert "No procedures match." in content
    assert "Procedures with a similar name:" in content
    assert 'href="/procedures/nursery-school-admission/"' in content
    assert "?category=childcare" in content
    nothing = client.get("/procedures/", {"q": "xyzzy"}, HTTP_ACCEPT_LANGUAGE="ja")
    text = nothing.content.decode()
    assert "ほかの探し方" in text and "?category=" in text
    assert "名称が近い手続" not in text  # nothing is like it, so no names are offered


def test_results_are_ranked_title_first_then_keywords_then_elsewhere(demo):
    catalogue = selectors.published_procedures()
    codes = [p.code for p in selectors.search_procedures(catalogue, "license")]
    # Only this one's title holds "license"; the others are found by the synonym 許可.
    assert codes[0] == "hazardous-materials-license-rewrite"
    assert len(codes) > 1


def test_a_departments_keywords_and_readings_are_searchable_once_saved():
    organization = OrganizationFactory()
    manager = MembershipFactory(organization=organization, role=Role.DEPARTMENT_ADMIN).user
    procedure = ProcedureFactory(owning_organization=organization, title_ja="犬の登録")
    assert not selectors.search_procedures(Procedure.objects.all(), "ぺっと").exists()
    procedure_update(
        actor=manager,
        procedure=procedure,
        keywords=["ペット", " ペット "],
        readings=["いぬのとうろく"],
    )
    procedure.refresh_from_db()
    assert procedure.keywords == ["ペット"]
    assert selectors.search_procedures(Procedure.objects.all(), "ぺっと").get() == procedure
    assert selectors.search_procedures(Procedure.objects.all(), "イヌノトウロク").exists()


def test_a_reading_must_be_kana_and_the_message_says_so():
    from core.errors import ValidationFailed

    organization = OrganizationFactory()
    manager = MembershipFactory(organization=organization, role=Role.DEPARTMENT_ADMIN).user
    procedure = ProcedureFactory(owning_organization=organization)
    with pytest.raises(ValidationFailed) as failure:
        procedure_update(actor=manager, procedure=procedure, readings=["犬"])
    assert failure.value.details == {"readings": ["読みはひらがなかカタカナだけで書いてください。"]}


def test_the_analyser_reads_titles_as_the_index_does():
    assert reading_of("飲食店営業許可申請") == "いんしょくてんえいぎょうきょかしんせい"
    assert re.fullmatch(r"[ぁ-ゖ]+", reading_of("保育所等入所申込"))


def test_the_builder_details_page_edits_keywords_and_readings_and_shows_the_analysers(
    client, org_tree
):
    from tests.procedures.test_builder import META, _create, _staff, _verified_login

    admin = _staff(org_tree["health"])
    _create(admin, org_tree["food"])
    _verified_login(client, admin)
    page = client.get("/manage/procedures/food-permit/details/").content.decode()
    # What the analyser read the title as, so a wrong reading can be corrected.
    assert "食品営業許可申請 → しょくひんえいぎょうきょかしんせい" in page
    form = {**META, "life_events": [], "annual_volume": 0}
    refused = client.post(
        "/manage/procedures/food-permit/details/",
        {**form, "keywords": "レストラン\nカフェ", "readings": "食品"},
    )
    assert refused.status_code == 400  # the form again, with the message
    text = refused.content.decode()
    assert "Write readings in hiragana or katakana only." in text
    assert "レストラン\nカフェ" in text  # nothing typed is lost
    saved = client.post(
        "/manage/procedures/food-permit/details/",
        {**form, "keywords": "レストラン\nカフェ\n", "readings": "しょくひん"},
    )
    assert saved.status_code == 302
    procedure = Procedure.objects.get(code="food-permit")
    assert (procedure.keywords, procedure.readings) == (["レストラン", "カフェ"], ["しょくひん"])
    assert "れすとらん" in procedure.search_keywords


def test_the_api_and_the_open_format_carry_keywords_and_readings(org_tree):
    from procedures.services import procedure_export, procedure_import
    from tests.procedures.test_builder import _create, _staff

    admin = _staff(org_tree["health"])
    procedure = _create(admin, org_tree["food"])
    procedure_update(actor=admin, procedure=procedure, keywords=["カフェ"], readings=["しょくひん"])
    procedure.refresh_from_db()
    document = procedure_export(procedure=procedure, version=procedure.versions.get())
    assert document["procedure"]["keywords"] == ["カフェ"]
    assert document["procedure"]["readings"] == ["しょくひん"]
    document["procedure"]["code"] = "food-permit-copy"
    document["procedure"]["keywords"] = ["喫茶店"]
    imported = procedure_import(actor=admin, document=document).procedure
    assert imported.keywords == ["喫茶店"]
    assert selectors.search_procedures(Procedure.objects.all(), "きっさてん").get() == imported


def test_the_catalogue_pages_its_results_fifty_at_a_time_keeping_the_search(client, org_tree):
    from tests.factories import ProcedureVersionFactory

    organization = org_tree["food"]
    for number in range(55):
        procedure = ProcedureFactory(
            owning_organization=organization, code=f"permit-{number:02d}", title_ja=f"許可{number}"
        )
        ProcedureVersionFactory(procedure=procedure, published=True)
    first = client.get("/procedures/", {"q": "許可"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "55 procedures found." in first
    assert first.count('href="/procedures/permit-') == 50
    assert "?q=%E8%A8%B1%E5%8F%AF&amp;page=2" in first
    second = client.get("/procedures/", {"q": "許可", "page": 2}, HTTP_ACCEPT_LANGUAGE="en")
    assert second.content.decode().count('href="/procedures/permit-') == 5
    beyond = client.get("/procedures/", {"q": "許可", "page": "x"})
    assert beyond.status_code == 200


def test_the_api_searches_and_ranks_as_the_page_does(client, demo):
    response = client.get("/api/v1/procedures/", {"q": "license"})
    codes = [entry["code"] for entry in response.json()["results"]]
    assert codes[0] == "hazardous-materials-license-rewrite"
    assert "tax-certificate-request" in codes  # its description mentions licences
    by_reading = client.get("/api/v1/procedures/", {"q": "ﾎｲｸ"}).json()["results"]
    assert [entry["code"] for entry in by_reading] == ["nursery-school-admission"]
