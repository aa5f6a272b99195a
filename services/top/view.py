"""One frame of ``returns top``: a table per crossing, counts and codes only (no personal data)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from services.observe import SERVICE_INPUTS, CrossingFigures, Snapshot, Stage
from services.observe.dashboard import DECISIONS

LaneLags = Mapping[str, Mapping[str, int | None]]
SHOWN_STAGES: tuple[tuple[Stage, str], ...] = (
    ("screened", "p95 →screened"),
    ("placement", "p95 →placement"),
    ("legal_aid", "p95 →legal aid"),
)
DECISION_HEADERS = {"accepted": "acc", "declined": "decl", "referred": "ref", "not_eligible": "n/e"}
LAG_HEADERS = {
    "intake": "lag in",
    "screening": "lag scr",
    "placement": "lag plc",
    "notify": "lag ntf",
}
NOTHING = "-"


def render(
    snapshot: Snapshot,
    lags: LaneLags,
    *,
    source: str,
    notes: tuple[str, ...] = (),
    live: bool = False,
) -> RenderableType:
    """The frame for ``snapshot`` and the consumer ``lags`` (service -> lane -> lag).

    ``notes`` are warnings shown under the table; ``live`` adds how to quit.
    """
    table = _table(snapshot, source)
    for figures in snapshot.crossings:
        table.add_row(*row(figures, lags))
    footer = Text(
        f"{snapshot.events} events taken, {snapshot.groups} groups tracked"
        + (" · Ctrl-C to quit" if live else ""),
        style="dim",
    )
    return Group(table, *(Text(note, style="yellow") for note in notes), footer)


def _table(snapshot: Snapshot, source: str) -> Table:
    clock = datetime.fromtimestamp(snapshot.at).strftime("%H:%M:%S")
    table = Table(
        title=f"returns top · {source} · {clock}",
        caption=(
            f"in/s: people per second over the last {snapshot.rate_seconds} s; counts and p95 "
            f"over the last {snapshot.window:g} s. p95: seconds from a group's first "
            "person-returned (complete groups; groups measured in brackets). lag: messages "
            "not yet committed by each service's group on the lane's partitions of its input."
        ),
        caption_justify="left",
    )
    table.add_column("crossing")
    table.add_column("in/s", justify="right")
    for kind in DECISIONS:
        table.add_column(DECISION_HEADERS[kind], justify="right")
    table.add_column("placed", justify="right")
    table.add_column("deferred", justify="right")
    for service in SERVICE_INPUTS:
        table.add_column(LAG_HEADERS[service], justify="right")
    for _, header in SHOWN_STAGES:
        table.add_column(header, justify="right")
    return table


def row(figures: CrossingFigures, lags: LaneLags) -> list[str]:
    """The cells of one crossing's row."""
    cells = [figures.crossing, per_second(figures.per_second)]
    cells += [str(figures.decisions.get(kind, 0)) for kind in DECISIONS]
    cells += [str(figures.placed), str(figures.deferred)]
    cells += [lag(lags.get(service, {}).get(figures.crossing)) for service in SERVICE_INPUTS]
    cells += [
        seconds(figures.p95.get(stage), figures.measured.get(stage, 0)) for stage, _ in SHOWN_STAGES
    ]
    return cells


def per_second(rate: float) -> str:
    """``0.25``, ``2.4``, ``60``: narrow, with the precision that matters at each scale."""
    if rate >= 100:
        return f"{rate:.0f}"
    return f"{rate:.1f}" if rate >= 10 else f"{rate:.2f}"


def lag(value: int | None) -> str:
    """A lag, or ``-`` when the group committed nothing (not running, or never started)."""
    return NOTHING if value is None else f"{value:,}"


def seconds(value: float | None, measured: int) -> str:
    """``0.42s (35)``; ``-`` when no group reached the stage in the window."""
    if value is None:
        return NOTHING
    shown = f"{value:.2f}s" if value < 10 else f"{value:.0f}s"
    return f"{shown} ({measured})"
