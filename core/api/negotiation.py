"""An unsupported method is a 405, whoever asks.

DRF looks up the handler for the request's method only after `initial()` has
authenticated the caller and checked permissions, so `TRACE` or `PATCH` on a
read-only resource answered 401 to an anonymous caller (403 to some others) and
405 only to those allowed to use the resource. Content negotiation is the one
step of `initial()` that runs before authentication and can be replaced for every
view by a setting (DEFAULT_CONTENT_NEGOTIATION_CLASS), so the method is checked
here: after choosing the renderer (the 405 is rendered with it), before anyone is
authenticated. The answer is the error body of core/api/errors.py, code
method_not_allowed, with the Allow header DRF puts on every answer.
"""

from __future__ import annotations

from rest_framework.exceptions import MethodNotAllowed
from rest_framework.negotiation import DefaultContentNegotiation


def method_supported(view, method: str) -> bool:
    """What APIView.dispatch decides: a known method with a handler on the view."""
    name = method.lower()
    return name in view.http_method_names and getattr(view, name, None) is not None


class MethodCheckingNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        chosen = super().select_renderer(request, renderers, format_suffix)
        view = (getattr(request, "parser_context", None) or {}).get("view")
        if view is not None and not method_supported(view, request.method):
            # initial() stores the choice only when this returns; the error answer
            # needs it now.
            request.accepted_renderer, request.accepted_media_type = chosen
            raise MethodNotAllowed(request.method)
        return chosen
