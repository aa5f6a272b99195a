"""PNG charts of the resources report, titles in the report's language.

Per location: bed-nights per month, stacked by shelter, and people waiting per month
by cause; for all providers: hours to first contact (p50 and p95). Like the cohort
charts, nothing is written without matplotlib (`charts.charts_available`).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from services.audit.charts import pyplot
from services.audit.report import percentile
from services.audit.resources import ResourcesReport
from services.audit.resources_text import text
from services.audit.waits import CAUSE_ORDER

CAUSE_COLOURS = {"daily_cap": "#d95f02", "shelter_beds": "#7570b3", "location_suspended": "#999"}


def write_resource_charts(report: ResourcesReport, directory: Path, lang: str = "es") -> list[Path]:
    """The charts' paths in `directory` (none without matplotlib or without figures)."""
    plt = pyplot()
    if plt is None:
        return []
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for location in report.locations():
        written += _bed_nights(plt, report, location, directory, lang)
        written += _unmet(plt, report, location, directory, lang)
    written += _legal_aid(plt, report, directory, lang)
    return written


def _save(plt: Any, figure: Any, path: Path) -> list[Path]:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return [path]


def _bed_nights(
    plt: Any, report: ResourcesReport, location: str, directory: Path, lang: str
) -> list[Path]:
    rows = [s for s in report.shelters if s.location == location and s.bed_nights]
    if not rows:
        return []
    months = sorted({s.month for s in rows})
    by_shelter: dict[str, dict[str, int]] = defaultdict(dict)
    for s in rows:
        by_shelter[s.shelter_id][s.month] = s.bed_nights
    figure, axes = plt.subplots(figsize=(max(6.0, len(months) * 0.8), 3.5))
    bottom = [0] * len(months)
    for shelter_id in sorted(by_shelter):
        heights = [by_shelter[shelter_id].get(m, 0) for m in months]
        axes.bar(months, heights, bottom=bottom, label=shelter_id)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    axes.set_title(text("chart_bed_nights", lang).format(location=location))
    axes.set_ylabel(text("bed_nights", lang))
    axes.legend(fontsize=6, ncol=2)
    return _save(plt, figure, directory / f"bed-nights-{location}-{lang}.png")


def _unmet(
    plt: Any, report: ResourcesReport, location: str, directory: Path, lang: str
) -> list[Path]:
    rows = [w for w in report.waits if w.location == location]
    if not rows:
        return []
    months = sorted({w.month for w in rows})
    figure, axes = plt.subplots(figsize=(max(6.0, len(months) * 0.8), 3.5))
    bottom = [0] * len(months)
    for cause in CAUSE_ORDER:
        heights = [sum(w.people for w in rows if w.month == m and w.cause == cause) for m in months]
        if any(heights):
            axes.bar(
                months, heights, bottom=bottom, label=text(cause, lang), color=CAUSE_COLOURS[cause]
            )
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    axes.set_title(text("chart_unmet", lang).format(location=location))
    axes.set_ylabel(text("people", lang))
    axes.legend(fontsize=7)
    return _save(plt, figure, directory / f"unmet-demand-{location}-{lang}.png")


def _legal_aid(plt: Any, report: ResourcesReport, directory: Path, lang: str) -> list[Path]:
    hours: dict[str, list[float]] = defaultdict(list)
    for p in report.legal_aid:
        hours[p.provider_id] += p.hours_to_first_contact
    providers = sorted(k for k, v in hours.items() if v)
    if not providers:
        return []
    figure, axes = plt.subplots(figsize=(max(6.0, len(providers) * 0.7), 3.5))
    positions = list(range(len(providers)))
    p50 = [percentile(hours[p], 0.5) or 0.0 for p in providers]
    p95 = [percentile(hours[p], 0.95) or 0.0 for p in providers]
    axes.bar([x - 0.2 for x in positions], p50, width=0.4, label="p50", color="#1b9e77")
    axes.bar([x + 0.2 for x in positions], p95, width=0.4, label="p95", color="#d95f02")
    axes.set_xticks(positions, providers, rotation=60, fontsize=7)
    axes.set_title(text("chart_legal", lang))
    axes.set_ylabel(text("hours", lang))
    axes.legend(fontsize=7)
    return _save(plt, figure, directory / f"legal-aid-first-contact-{lang}.png")
