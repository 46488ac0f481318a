"""The dashboard's charts: each one a table of numbers (shown to screen readers, downloaded as
CSV) and an SVG drawn from the same table by pygal. Pure: numbers in, text out.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pygal
from pygal.style import Style

from leadgate.lists.csv_values import FORMULA_STARTS
from leadgate.stats.schemas import StatsOut

# Status colours people read without a legend: green good, amber held, red bad, grey test,
# blue not judged yet.
STATUS_SERIES = (
    ("valid", "Valid", "#2e7d32"),
    ("caution", "Caution", "#f9a825"),
    ("invalid", "Invalid", "#c62828"),
    ("test", "Test", "#757575"),
    ("pending", "Pending", "#1565c0"),
)
_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"

Cell = str | int | float


@dataclass(frozen=True, slots=True)
class Table:
    """One chart's numbers: what the chart shows, as rows under headers."""

    name: str
    title: str
    explain: str
    headers: tuple[str, ...]
    rows: list[tuple[Cell, ...]]


def _day(d: date) -> str:
    return d.strftime("%b %d")


def _percent(rate: float | None) -> str:
    return "" if rate is None else f"{rate * 100:.1f} %"


def leads_per_day(stats: StatsOut) -> Table:
    """Leads per day, by status."""
    return Table(
        name="leads-per-day",
        title="Leads per day",
        explain="The leads that came each day (UTC), by their status now.",
        headers=("Day", *(label for _, label, _ in STATUS_SERIES), "Total"),
        rows=[
            (d.day.isoformat(), *(getattr(d.by_status, s) for s, _, _ in STATUS_SERIES), d.total)
            for d in stats.by_day
        ],
    )


def acceptance_per_publisher(stats: StatsOut) -> Table:
    """Acceptance rate and leads per publisher."""
    return Table(
        name="acceptance-per-publisher",
        title="Acceptance rate per publisher",
        explain="Valid leads out of the judged ones (valid, caution, invalid); test and "
        "pending leads do not count.",
        headers=("Publisher", "Leads", "Valid", "Caution", "Invalid", "Acceptance rate"),
        rows=[
            (
                p.name,
                p.total,
                p.by_status.valid,
                p.by_status.caution,
                p.by_status.invalid,
                _percent(p.acceptance_rate),
            )
            for p in stats.by_publisher
        ],
    )


def rejection_reasons(stats: StatsOut) -> Table:
    """The most common flags of invalid leads."""
    return Table(
        name="rejection-reasons",
        title="Top rejection reasons",
        explain="Why leads were invalid: the checks they failed. A lead can fail more than "
        "one check, so shares can add up to more than 100 %.",
        headers=("Reason", "Flag code", "Invalid leads", "Share of invalid leads"),
        rows=[(r.text, r.code, r.count, _percent(r.share)) for r in stats.top_rejection_reasons],
    )


def client_verdicts(stats: StatsOut) -> Table:
    """The client's verdicts on the leads delivered each day."""
    days = stats.connect.client_verdicts if stats.connect else []
    return Table(
        name="client-verdicts",
        title="The client's verdicts",
        explain="Leads delivered each day (UTC): accepted (valid at the client), returned "
        "(invalid at the client), or not decided by the client yet.",
        headers=("Day", "Accepted", "Returned", "Not decided yet"),
        rows=[(v.day.isoformat(), v.accepted, v.returned, v.waiting) for v in days],
    )


TABLES: dict[str, Callable[[StatsOut], Table]] = {
    "leads-per-day": leads_per_day,
    "acceptance-per-publisher": acceptance_per_publisher,
    "rejection-reasons": rejection_reasons,
    "client-verdicts": client_verdicts,
}


