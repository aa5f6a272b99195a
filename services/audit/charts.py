"""PNG charts of the cohort report: people decided per day, by decision, one chart a location.

matplotlib is optional: without it `charts_available()` is False and `write_charts`
writes nothing, and every other part of the audit works the same.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any

from services.audit.report import DECISIONS, CohortReport

COLOURS = {
    "accepted": "#1b9e77",
    "declined": "#d95f02",
    "referred": "#7570b3",
    "not_eligible": "#999999",
}


def pyplot() -> Any | None:
    """matplotlib's pyplot drawing to files only, or None without matplotlib."""
    try:
        matplotlib = importlib.import_module("matplotlib")
    except ImportError:
        return None
    matplotlib.use("Agg")  # files only, never a window
    return importlib.import_module("matplotlib.pyplot")


def charts_available() -> bool:
    """Whether matplotlib can be imported."""
    return importlib.util.find_spec("matplotlib") is not None


def write_charts(report: CohortReport, directory: Path) -> list[Path]:
    """One stacked bar chart per crossing in `directory`; the paths written (none without
    matplotlib)."""
    plt = pyplot()
    if plt is None:
        return []
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for code in sorted(report.rows):
        row = report.rows[code]
        days = sorted({day for day, _ in row.decisions_by_day})
        if not days:
            continue
        figure, axes = plt.subplots(figsize=(max(6.0, len(days) * 0.35), 3.5))
        bottom = [0] * len(days)
        for decision in DECISIONS:
            heights = [row.decisions_by_day[(day, decision)] for day in days]
            axes.bar(
                [d.isoformat() for d in days],
                heights,
                bottom=bottom,
                label=decision,
                color=COLOURS[decision],
            )
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        axes.set_title(f"People decided per day at {row.location} ({row.crossing})")
        axes.set_ylabel("people")
        axes.tick_params(axis="x", labelrotation=60, labelsize=7)
        axes.legend(fontsize=7)
        figure.tight_layout()
        path = directory / f"decisions-{row.crossing}-{row.location}.png"
        figure.savefig(path, dpi=110)
        plt.close(figure)
        written.append(path)
    return written
