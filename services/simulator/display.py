"""The live progress view of a run: per crossing, what was sent, at what rate, any surge.

It shows counts and codes only: never a name or any other field of a record.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from services.simulator.run import Simulation
from services.simulator.schedule import Surge, rate_at


class LiveView:
    """A renderable that redraws from the simulation's stats each time rich refreshes."""

    def __init__(self, simulation: Simulation) -> None:
        self.simulation = simulation

    def __rich__(self) -> RenderableType:
        offset = min(self.simulation.offset, self.simulation.config.duration)
        return render(self.simulation, offset)


def render(simulation: Simulation, offset: float) -> RenderableType:
    """The table of one moment, ``offset`` seconds into the run."""
    config, stats = simulation.config, simulation.stats
    table = Table(
        "", "base", "due", "sent", "groups", "actual", "surge", "rejected", "failed",
        title=f"returns simulate: {offset:5.1f}s of {config.duration:g}s, seed {config.seed}",
        caption="rates in people per second; actual: over the last 5 s",
    )  # fmt: skip
    for code, rate in sorted(config.base_rates().items()):
        mine = [s for s in config.surges if s.crossing == code]
        crossing = stats.crossings[code]
        table.add_row(
            code,
            per_second(rate),
            per_second(rate_at(rate, mine, offset)),
            str(crossing.sent),
            str(crossing.groups),
            per_second(crossing.meter.rate(simulation.monotonic(), offset)),
            surge_label(mine, offset),
            str(crossing.rejected),
            str(crossing.failed),
        )
    table.add_row(
        "all", per_second(config.rate), "", str(stats.sent), "", "", "", str(stats.rejected),
        str(stats.failed), style="bold",
    )  # fmt: skip
    lines: list[RenderableType] = [table]
    if config.inm:
        inm = " · ".join(f"{topic} {count}" for topic, count in sorted(stats.inm.items()))
        lines.append(Text(f"INM: {inm or 'nothing yet'}"))
    if stats.sources:
        sources = " · ".join(f"{name} {count}" for name, count in sorted(stats.sources.items()))
        lines.append(Text(f"sources: {sources}"))
    if stats.max_lag > 0.5:
        lines.append(Text(f"behind schedule by up to {stats.max_lag:.1f}s", style="yellow"))
    if stats.last_error:
        lines.append(Text(f"last error: {stats.last_error}", style="red"))
    return Group(*lines)


def per_second(rate: float) -> str:
    """A rate in a narrow column: ``0.25``, ``12.5``, ``30,000``."""
    if rate >= 1000:
        return f"{rate:,.0f}"
    return f"{rate:.1f}" if rate >= 10 else f"{rate:.2f}"


def surge_label(surges: list[Surge], offset: float) -> str:
    """``10x to 90s`` for active surges, ``10x at 60s`` for the next one, else blank."""
    active = [s for s in surges if s.active(offset)]
    if active:
        return ", ".join(
            f"{s.factor:g}x" + ("" if s.length is None else f" to {s.end:g}s") for s in active
        )
    upcoming = sorted((s for s in surges if s.start > offset), key=lambda s: s.start)
    return f"({upcoming[0].factor:g}x at {upcoming[0].start:g}s)" if upcoming else ""
