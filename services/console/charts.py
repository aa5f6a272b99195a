"""Charts of the log: placements and deferrals per day and location, and the wait until
placement. Pure: events in, figures and inline SVG out (no script, no CDN, no image file).

A group counts once per day it was deferred, however many times its queue position
changed. The wait of a placed group runs from its first deferral (``deferred_since``)
to its placement; a group placed at once waited 0.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from html import escape
from statistics import median

from services.audit.events import Logged

WAIT_BANDS: tuple[tuple[str, float], ...] = (
    ("0", 0.0),
    ("< 5 min", 300.0),
    ("5-30 min", 1800.0),
    ("30 min-2 h", 7200.0),
    ("2-12 h", 43200.0),
    ("> 12 h", float("inf")),
)
PLACED_COLOUR, DEFERRED_COLOUR, WAIT_COLOUR = "#1b6e4f", "#b34700", "#2f4b8f"


@dataclass
class PlacementFigures:
    placed: Counter[tuple[date, str]] = field(default_factory=Counter)
    deferred: Counter[tuple[date, str]] = field(default_factory=Counter)
    waits: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    @property
    def days(self) -> list[date]:
        return sorted({day for day, _ in self.placed} | {day for day, _ in self.deferred})

    @property
    def locations(self) -> list[str]:
        return sorted({loc for _, loc in self.placed} | {loc for _, loc in self.deferred})

    def wait_bands(self, location: str | None = None) -> list[tuple[str, int]]:
        """How many placed groups waited within each band (all locations by default)."""
        waits = (
            [w for ws in self.waits.values() for w in ws]
            if location is None
            else self.waits.get(location, [])
        )
        counts = Counter(_band(w) for w in waits)
        return [(label, counts[label]) for label, _ in WAIT_BANDS]

    def median_wait(self, location: str) -> float | None:
        waits = self.waits.get(location)
        return median(waits) if waits else None


def placement_figures(events: Iterable[Logged]) -> PlacementFigures:
    """Count `placed` and `placement-deferred` events per UTC day and location."""
    figures = PlacementFigures()
    deferred_seen: set[tuple[date, str, str]] = set()
    for event in events:
        data = event.data
        day = event.occurred_at.date()
        if event.topic == "placed":
            figures.placed[(day, data.location)] += 1
            waited = 0.0
            if data.deferred_since is not None:
                waited = max(0.0, (event.occurred_at - data.deferred_since).total_seconds())
            figures.waits[data.location].append(waited)
        elif event.topic == "placement-deferred":
            seen = (day, data.location, data.group_id)
            if seen not in deferred_seen:
                deferred_seen.add(seen)
                figures.deferred[(day, data.location)] += 1
    return figures


def _band(seconds: float) -> str:
    if seconds <= 0:
        return WAIT_BANDS[0][0]
    return next(label for label, upper in WAIT_BANDS[1:] if seconds < upper)


def bars_svg(
    title: str, labels: list[str], series: list[tuple[str, str, list[int]]], height: int = 180
) -> str:
    """A grouped bar chart: one group of bars per label, one bar per (name, colour, values).

    ``role="img"`` with a title, so a screen reader announces it; the page puts the same
    figures in a table next to it.
    """
    top = max((v for _, _, values in series for v in values), default=0) or 1
    bar, gap = 14, 12
    group = max(64, bar * len(series) + gap)  # room for a label such as "30 min-2 h"
    width = max(240, 40 + group * len(labels))
    plot = height - 50
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'width="{round(width * 1.5)}" height="{round(height * 1.5)}" '
        f'class="chart" aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<line x1="30" y1="{plot + 10}" x2="{width - 5}" y2="{plot + 10}" stroke="#555"/>',
        f'<text x="4" y="18" class="axis">{top}</text>',
    ]
    for i, label in enumerate(labels):
        x0 = 36 + i * group
        for j, (name, colour, values) in enumerate(series):
            value = values[i]
            h = round(plot * value / top)
            x, y = x0 + j * bar, plot + 10 - h
            parts.append(
                f'<rect x="{x}" y="{y}" width="{bar - 2}" height="{h}" fill="{colour}">'
                f"<title>{escape(name)} {escape(label)}: {value}</title></rect>"
            )
            if value:
                parts.append(f'<text x="{x}" y="{y - 2}" class="value">{value}</text>')
        parts.append(f'<text x="{x0}" y="{plot + 26}" class="axis">{escape(label)}</text>')
    for j, (name, colour, _) in enumerate(series):
        y = height - 10
        x = 36 + j * 110
        parts.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="{y}" class="axis">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)
