from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.permissions import actor_is_staff

SUPPORTED = {code for code, _name in settings.LANGUAGES}


def _language_for(request) -> str:
    """The signed-in user's choice, then the language cookie; the API also honours
    Accept-Language. Pages default to Japanese, never to the browser's guess."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.preferred_language in SUPPORTED:
        return user.preferred_language
    cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if cookie in SUPPORTED:
        return cookie
    if request.path.startswith("/api/"):
        accepted = translation.get_language_from_request(request, check_path=False)
        if accepted and accepted[:2] in SUPPORTED:
            return accepted[:2]
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
        response.headers.setdefault("Vary", "Cookie, Accept-Language")
        return response


class StaffTwoFactorMiddleware:
    """Staff must pass their second factor before any page or session-authenticated
    API call other than the few that let them do so. (Bearer tokens are checked by
    the API permission: staff tokens are only issued with a valid code.)"""

    EXEMPT_PREFIXES = ("/static/", "/healthz", "/i18n/", "/accounts/2fa/", "/accounts/logout/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and not request.path.startswith(self.EXEMPT_PREFIXES)
            and not request.headers.get("Authorization")
            and actor_is_staff(user)
            and not user.is_verified()
        ):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {
                        "error": {
                            "code": "otp_required",
                            "message": _("Complete the second login step (one-time code) first."),
                        }
                    },
                    status=403,
                )
            return redirect(f"{reverse('accounts:two_factor')}?next={request.get_full_path()}")
        return self.get_response(request)
