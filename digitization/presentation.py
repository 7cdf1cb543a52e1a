"""What the dashboard, the drill-down pages and the PDF report show, built once
from an Overview: labels, the charts (inline SVG) and the rows of their data
tables, so the page and the PDF cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from digitization import charts, metrics
from digitization.models import PRINCIPLES, Stage
from digitization.selectors import Overview
from procedures.models import Principle


def principle_label(principle: str) -> str:
    return str(Principle(principle).label)


def stage_label(stage: str) -> str:
    return str(Stage(stage).label)


def rate_names() -> list[str]:
    return [
        _("Availability, weighted by volume"),
        _("Availability, by number of procedures"),
        _("Usage rate"),
    ]


def target_label(target: Any) -> str:
    return _("Target %(rate)s") % {
        "rate": charts.percent(target, 0 if target * 100 % 1 == 0 else 1)
    }


@dataclass
class TrendRow:
    label: str
    kind: str
    figures: metrics.Figures
    target: Any


def trend(overview: Overview, uid: str = "trend-chart") -> dict[str, Any]:
    points = overview.trend
    labels = [f"{point.day:%Y-%m}" for point in points]
    names = rate_names()
    series = [
        (names[0], [charts.fraction(p.figures.availability_by_volume) for p in points]),
        (names[1], [charts.fraction(p.figures.availability_by_count) for p in points]),
        (names[2], [charts.fraction(p.figures.usage) for p in points]),
    ]
    goal = metrics.target()
    if points:
        first, last = points[0], points[-1]
        desc = _(
            "From %(first)s to %(last)s the volume-weighted availability went from %(from)s to "
            "%(to)s, against a target of %(target)s. By number of procedures it went from "
            "%(count_from)s to %(count_to)s; the usage rate from %(usage_from)s to %(usage_to)s. "
            "The table below the chart lists every point."
        ) % {
            "first": f"{first.day:%Y-%m-%d}",
            "last": f"{last.day:%Y-%m-%d}",
            "from": charts.percent(first.figures.availability_by_volume),
            "to": charts.percent(last.figures.availability_by_volume),
            "target": charts.percent(goal),
            "count_from": charts.percent(first.figures.availability_by_count),
            "count_to": charts.percent(last.figures.availability_by_count),
            "usage_from": charts.percent(first.figures.usage),
            "usage_to": charts.percent(last.figures.usage),
        }
    else:
        desc = _("No snapshot has been taken yet.")
    svg = charts.line_chart(
        uid=uid,
        title=_("Rates over time against the target"),
        desc=desc,
        labels=labels,
        series=series,
        target=float(goal),
        target_label=target_label(goal),
        empty_text=_("No snapshot has been taken yet."),
    )
    return {
        "svg": svg,
        "description": desc,
        "rows": [TrendRow(f"{p.day:%Y-%m-%d}", p.kind, p.figures, p.target) for p in points],
        "names": names,
    }


def departments(overview: Overview, uid: str = "departments-chart") -> dict[str, Any]:
    rows = [
        (org.name, charts.fraction(figures.availability_by_volume))
        for org, figures in overview.children
    ]
    goal = metrics.target()
    below = [name for name, value in rows if value is not None and value < float(goal)]
    desc = _(
        "Volume-weighted availability of %(count)d organizations against the target of "
        "%(target)s; %(below)d of them are below it. The table below lists each one."
    ) % {"count": len(rows), "target": charts.percent(goal), "below": len(below)}
    svg = charts.bar_chart(
        uid=uid,
        title=_("Volume-weighted availability by organization"),
        desc=desc,
        rows=rows,
        target=float(goal),
        target_label=target_label(goal),
        no_data=_("no procedures"),
    )
    return {"svg": svg, "description": desc}


def matrix(figures: metrics.Figures, uid: str = "matrix-chart") -> dict[str, Any]:
    rows = [
        (
            principle_label(p),
            [
                figures.matrix[p][metrics.PASS],
                figures.matrix[p][metrics.EXEMPT],
                figures.matrix[p][metrics.FAIL],
            ],
        )
        for p in PRINCIPLES
    ]
    parts = []
    for principle in PRINCIPLES:
        counts = figures.matrix[principle]
        parts.append(
            _("%(principle)s: %(pass)d pass, %(exempt)d exempt, %(fail)d fail")
            % {
                "principle": principle_label(principle),
                "pass": counts[metrics.PASS],
                "exempt": counts[metrics.EXEMPT],
                "fail": counts[metrics.FAIL],
            }
        )
    desc = "; ".join(parts) + "."
    svg = charts.stacked_chart(
        uid=uid,
        title=_("Five-less compliance of the procedures in force"),
        desc=desc,
        rows=rows,
        segment_labels=[_("Pass"), _("Exempt"), _("Fail")],
    )
    return {
        "svg": svg,
        "description": desc,
        "rows": [
            {
                "principle": principle,
                "label": principle_label(principle),
                **figures.matrix[principle],
            }
            for principle in PRINCIPLES
        ],
    }
