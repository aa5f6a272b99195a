"""``returns simulate``: realistic returns at a steady rate, with surges, for a while.

Mount it with ``app.command("simulate")(simulate)``; ``python -m services.simulator``
runs it on its own.
"""

from __future__ import annotations

import random
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live

from services.runtime.context import Runtime, build_runtime
from services.simulator.channels import NotLoopback, open_channels
from services.simulator.display import LiveView
from services.simulator.plan import SimulationConfig
from services.simulator.profile import Profile, ProfileError, load_profile
from services.simulator.run import RunStats, Simulation, SimulationAborted
from services.simulator.schedule import ScheduleError, parse_duration, parse_surge, parse_weights

console = Console()


class Via(StrEnum):
    """How submissions travel: to ``returns-inbound`` or to intake's HTTP API."""

    kafka = "kafka"
    http = "http"


def simulate(
    rate: Annotated[float, typer.Option(min=0.0, help="people per second, all crossings")] = 1.0,
    duration: Annotated[str, typer.Option(help="how long: 90, 90s, 5m, 1h")] = "60s",
    crossings: Annotated[
        list[str] | None, typer.Option(help="crossing codes, comma-separated or repeated")
    ] = None,
    surge: Annotated[
        list[str] | None,
        typer.Option(help="CODE:FACTORx@START[+LENGTH], e.g. ELP:10x@60s+30s (repeatable)"),
    ] = None,
    weight: Annotated[
        list[str] | None, typer.Option(help="CODE=W: override a crossing's weight (repeatable)")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="same seed, same people; default: random")
    ] = None,
    via: Annotated[Via, typer.Option(help="submit through Kafka or intake's HTTP API")] = Via.kafka,
    http: Annotated[
        str | None, typer.Option(help="intake's base URL, loopback only (implies --via http)")
    ] = None,
    token: Annotated[
        str | None, typer.Option(envvar="RETURNS_TOKEN", help="bearer token for --via http")
    ] = None,
    inm: Annotated[
        bool, typer.Option(help="also play INM and shelters (their events go to Kafka)")
    ] = False,
    profile: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="TOML merged over the default profile"),
    ] = None,
) -> None:
    """Submit realistic returns at a steady rate, with surges, then stop by itself."""
    if http and via is Via.kafka:
        via = Via.http
    runtime = build_runtime()
    try:
        config = _config(
            runtime, load_profile(profile), rate, duration, crossings, surge, weight, seed, inm
        )
    except (ProfileError, ScheduleError) as exc:
        raise typer.BadParameter(str(exc)) from None
    try:
        with open_channels(runtime, via.value, http=http, token=token, inm=inm) as channels:
            simulation = Simulation(
                config, runtime.reference, channels.submit, publish=channels.publish
            )
            with Live(LiveView(simulation), console=console, refresh_per_second=4):
                stats = _run(simulation)
            if not console.is_terminal:
                console.print()  # rich leaves the last line of a non-terminal Live open
    except (NotLoopback, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None
    except SimulationAborted as exc:
        console.print(f"[red]stopped: {exc}[/red]")
        raise typer.Exit(1) from None
    _summary(config, stats)


def _config(
    runtime: Runtime,
    profile: Profile,
    rate: float,
    duration: str,
    crossings: list[str] | None,
    surges: list[str] | None,
    weights: list[str] | None,
    seed: int | None,
    inm: bool,
) -> SimulationConfig:
    codes = _codes(crossings) or [
        c for c in profile.crossings if c in runtime.reference.crossing_codes
    ]
    for code in codes:
        if code not in runtime.reference.crossing_codes:
            raise ScheduleError(f"{code} is not a designated crossing")
        if code not in profile.crossings:
            raise ScheduleError(f"the profile has no [crossings.{code}] table")
    parsed = tuple(parse_surge(text) for text in surges or ())
    for surge in parsed:
        if surge.crossing not in codes:
            raise ScheduleError(f"surge {surge}: {surge.crossing} is not in this run")
    seconds = parse_duration(duration)
    if seconds <= 0:
        raise ScheduleError("--duration must be positive")
    return SimulationConfig(
        rate=rate,
        duration=seconds,
        crossings=tuple(codes),
        profile=profile,
        seed=seed if seed is not None else random.SystemRandom().randrange(10**9),
        surges=parsed,
        weights=parse_weights(weights or ()),
        inm=inm,
    )


def _codes(items: list[str] | None) -> list[str]:
    codes = [c.strip().upper() for item in items or () for c in item.split(",") if c.strip()]
    return list(dict.fromkeys(codes))


def _run(simulation: Simulation) -> RunStats:
    try:
        return simulation.run()
    except KeyboardInterrupt:
        simulation.stats.cut_short = True
        return simulation.stats


def _summary(config: SimulationConfig, stats: RunStats) -> None:
    groups = sum(c.groups for c in stats.crossings.values())
    achieved = stats.sent / stats.elapsed if stats.elapsed > 0 else 0.0
    console.print(
        f"sent {stats.sent} people in {groups} groups over {stats.elapsed:.1f}s "
        f"({achieved:.1f}/s); rejected {stats.rejected}, failed {stats.failed}"
        + (", cut short" if stats.cut_short else "")
    )
    console.print(f"seed {config.seed} (--seed {config.seed} draws the same people again)")
