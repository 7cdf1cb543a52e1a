"""Template helpers for the resident's application pages."""

from __future__ import annotations

from django import template

from applications.models import Application
from applications.selectors import resident_status_label

register = template.Library()


@register.filter
def resident_status(application: Application) -> str:
    """The status in the resident's words (applications.selectors.resident_status_label)."""
    return resident_status_label(application)
