"""Charts drawn on the server as inline SVG, so that the same chart works in the
page (no script, nothing loaded, allowed by the strict CSP) and in the PDF
report (WeasyPrint renders inline SVG).

Only presentation attributes are used, never `style` (the CSP refuses inline
styles). Meaning never rests on colour alone: series differ in dash pattern and
marker shape and are labelled at their ends; bars carry their values as text;
the failing part of a stacked bar is hatched. Each chart has a title and a
description (`role="img"`, `aria-labelledby`), and every page shows its data
table next to it."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

FONT = "IPAex Gothic, sans-serif"
INK = "#1b1b1b"
MUTED = "#4a4a4a"
GRID = "#c8c8c8"
TARGET = "#a4262c"


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def percent(value: Decimal | float | None, places: int = 1) -> str:
    if value is None:
        return "–"
    return f"{float(value) * 100:.{places}f}%"


def _text(
    x: float,
    y: float,
    content: str,
    *,
    anchor: str = "start",
    size: int = 12,
    fill: str = INK,
    weight: str = "normal",
) -> str:
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" font-size="{size}" '
        f'font-weight="{weight}" fill="{fill}">{escape(content)}</text>'
    )


def _width(text: str, size: int = 12) -> float:
    """Roughly how wide `text` is drawn: full-width characters a whole em, others
    about 0.6 em."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.6 for ch in text)


def _fit(text: str, width: float, size: int = 12) -> str:
    if _width(text, size) <= width:
        return text
    while text and _width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"


def _open(uid: str, width: int, height: int, title: str, desc: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{uid}" role="img" '
        f'aria-labelledby="{uid}-title {uid}-desc" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" font-family="{FONT}">'
        f'<title id="{uid}-title">{escape(title)}</title><desc id="{uid}-desc">{escape(desc)}</desc>'
    )


# --- Line chart: the rates over time against the target ---------------------------------------------


SERIES_STYLES = [
    ("#0b5cad", "", "circle", 3.5),
    ("#1e6b34", "7 4", "square", 2.5),
    ("#7a4a00", "2 3", "triangle", 2.5),
]


def _marker(kind: str, x: float, y: float, colour: str) -> str:
    if kind == "square":
        return f'<rect x="{_n(x - 3.5)}" y="{_n(y - 3.5)}" width="7" height="7" fill="{colour}"/>'
    if kind == "triangle":
        return (
            f'<polygon points="{_n(x)},{_n(y - 4.5)} {_n(x + 4.5)},{_n(y + 3.5)} '
            f'{_n(x - 4.5)},{_n(y + 3.5)}" fill="{colour}"/>'
        )
    return f'<circle cx="{_n(x)}" cy="{_n(y)}" r="4" fill="{colour}"/>'