def _style(colors: Sequence[str]) -> Style:
    return Style(
        background="white",
        plot_background="white",
        font_family=_FONT,
        label_font_family=_FONT,
        major_label_font_family=_FONT,
        legend_font_family=_FONT,
        title_font_family=_FONT,
        value_font_family=_FONT,
        tooltip_font_family=_FONT,
        no_data_font_family=_FONT,
        label_font_size=12,
        major_label_font_size=12,
        legend_font_size=13,
        value_font_size=12,
        no_data_font_size=20,
        colors=tuple(colors),
        opacity="0.9",
        opacity_hover="1",
    )


def _ticks(top: int) -> list[int]:
    """Whole-number marks of a count axis up to `top` (about eight of them)."""
    step = max(1, -(-top // 8))
    return list(range(0, max(top, 1) + step, step))


def _config(colors: Sequence[str], **more: Any) -> dict[str, Any]:
    # No script (`js=[]`: pygal would fetch its tooltips from a CDN), no XML declaration (the
    # SVG is served as a file of its own), a viewBox so it scales to the page.
    return {
        "js": [],
        "disable_xml_declaration": True,
        "width": 900,
        "height": 360,
        "style": _style(colors),
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 5,
        "no_data_text": "No leads in these days",
        "show_x_guides": False,
        **more,
    }


def svg(stats: StatsOut, name: str) -> str:
    """The chart `name` of these numbers as an SVG document."""
    if name == "leads-per-day":
        days = stats.by_day
        chart = pygal.StackedBar(
            **_config(
                [c for _, _, c in STATUS_SERIES],
                x_label_rotation=45 if len(days) > 10 else 0,
                show_minor_x_labels=len(days) <= 31,
                x_labels_major_every=max(1, len(days) // 15),
                y_labels=_ticks(max((d.total for d in days), default=0)),
            )
        )
        chart.x_labels = [_day(d.day) for d in days]
        for status, label, _ in STATUS_SERIES:
            chart.add(label, [getattr(d.by_status, status) for d in days])
    elif name == "acceptance-per-publisher":
        rated = [p for p in stats.by_publisher if p.acceptance_rate is not None]
        chart = pygal.HorizontalBar(
            **_config(
                ["#2e7d32"],
                range=(0, 100),
                show_legend=False,
                print_values=True,
                value_formatter=lambda v: f"{v:.0f} %",
                height=max(160, 60 + 40 * len(rated)),
            )
        )
        chart.x_labels = [p.name for p in rated]
        chart.add("Acceptance rate", [round((p.acceptance_rate or 0) * 100, 1) for p in rated])
    elif name == "rejection-reasons":
        reasons = stats.top_rejection_reasons
        chart = pygal.HorizontalBar(
            **_config(
                ["#c62828"],
                show_legend=False,
                print_values=True,
                truncate_label=48,
                height=max(160, 60 + 36 * len(reasons)),
                y_labels=_ticks(max((r.count for r in reasons), default=0)),
            )
        )
        chart.x_labels = [r.text for r in reasons]
        chart.add("Invalid leads", [r.count for r in reasons])
    elif name == "client-verdicts":
        verdicts = stats.connect.client_verdicts if stats.connect else []
        chart = pygal.StackedBar(
            **_config(
                ["#2e7d32", "#c62828", "#9e9e9e"],
                x_label_rotation=45 if len(verdicts) > 10 else 0,
                y_labels=_ticks(
                    max((v.accepted + v.returned + v.waiting for v in verdicts), default=0)
                ),
            )
        )
        chart.x_labels = [_day(v.day) for v in verdicts]
        chart.add("Accepted", [v.accepted for v in verdicts])
        chart.add("Returned", [v.returned for v in verdicts])
        chart.add("Not decided yet", [v.waiting for v in verdicts])
    else:
        raise KeyError(name)
    return str(chart.render(is_unicode=True))


def _cell(value: Cell) -> Cell:
    # A text a spreadsheet would run as a formula gets a leading quote (names are the users').
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(table: Table) -> str:
    """The table as CSV text (RFC 4180), header first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.headers)
    writer.writerows(tuple(_cell(v) for v in row) for row in table.rows)
    return out.getvalue()
