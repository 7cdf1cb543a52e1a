"""Formatting for the digitization pages and the PDF report."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

from digitization import metrics
from digitization.models import Channel, SnapshotKind, Stage
from procedures.models import Principle

register = template.Library()

SYMBOLS = {
    metrics.ONLINE: "○",
    metrics.PASS: "○",
    metrics.EXEMPT: "△",
    metrics.OFFLINE: "×",
    metrics.FAIL: "×",
}


def _status_label(status: str) -> str:
    return {
        metrics.ONLINE: _("Online"),
        metrics.PASS: _("Pass"),
        metrics.EXEMPT: _("Exempt"),
        metrics.OFFLINE: _("Offline"),
        metrics.FAIL: _("Fail"),
    }.get(status, status)


@register.filter
def pct(value: Any, places: int = 1) -> str:
    """A fraction as a percentage: 0.9472 -> 94.7%."""
    if value is None or value == "":
        return "–"
    return f"{Decimal(str(value)) * 100:.{int(places)}f}%"


@register.filter
def points(value: Any) -> str:
    """Percentage points, signed: +0.52."""
    if value is None:
        return "–"
    return f"{Decimal(str(value)):+.2f}"


@register.filter
def num(value: Any) -> str:
    if value is None or value == "":
        return "–"
    return f"{int(value):,}"


@register.filter
def principle_label(value: str) -> str:
    try:
        return str(Principle(value).label)
    except ValueError:
        return value


@register.filter
def stage_label(value: str) -> str:
    try:
        return str(Stage(value).label)
    except ValueError:
        return value


@register.filter
def channel_label(value: str) -> str:
    try:
        return str(Channel(value).label)
    except ValueError:
        return value


@register.filter
def snapshot_kind_label(value: str) -> str:
    try:
        return str(SnapshotKind(value).label)
    except ValueError:
        return value


@register.filter
def status_label(value: str) -> str:
    return _status_label(value)


@register.simple_tag
def mark(status: str, compact: bool = False):
    """A status as a symbol and a word (the word only for screen readers when compact)."""
    label = _status_label(status)
    if compact:
        return format_html(
            '<span class="mark mark--{}" title="{}"><span class="mark__symbol" aria-hidden="true">{}</span>'
            '<span class="visually-hidden">{}</span></span>',
            status,
            label,
            SYMBOLS.get(status, "?"),
            label,
        )
    return format_html(
        '<span class="mark mark--{}"><span class="mark__symbol" aria-hidden="true">{}</span>{}</span>',
        status,
        SYMBOLS.get(status, "?"),
        label,
    )


@register.simple_tag
def yes_no(value: bool):
    status, symbol, label = ("yes", "○", _("Yes")) if value else ("no", "×", _("No"))
    return format_html(
        '<span class="mark mark--{}"><span class="mark__symbol" aria-hidden="true">{}</span>{}</span>',
        status,
        symbol,
        label,
    )


@register.filter
def get(mapping: Any, key: Any) -> Any:
    try:
        return mapping[key]
    except (KeyError, TypeError, IndexError):
        return None


def _join(labels: list[str]) -> str:
    from django.utils.translation import get_language

    separator = ", " if (get_language() or "ja").startswith("en") else "、"
    return separator.join(labels)


@register.filter
def stage_labels(values: list[str]) -> str:
    return _join([stage_label(value) for value in values])


@register.filter
def principle_labels(values: list[str]) -> str:
    return _join([principle_label(value) for value in values])


@register.filter
def compact_json(value: Any) -> str:
    """JSON on one line, Japanese as it is: {"code": "x", "month": "2026-04"}."""
    import json

    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
