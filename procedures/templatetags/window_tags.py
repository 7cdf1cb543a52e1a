"""The application window in templates: `{% with window=procedure|application_window %}`."""

from __future__ import annotations

from django import template

from procedures.window import ApplicationWindow, accepting_applications

register = template.Library()


@register.filter
def application_window(procedure) -> ApplicationWindow:
    """Whether the procedure takes applications now, with its bounds in words."""
    return accepting_applications(procedure)
