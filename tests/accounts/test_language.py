import pytest
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("en-US,en;q=0.9", "en"),
        ("ja-JP,ja;q=0.9,en;q=0.8", "ja"),
        ("fr-FR,fr;q=0.9,en;q=0.5,ja;q=0.4", "en"),
        ("de-DE,de;q=0.9", "ja"),  # neither: Japanese
        ("", "ja"),
    ],
)
def test_an_anonymous_visitor_gets_the_language_their_browser_asks_for(client, header, language):
    response = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE=header)
    assert f'<html lang="{language}"' in response.content.decode()


def test_the_switch_and_the_saved_preference_win_over_the_browser(client):
    client.post(reverse("accounts:set_language"), {"language": "ja", "next": "/"})
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="ja"' in page
    user = UserFactory(preferred_language="ja")
    other = client.__class__()
    other.post(reverse("accounts:login"), {"email": user.email, "password": PASSWORD})
    assert '<html lang="ja"' in other.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


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
