"""Reads of applications, filtered by who asks."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from applications.models import Application
from core.errors import NotFound


def applications_of(actor: Any) -> QuerySet[Application]:
    """The actor's own applications, newest activity first."""
    if not getattr(actor, "is_authenticated", False):
        return Application.objects.none()
    return Application.objects.filter(applicant=actor).select_related(
        "procedure", "version", "procedure__owning_organization"
    )


def own_application(actor: Any, pk: Any) -> Application:
    """One of the actor's applications; anyone else's does not exist for them."""
    try:
        pk = int(pk)
    except (TypeError, ValueError) as error:
        raise NotFound() from error
    application = applications_of(actor).filter(pk=pk).first()
    if application is None:
        raise NotFound()
    return application
