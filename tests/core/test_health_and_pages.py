import re

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


@override_settings(CELERY_TASK_ALWAYS_EAGER=False)
def test_healthz_reports_database_and_broker(client, settings):
    assert settings.CELERY_BROKER_URL.startswith("redis://"), "the suite runs against real Redis"
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


@override_settings(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL="redis://127.0.0.1:1/0")
def test_healthz_names_the_broker_when_it_is_down(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("error")


def test_every_response_carries_security_headers_and_a_request_id(client):
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert len(response["X-Request-ID"]) == 32


def test_an_unsafe_incoming_request_id_is_replaced(client):
    response = client.get("/", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert response["X-Request-ID"] != "bad id\nwith newline"
    assert client.get("/", HTTP_X_REQUEST_ID="proxy-abc-12345")["X-Request-ID"] == "proxy-abc-12345"


@pytest.mark.parametrize(
    ("language", "text"), [("ja", "ページが見つかりません"), ("en", "Page not found")]
)
def test_the_404_page_speaks_the_visitors_language(client, language, text):
    response = client.get("/no-such-page/", HTTP_COOKIE=f"lang={language}")
    assert response.status_code == 404
    assert text in response.content.decode()


def test_api_404s_are_json(client):
    response = client.get("/api/v1/no-such-thing/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_500_page_renders_in_both_languages(client):
    from django.utils import translation

    from core.views import server_error

    request = client.get("/").wsgi_request
    for language, text in (("ja", "問題が発生しました"), ("en", "Something went wrong")):
        with translation.override(language):
            response = server_error(request)
        assert response.status_code == 500
        assert text in response.content.decode()


def test_the_openapi_schema_and_docs_are_served_without_a_cdn(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/auth/token/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()


def test_every_page_links_the_icon_and_favicon_ico_finds_it(client):
    page = client.get("/").content.decode()
    assert 'rel="icon"' in page and "favicon.svg" in page
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("/img/favicon.svg")


@pytest.mark.parametrize("language, label", [("ja", "メニュー"), ("en", "Menu")])
def test_the_navigation_has_a_menu_button_that_controls_its_links(
    client, settings, language, label
):
    """The phone menu (static/js/site-menu.js): a real button, collapsed by default,
    naming the list it shows and hides; the script is a static file, not inline."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    page = client.get("/procedures/").content.decode()
    button = re.search(r'<button type="button" class="menu-button"[^>]*>(.*?)</button>', page, re.S)
    assert button is not None
    assert 'aria-expanded="false"' in button.group(0)
    assert 'aria-controls="primary-nav-links"' in button.group(0)
    assert label in button.group(1)
    assert '<ul id="primary-nav-links">' in page
    assert button.start() < page.index('id="primary-nav-links"')  # the links follow it
    assert '<script src="/static/js/site-menu.js"></script>' in page
    assert "<script>" not in page
