"""What the API views share to describe themselves: the JSON-only parser list, the
common error responses of their `extend_schema`, and the check that a view is being
built for the schema rather than for a request."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse

from core.api.parsers import JSONParser

#: For views whose body is JSON only (no form or multipart body).
JSON_ONLY = [JSONParser]

INVALID = OpenApiResponse(description="validation_failed, with field errors in `details`.")
FORBIDDEN = OpenApiResponse(description="permission_denied: you do not hold the role.")


def not_found(scope: str = "not yours to see") -> OpenApiResponse:
    """The 404 of an object lookup, saying which objects the caller may reach."""
    return OpenApiResponse(description=f"not_found: unknown, or {scope}.")


NOT_FOUND = not_found()
STORE_DOWN = OpenApiResponse(
    description="storage_unavailable: the file store cannot be reached; nothing was lost, "
    "try again later."
)


def for_schema_only(view: Any) -> bool:
    """True while drf-spectacular builds the view without a caller or URL
    arguments, to read its serializers: querysets must then not touch the user."""
    return getattr(view, "swagger_fake_view", False)