def line_chart(
    *,
    uid: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    target: float | None,
    target_label: str,
    empty_text: str,
    width: int = 760,
    height: int = 320,
) -> SafeString:
    """Rates (fractions) per point in time on a 0–100% axis, with the target as
    a dashed horizontal line."""
    left, right, top, bottom = 48, 150, 40, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [_open(uid, width, height, title, desc)]
    parts.append(f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>')

    def y_of(value: float) -> float:
        return top + plot_h * (1 - max(0.0, min(1.0, value)))

    for tick in range(0, 101, 20):
        y = y_of(tick / 100)
        parts.append(
            f'<line x1="{left}" y1="{_n(y)}" x2="{left + plot_w}" y2="{_n(y)}" stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(_text(left - 6, y + 4, f"{tick}%", anchor="end", size=11, fill=MUTED))
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="{INK}" stroke-width="1"/>'
    )
    count = len(labels)

    def x_of(index: int) -> float:
        if count <= 1:
            return left + plot_w / 2
        return left + plot_w * index / (count - 1)

    step = max(1, -(-count // 8))
    for index, label in enumerate(labels):
        if index % step == 0 or index == count - 1:
            parts.append(
                _text(x_of(index), top + plot_h + 18, label, anchor="middle", size=11, fill=MUTED)
            )
    # Legend, above the plot: a sample of each line with its marker.
    legend_x = left
    entries = [
        (name, SERIES_STYLES[i % len(SERIES_STYLES)]) for i, (name, _values) in enumerate(series)
    ]
    for name, (colour, dash, marker, stroke) in entries:
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="{legend_x}" y1="16" x2="{legend_x + 28}" y2="16" stroke="{colour}" stroke-width="{stroke}"{dash_attr}/>'
        )
        parts.append(_marker(marker, legend_x + 14, 16, colour))
        parts.append(_text(legend_x + 34, 20, name, size=12))
        legend_x += 40 + 7 * len(name) + (6 * sum(1 for ch in name if ord(ch) > 0x2E80))
    if target is not None:
        y = y_of(target)
        parts.append(
            f'<line x1="{left}" y1="{_n(y)}" x2="{left + plot_w}" y2="{_n(y)}" stroke="{TARGET}" stroke-width="2" stroke-dasharray="10 5"/>'
        )
        parts.append(
            _text(left + plot_w + 6, y + 4, target_label, size=12, fill=TARGET, weight="bold")
        )
    if not count:
        parts.append(
            _text(
                left + plot_w / 2,
                top + plot_h / 2,
                empty_text,
                anchor="middle",
                size=13,
                fill=MUTED,
            )
        )
    end_labels: list[tuple[float, str, str]] = []
    for (_label, values), (_name, (colour, dash, marker_kind, stroke)) in zip(
        series, entries, strict=True
    ):
        points = [(x_of(i), y_of(v)) for i, v in enumerate(values) if v is not None]
        if len(points) > 1:
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            path = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="{stroke}" stroke-linejoin="round"{dash_attr}/>'
            )
        for x, y in points:
            parts.append(_marker(marker_kind, x, y, colour))
        last = next((v for v in reversed(values) if v is not None), None)
        if last is not None and points:
            end_labels.append((points[-1][1], f"{percent(last)}", colour))
    # End labels beside the last points, nudged apart so they never overlap.
    placed: list[float] = []
    target_y = y_of(target) if target is not None else None
    for y, text, colour in sorted(end_labels):
        position = y + 4
        for other in placed:
            if abs(position - other) < 14:
                position = other + 14
        if target_y is not None and abs(position - (target_y + 4)) < 14:
            position = target_y + 4 + 14
        placed.append(position)
        parts.append(_text(left + plot_w + 6, position, text, size=12, fill=colour, weight="bold"))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text is escaped above


# --- Bar chart: a rate per organization against the target -------------------------------------------


def bar_chart(
    *,
    uid: str,
    title: str,
    desc: str,
    rows: Sequence[tuple[str, float | None]],
    target: float | None,
    target_label: str,
    no_data: str,
    width: int = 760,
    bar_height: int = 22,
) -> SafeString:
    """One horizontal bar per row (a fraction, 0..1), its value written at its
    end; the target as a dashed vertical line."""
    label_w, value_w, top = 230, 70, 34
    plot_w = width - label_w - value_w
    height = top + len(rows) * (bar_height + 10) + 26
    parts = [_open(uid, width, height, title, desc)]
    parts.append(f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>')
    base_y = top + len(rows) * (bar_height + 10)
    for tick in range(0, 101, 25):
        x = label_w + plot_w * tick / 100
        parts.append(
            f'<line x1="{_n(x)}" y1="{top - 6}" x2="{_n(x)}" y2="{base_y}" stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(_text(x, base_y + 16, f"{tick}%", anchor="middle", size=11, fill=MUTED))
    if target is not None:
        # Under the bars, so a bar hides it and its value stays readable.
        x = label_w + plot_w * target
        parts.append(
            f'<line x1="{_n(x)}" y1="{top - 10}" x2="{_n(x)}" y2="{base_y}" stroke="{TARGET}" stroke-width="2" stroke-dasharray="8 4"/>'
        )
        parts.append(
            _text(x, top - 16, target_label, anchor="end", size=12, fill=TARGET, weight="bold")
        )
    for index, (label, value) in enumerate(rows):
        y = top + index * (bar_height + 10)
        middle = y + bar_height / 2 + 4
        shown = _fit(label, label_w - 14)
        parts.append(_text(label_w - 8, middle, shown, anchor="end", size=12))
        if value is None:
            parts.append(_text(label_w + 4, middle, no_data, size=12, fill=MUTED))
            continue
        bar = plot_w * max(0.0, min(1.0, value))
        parts.append(
            f'<rect x="{label_w}" y="{y}" width="{_n(bar)}" height="{bar_height}" fill="#0b5cad"/>'
        )
        text = percent(value)
        if bar > 70:
            parts.append(
                _text(
                    label_w + bar - 6,
                    middle,
                    text,
                    anchor="end",
                    size=12,
                    fill="#ffffff",
                    weight="bold",
                )
            )
        else:
            width_estimate = 8 * len(text)
            parts.append(
                f'<rect x="{_n(label_w + bar + 3)}" y="{y + 3}" width="{width_estimate + 6}" height="{bar_height - 6}" fill="#ffffff"/>'
            )
            parts.append(_text(label_w + bar + 6, middle, text, size=12, weight="bold"))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text is escaped above


# --- Stacked bars: the five-less matrix ------------------------------------------------------------------


def stacked_chart(
    *,
    uid: str,
    title: str,
    desc: str,
    rows: Sequence[tuple[str, Sequence[int]]],
    segment_labels: Sequence[str],
    width: int = 760,
    bar_height: int = 24,
) -> SafeString:
    """One bar per row split into pass / exempt / fail shares, each segment
    labelled with its count where it fits; fail is hatched."""
    label_w, top = 200, 44
    plot_w = width - label_w - 20
    height = top + len(rows) * (bar_height + 12) + 8
    fills = ["#1e6b34", "#0b5cad", f"url(#{uid}-hatch)"]
    text_fill = ["#ffffff", "#ffffff", INK]
    parts = [_open(uid, width, height, title, desc)]
    parts.append(
        f'<defs><pattern id="{uid}-hatch" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        f'<rect width="8" height="8" fill="#f6dcdc"/><line x1="0" y1="0" x2="0" y2="8" stroke="{TARGET}" stroke-width="3"/>'
        "</pattern></defs>"
    )
    parts.append(f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>')
    legend_x = label_w
    for index, name in enumerate(segment_labels):
        parts.append(
            f'<rect x="{legend_x}" y="8" width="16" height="16" fill="{fills[index]}" stroke="{INK}" stroke-width="0.5"/>'
        )
        parts.append(_text(legend_x + 22, 21, name, size=12))
        legend_x += 44 + 8 * len(name) + 6 * sum(1 for ch in name if ord(ch) > 0x2E80)
    for index, (label, counts) in enumerate(rows):
        y = top + index * (bar_height + 12)
        parts.append(_text(label_w - 8, y + bar_height / 2 + 4, label, anchor="end", size=12))
        whole = sum(counts)
        x = float(label_w)
        if not whole:
            continue
        for segment, count in enumerate(counts):
            if not count:
                continue
            w = plot_w * count / whole
            parts.append(
                f'<rect x="{_n(x)}" y="{y}" width="{_n(w)}" height="{bar_height}" fill="{fills[segment]}" stroke="#ffffff" stroke-width="1"/>'
            )
            text = f"{count:,}"
            if w > 9 * len(text) + 8:
                if segment == 2:  # a white ground, so the count reads over the hatching
                    box = 8 * len(text) + 8
                    parts.append(
                        f'<rect x="{_n(x + w / 2 - box / 2)}" y="{y + 4}" width="{box}" height="{bar_height - 8}" fill="#ffffff"/>'
                    )
                parts.append(
                    _text(
                        x + w / 2,
                        y + bar_height / 2 + 4,
                        text,
                        anchor="middle",
                        size=12,
                        fill=text_fill[segment],
                        weight="bold",
                    )
                )
            x += w
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text is escaped above


def fraction(value: Any) -> float | None:
    return None if value is None else float(value)
