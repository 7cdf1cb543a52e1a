"""The domain error hierarchy. Services raise these; the HTML views show their
message and the API turns them into JSON with a stable code (core/api/errors.py).

Messages are lazy translations, so they reach each requester in their language.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A rule of the domain was broken by the request; never a bug."""

    code = "domain_error"
    http_status = 400
    default_message = _("The request could not be completed.")

    def __init__(self, message: Any = None, *, code: str | None = None, details: Any = None):
        self.message = message if message is not None else self.default_message
        if code:
            self.code = code
        self.details = details
        super().__init__(str(self.message))


class ValidationFailed(DomainError):
    """Input did not pass validation. `details` maps field paths to messages."""

    code = "validation_failed"
    http_status = 400
    default_message = _("Some of the information entered is not valid.")


class NotFound(DomainError):
    """The object does not exist, or the actor may not know that it exists."""

    code = "not_found"
    http_status = 404
    default_message = _("Not found.")


class PermissionDenied(DomainError):
    code = "permission_denied"
    http_status = 403
    default_message = _("You do not have permission to do this.")


class Conflict(DomainError):
    """The object changed state in a way that makes the request impossible now."""

    code = "conflict"
    http_status = 409
    default_message = _("The request conflicts with the current state.")
