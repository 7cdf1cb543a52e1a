"""The OpenAPI schema documents the errors every operation can answer.

A view's `extend_schema` names the errors of its own rules (409 not_a_draft, ...).
The plumbing around every view adds more, and a client must be able to rely on the
schema for those too: a body or query that cannot be read (400), missing or bad
credentials (401), a refused permission or CSRF check (403), an unknown object or
a page past the end of a list (404), a body over the upload limit (413) and
throttling or a login lockout (429). This
AutoSchema adds them where the view can answer them, and gives every error
response without a body of its own the one error shape of core/api/errors.py, so
that the schema fuzzing (tests/test_api_fuzzing.py) checks error bodies as well.

414 is not among them: the app never sees such a request. gunicorn refuses a
request line over 4094 bytes (`limit_request_line`), Django's development server
one over 65536, each with a body of its own, so 414 is documented once, in the
schema's description (SPECTACULAR_SETTINGS), not as an error of each operation.
Unsupported methods (405) are not operations of the schema; every API view
answers them the same way (core/api/negotiation.py).
"""

from __future__ import annotations

import copy
from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny

ERROR = inline_serializer(
    name="Error",
    fields={
        "error": inline_serializer(
            name="ErrorBody",
            fields={
                "code": serializers.CharField(help_text="Stable, machine-readable."),
                "message": serializers.CharField(help_text="In the requester's language."),
                "details": serializers.JSONField(
                    required=False, help_text="Field errors keyed by path, where there are any."
                ),
            },
        )
    },
)

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class AutoSchema(SpectacularAutoSchema):
    def get_operation(self, *args: Any, **kwargs: Any) -> dict | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation["responses"]
        for code, description in self._plumbing_errors(operation).items():
            responses.setdefault(code, {"description": description})
        error_content = None
        for code, response in responses.items():
            if code[0] in "45" and not response.get("content"):
                if error_content is None:
                    error_content = self._get_response_for_code(ERROR, code)["content"]
                response["content"] = copy.deepcopy(error_content)
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _plumbing_errors(self, operation: dict) -> dict[str, str]:
        view = self.view
        errors: dict[str, str] = {}
        parameters = operation.get("parameters", [])
        if "requestBody" in operation or any(p.get("in") == "query" for p in parameters):
            errors["400"] = "bad_request, parse_error or validation_failed: unreadable input."
        authenticators = view.get_authenticators()
        if authenticators:
            errors["401"] = (
                "not_authenticated or invalid_token: credentials missing, invalid, "
                "expired or revoked."
            )
        session = any(isinstance(a, SessionAuthentication) for a in authenticators)
        restricted = any(not isinstance(p, AllowAny) for p in view.get_permissions())
        if restricted or (session and self.method in UNSAFE_METHODS):
            errors["403"] = (
                "permission_denied, otp_required (a staff session without its second "
                "factor) or a failed CSRF check."
            )
        paginated = self._is_list_view() and getattr(view, "pagination_class", None)
        # DRF answers an unknown `?format=` (offered where a view has several
        # renderers) with 404.
        formats = any(p.get("in") == "query" and p.get("name") == "format" for p in parameters)
        if any(p.get("in") == "path" for p in parameters) or paginated or formats:
            errors["404"] = (
                "not_found: unknown, not visible to you, a page past the end, or an unknown format."
            )
        if "requestBody" in operation:
            errors["413"] = (
                "request_too_large: the body is over the upload limit "
                "(DATA_UPLOAD_MAX_MEMORY_SIZE for a body that is not a file; a reverse "
                "proxy in front may answer 413 itself, with its own body)."
            )
        if view.get_throttles():
            errors["429"] = "throttled: too many requests; retry later."
        return errors
