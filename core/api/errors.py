"""One JSON error shape for the whole API:

    {"error": {"code": "<stable machine code>", "message": "<human text>", "details": ...}}

The message is in the requester's language; `details` carries field errors keyed
by field path where there are any.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DomainError


def error_body(code: str, message: Any, details: Any = None) -> dict:
    body: dict[str, Any] = {"code": code, "message": str(message)}
    if details is not None:
        body["details"] = details
    return {"error": body}


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.http_status)
    if isinstance(exc, RequestDataTooBig):
        # Over DATA_UPLOAD_MAX_MEMORY_SIZE. Django would make it a 400 (it is a
        # SuspiciousOperation); the client needs to know that only the size is wrong.
        return Response(
            error_body("request_too_large", _("The request is too large.")),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django log it and answer 500

    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body(
            "validation_failed", _("Some of the information entered is not valid."), exc.detail
        )
        return response

    detail = getattr(exc, "detail", "")
    code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
    if isinstance(exc, exceptions.Throttled):
        code = "throttled"
    response.data = error_body(code, detail)
    return response


def json_error_response(code: str, message: Any, http_status: int) -> Response:
    return Response(error_body(code, message), status=http_status)


__all__ = ["api_exception_handler", "error_body", "json_error_response", "status"]
