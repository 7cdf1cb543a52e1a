import pytest
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_pages_are_japanese_by_default_even_for_an_english_browser(client):
    response = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert '<html lang="ja"' in response.content.decode()


def test_the_language_switch_sets_a_cookie_for_visitors(client):
    response = client.post(reverse("accounts:set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert response.cookies["lang"].value == "en"
    assert '<html lang="en"' in client.get("/").content.decode()


def test_a_signed_in_users_choice_is_remembered_on_their_account(client):
    user = UserFactory(preferred_language="ja")
    client.post(reverse("accounts:login"), {"email": user.email, "password": PASSWORD})
    client.post(reverse("accounts:set_language"), {"language": "en", "next": "/"})
    user.refresh_from_db()
    assert user.preferred_language == "en"

    # A new browser gets the user's language as soon as they log in.
    other_browser = client.__class__()
    other_browser.post(reverse("accounts:login"), {"email": user.email, "password": PASSWORD})
    assert '<html lang="en"' in other_browser.get("/").content.decode()


def test_an_unknown_language_is_ignored(client):
    client.post(reverse("accounts:set_language"), {"language": "xx", "next": "/"})
    assert '<html lang="ja"' in client.get("/").content.decode()
