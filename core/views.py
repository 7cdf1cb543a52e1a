from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from core.api.errors import error_body
from core.health import run_checks


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html")


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and broker answer; 503 naming what failed."""
    healthy, checks = run_checks()
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )


def error_page(request: HttpRequest, status: int, code: str, message: str | None) -> HttpResponse:
    """The error as JSON for the API, as a page for people."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body(code, message), status=status)
    return render(request, f"errors/{status}.html", {"message": message}, status=status)


def bad_request(request, exception=None):
    return error_page(request, 400, "bad_request", _("The request could not be understood."))


def permission_denied(request, exception=None):
    return error_page(
        request, 403, "permission_denied", _("You do not have permission to view this page.")
    )


def page_not_found(request, exception=None):
    return error_page(request, 404, "not_found", _("The page you were looking for was not found."))


def server_error(request):
    """Rendered without context processors: they may need the database, which may
    be what failed."""
    message = _("Something went wrong on our side. Please try again later.")
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("server_error", message), status=500)
    html = render_to_string(
        "errors/500.html", {"message": message, "LANGUAGE_CODE": get_language()}
    )
    return HttpResponse(html, status=500)


def csrf_failure(request, reason=""):
    """A form was sent without its security token, usually after a long pause."""
    return error_page(
        request,
        403,
        "csrf_failed",
        _(
            "Your session's security check failed, usually because the page was open for "
            "a long time. Go back, reload the page and send the form again."
        ),
    )


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico: the site's icon (an SVG under static/), by a permanent redirect."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))
