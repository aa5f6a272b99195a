"""``returns simulate``: realistic returns at a steady rate, with surges, for a while.

Mount it with ``app.command("simulate")(simulate)``; ``python -m services.simulator``
runs it on its own.
"""

from __future__ import annotations

import random
from contextlib import ExitStack
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.live import Live

from services.runtime.context import Runtime, build_runtime
from services.simulator.channels import (
    NotLoopback,
    open_channels,
    read_tokens,
    require_loopback_url,
)
from services.simulator.display import LiveView
from services.simulator.partner_desk import PartnerDesk
from services.simulator.partner_run import (
    PartnerReporter,
    PartnerRun,
    Partners,
    PartnerThread,
    RequestFeed,
    read_partners,
    utc_now,
)
from services.simulator.partners import PartnerBehaviour, parse_delay
from services.simulator.plan import SimulationConfig
from services.simulator.profile import Profile, ProfileError, load_profile
from services.simulator.run import RunStats, Simulation, SimulationAborted
from services.simulator.schedule import ScheduleError, parse_duration, parse_surge, parse_weights
from services.simulator.timing import Timing, parse_spread, timing_from

console = Console()


class Via(StrEnum):
    """How submissions travel: to ``returns-inbound`` or to intake's HTTP API."""

    kafka = "kafka"
    http = "http"


class Key(StrEnum):
    """What ``returns-inbound`` records are keyed by (the contract allows any key)."""

    submission_id = "submission_id"
    group_id = "group_id"


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
    delay_profile: Annotated[
        str | None,
        typer.Option(help="how late records come: realistic, realtime, batch, immediate, ..."),
    ] = None,
    max_delay: Annotated[
        str | None, typer.Option(help="cap every delay, e.g. 24h; 0 submits at once")
    ] = None,
    member_spread: Annotated[
        str | None, typer.Option(help="LOW..HIGH between a family's sends, e.g. 0s..5m")
    ] = None,
    spread_share: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="share of families sent apart")
    ] = None,
    key: Annotated[
        Key, typer.Option(help="key of Kafka records: submission_id or group_id")
    ] = Key.submission_id,
    tokens: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="'SOURCE TOKEN' lines for --via http"),
    ] = None,
    partners_file: Annotated[
        Path | None,
        typer.Option(
            exists=True, dir_okay=False, help="also play the legal-aid partners of this file"
        ),
    ] = None,
    notify_url: Annotated[
        str, typer.Option(help="notify's base URL for partner reports, loopback only")
    ] = "http://127.0.0.1:8083",
    accept_delay: Annotated[
        str, typer.Option(help="time to accept or decline: 2h, 10m..4h, exp:2h, lognormal:30m..4h")
    ] = "lognormal:30m..4h",
    decline_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="share of requests declined")
    ] = 0.1,
    silent_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="share never answered (reassigned late)")
    ] = 0.0,
    contact_delay: Annotated[
        str, typer.Option(help="acceptance to first contact (same forms)")
    ] = "lognormal:6h..36h",
    close_delay: Annotated[str, typer.Option(help="first contact to closed")] = "2d..10d",
    clock_scale: Annotated[
        float, typer.Option(min=0.0, help="partner delays run this many times faster")
    ] = 1.0,
    partners_linger: Annotated[
        str, typer.Option(help="keep reporting this long after the last send")
    ] = "0s",
) -> None:
    """Submit realistic returns at a steady rate, with surges, then stop by itself.

    Records come from several sources per crossing and are submitted hours after
    their returned_at by default (the profile's [timing] and [[delays.*]]).
    """
    if http and via is Via.kafka:
        via = Via.http
    runtime = build_runtime()
    try:
        loaded = load_profile(profile)
        timing = _timing(loaded, delay_profile, max_delay, member_spread, spread_share)
        config = _config(runtime, loaded, rate, duration, crossings, surge, weight, seed, inm)
        config = replace(config, timing=timing)
        by_source = read_tokens(tokens) if tokens else None
        if via is Via.http and by_source is not None and not token:
            _check_tokens(runtime, config, by_source)
        partners = None
        if partners_file is not None:
            require_loopback_url(notify_url)
            behaviour = PartnerBehaviour(
                accept_delay=parse_delay(accept_delay),
                decline_share=decline_share,
                contact_delay=parse_delay(contact_delay),
                close_delay=parse_delay(close_delay),
                silent_share=silent_share,
                clock_scale=clock_scale,
            )
            partners = (read_partners(partners_file), behaviour, parse_duration(partners_linger))
    except (ProfileError, ScheduleError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None
    try:
        with open_channels(
            runtime, via.value, http=http, token=token, tokens=by_source, inm=inm, key=key.value
        ) as channels:
            simulation = Simulation(
                config, runtime.reference, channels.submit, publish=channels.publish
            )
            with ExitStack() as stack:
                desk = None
                if partners is not None:
                    desk, thread = _partners(runtime, notify_url, config.seed, *partners)
                    stack.enter_context(thread)
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
    if desk is not None:
        _partner_summary(desk, thread)


def _partners(
    runtime: Runtime,
    notify_url: str,
    seed: int,
    partners: Partners,
    behaviour: PartnerBehaviour,
    linger: float,
) -> tuple[PartnerDesk, PartnerThread]:
    """The partners' desk, and the thread that feeds it requests and sends its reports."""
    desk = PartnerDesk(behaviour, seed, partners.serving)
    settings = runtime.settings
    feed = RequestFeed(settings.bootstrap_servers, settings.topic_prefix, utc_now())
    reporter = PartnerReporter(notify_url, partners.secrets, httpx.Client(timeout=5.0))
    return desk, PartnerThread(PartnerRun(desk, feed, reporter), linger)


def _partner_summary(desk: PartnerDesk, thread: PartnerThread) -> None:
    stats = desk.stats
    answers = ", ".join(f"{k}: {n}" for k, n in sorted(stats.answers.items())) or "none"
    console.print(
        f"partners: {stats.requests} requests seen ({stats.not_served} not served, "
        f"{stats.silent} left unanswered); reports {answers}; "
        f"{desk.waiting} still to report"
    )
    if thread.run.failure is not None:
        console.print(f"[red]partners stopped: {thread.run.failure}[/red]")


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


def _timing(
    profile: Profile,
    delays: str | None,
    max_delay: str | None,
    member_spread: str | None,
    spread_share: float | None,
) -> Timing:
    return timing_from(
        profile,
        delays=delays,
        max_delay=None if max_delay is None else parse_duration(max_delay),
        member_spread=None if member_spread is None else parse_spread(member_spread),
        spread_share=spread_share,
    )


def _check_tokens(runtime: Runtime, config: SimulationConfig, tokens: dict[str, str]) -> None:
    locations = {code: runtime.reference.crossing(code).location for code in config.crossings}
    missing = sorted(config.timing.run_sources(locations) - set(tokens))
    if missing:
        raise ValueError(f"--tokens has no token for {', '.join(missing)}")


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
    timing = config.timing
    low, high = timing.member_spread
    console.print(
        f"delays {timing.name} (up to {timing.max_delay / 3600:.1f}h); "
        f"{timing.spread_share:.0%} of families sent {low:g}s..{high:g}s apart; "
        f"from {len(stats.sources)} sources"
    )
    console.print(f"seed {config.seed} (--seed {config.seed} draws the same people again)")
