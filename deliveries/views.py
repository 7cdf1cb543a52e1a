"""The files of a delivery, behind short-lived signed links (file_links.py)."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from django.views.decorators.http import require_GET

from deliveries import selectors


@require_GET
def file_view(request: HttpRequest, token: str):
    response = selectors.linked_file_response(token)
    if response is None:
        raise Http404()
    return response
