import pytest
from django.core.management import call_command

from procedures.models import Procedure

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(capsys):
    call_command("seed_demo")
    capsys.readouterr()


def test_the_catalogue_lists_every_published_demo_procedure(client, demo):
    response = client.get("/procedures/")
    assert response.status_code == 200
    content = response.content.decode()
    published = Procedure.objects.filter(versions__state="published")
    assert published.count() == 8
    for procedure in published:
        assert f'href="/procedures/{procedure.code}/"' in content
    for draft_only in Procedure.objects.exclude(versions__state="published"):
        assert f'href="/procedures/{draft_only.code}/"' not in content
    assert "飲食店営業許可申請" in content


def test_the_catalogue_filters_by_category(client, demo):
    content = client.get("/procedures/?category=tax").content.decode()
    assert "tax-certificate-request" in content
    assert "food-business-permit" not in content


def test_a_procedure_page_says_what_is_needed_the_fee_and_the_principles(client, demo):
    response = client.get("/procedures/food-business-permit/", HTTP_COOKIE="lang=en")
    assert response.status_code == 200
    content = response.content.decode()
    assert "Food Business Permit" in content
    assert "18,300 yen" in content
    assert "Paperless: met" in " ".join(content.split())
    assert "Floor plan" in content or "floor plan" in content.lower()


def test_the_exempt_procedure_shows_its_approved_exception(client, demo):
    content = client.get(
        "/procedures/hazardous-materials-license-rewrite/", HTTP_COOKIE="lang=en"
    ).content.decode()
    assert "Paperless: exempt (approved exception)" in " ".join(content.split())


def test_an_unpublished_procedure_is_not_found(client, demo):
    procedure = Procedure.objects.get(code="food-business-permit")
    procedure.versions.update(state="retired")
    assert client.get("/procedures/food-business-permit/").status_code == 404
    assert client.get("/procedures/no-such-procedure/").status_code == 404


def test_the_catalogue_page_query_count_does_not_grow_with_the_catalogue(
    client, demo, django_assert_max_num_queries
):
    with django_assert_max_num_queries(8):
        client.get("/procedures/")


@pytest.mark.parametrize(
    "query",
    [
        "都営住宅",
        "都営 住宅",
        "とえい",
        "ﾄｴｲ",
        "METROPOLITAN housing",
        "ＨＯＵＳＩＮＧ",
        "metro-housing",
    ],
)
def test_search_forgives_width_kana_case_and_spacing(client, demo, query):
    from procedures.models import Procedure

    housing = Procedure.objects.get(code="metro-housing-application")
    housing.title_ja = "都営住宅（トエイ）入居申込"
    from procedures.search import search_index_refresh

    search_index_refresh(housing)
    housing.save()
    content = client.get("/procedures/", {"q": query}).content.decode()
    assert 'href="/procedures/metro-housing-application/"' in content, query
    assert 'href="/procedures/food-business-permit/"' not in content


def test_the_catalogue_filters_by_life_event_and_who_files(client, demo):
    content = client.get("/procedures/", {"life_event": "business_start"}).content.decode()
    assert "food-business-permit" in content
    assert "metro-housing-application" not in content
    content = client.get("/procedures/", {"filer": "business"}).content.decode()
    assert "construction-business-permit" in content
    assert "nursery-school-admission" not in content
