import time

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode

from accounts.permissions import actor_is_staff

SUPPORTED = {code for code, _name in settings.LANGUAGES}


def _language_for(request) -> str:
    """The signed-in user's choice, then the language switch's cookie, then what the
    browser asks for (Accept-Language: an English browser gets English), and
    Japanese when it asks for neither language."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.preferred_language in SUPPORTED:
        return user.preferred_language
    cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if cookie in SUPPORTED:
        return cookie
    return _browser_language(request.headers.get("Accept-Language", ""))


def _browser_language(header: str) -> str:
    """The first supported language of the header, by its q-values (ja-JP is ja)."""
    for tag, _quality in translation.trans_real.parse_accept_lang_header(header[:500]):
        primary = tag.split("-")[0].lower()
        if primary in SUPPORTED:
            return primary
    return settings.LANGUAGE_CODE


class LanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = _language_for(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        patch_vary_headers(response, ("Cookie", "Accept-Language"))
        return response


class StaffTwoFactorMiddleware:
    """Staff must pass their second factor before any page other than the few that
    let them do so. The API is guarded by its own permission class
    (accounts.api.permissions), which also knows about bearer tokens."""

    EXEMPT_PREFIXES = (
        "/static/",
        "/favicon.ico",
        "/healthz",
        "/api/",
        "/accounts/2fa/",
        "/accounts/logout/",
        "/accounts/language/",
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and not request.path.startswith(self.EXEMPT_PREFIXES)
            and actor_is_staff(user)
            and not user.is_verified()
        ):
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('accounts:two_factor')}?{query}")
        return self.get_response(request)


def _now() -> float:
    return time.time()


class SlidingSessionMiddleware:
    """Keeps a signed-in session's idle timeout sliding (SESSION_COOKIE_AGE after
    the last request) without writing the session on every request: the stored
    expiry is pushed back when it was last pushed back SESSION_SLIDE_SECONDS ago or
    more. A session therefore ends between SESSION_COOKIE_AGE minus that interval
    and SESSION_COOKIE_AGE after its last request, never later; each page view
    of a busy clerk or auditor no longer costs a database write and commit.
    Sessions without a key (anonymous visitors) are left alone: none is created."""

    KEY = "_slid_at"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        # A request that never looked at the session is not its activity.
        if session is None or not session.accessed or session.session_key is None:
            return response
        slid_at = session.get(self.KEY)
        if session.session_key is None:  # the cookie named no live session
            return response
        now = _now()
        stale = (
            not isinstance(slid_at, (int, float)) or now - slid_at >= settings.SESSION_SLIDE_SECONDS
        )
        if stale or session.modified:  # a session written anyway records the time for free
            session[self.KEY] = now  # marks it modified: SessionMiddleware saves it
        return response
