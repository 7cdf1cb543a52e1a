import re
import uuid

from django.contrib import messages
from django.http import JsonResponse, QueryDict
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _

from core import input_limits, request_context
from core.api.errors import error_body
from core.input_limits import InputRejected
from core.storage import StorageUnavailable
from core.views import error_page

# An incoming X-Request-ID from the proxy is kept only if it is a plain token,
# so nobody can inject text into our logs through it.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestContextMiddleware:
    """Gives every request an id (echoed in X-Request-ID) and binds it, with the
    client address, for logging and auditing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_context.bind(
            request_context.RequestContext(
                request_id=request_id, ip_address=request.META.get("REMOTE_ADDR") or None
            )
        )
        try:
            response = self.get_response(request)
        finally:
            request_context.reset(token)
        response["X-Request-ID"] = request_id
        return response


class InputLimitsMiddleware:
    """The one gate for text in addresses, query strings and form posts
    (core/input_limits.py; the API's bodies are checked by its parsers).

    The API answers 400 with the documented error body, naming each refused
    parameter. A page is shown again instead: the same address without what was
    refused (a form post becomes a plain view of its page, so nothing is saved),
    with the reasons at the top and status 400. A page that cannot be shown that
    way gets the 400 page with the same reasons."""

    FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refused = input_limits.problems_in_pairs(
            [("path", request.path)] if input_limits.text_problem(request.path) else []
        )
        refused |= input_limits.problems_in_pairs(_pairs(request.GET))
        is_api = request.path.startswith("/api/")
        posted = {}
        if not is_api and request.method == "POST" and request.content_type in self.FORM_TYPES:
            posted = input_limits.problems_in_pairs(_pairs(request.POST))
        if not refused and not posted:
            return self.get_response(request)
        if is_api:
            return JsonResponse(
                error_body("invalid_input", InputRejected.default_message, refused), status=400
            )
        return self._shown_again(request, refused | posted, posted=bool(posted))

    def _shown_again(self, request, refused: dict, *, posted: bool):
        messages.error(
            request,
            _(
                "Some of what was sent contains characters that cannot be accepted (%(names)s), "
                "so it was not used and nothing was saved. Enter it again without them."
            )
            % {"names": ", ".join(refused)},
        )
        if "path" not in refused:
            kept = QueryDict(mutable=True)
            for name, values in request.GET.lists():
                if name not in refused:
                    kept.setlist(name, values)
            request.GET = kept
            if posted:
                request.method = "GET"
                request.POST = QueryDict()
                request._files = MultiValueDict()
            response = self.get_response(request)
            if response.status_code == 200 and "html" in response.get("Content-Type", ""):
                response.status_code = 400
                return response
        return error_page(request, 400, "invalid_input", None)


def _pairs(query: QueryDict) -> list[tuple[str, str]]:
    return [(name, value) for name, values in query.lists() for value in values]


class StorageUnavailableMiddleware:
    """A page whose file store cannot be reached answers 503 with the message of
    core/storage.py, never a 500 (the API's views answer the same through the API's
    error handler)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, StorageUnavailable):
            return error_page(request, 503, exception.code, str(exception.message))
        return None
