"""Notify's operator commands, mounted as `returns notify ...`."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    from services.notify.config import NotifyConfig
    from services.notify.delivery import Outcome
    from services.notify.partners import PartnerSubscription
    from services.runtime.context import Runtime

notify_app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
console = Console()


@notify_app.callback()
def notify() -> None:
    """Notify's operator commands."""


def parse_since(value: str) -> datetime:
    """An ISO-8601 time with its UTC offset (`Z` allowed); a time without one is refused."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"not an ISO-8601 time: {value!r}") from None
    if moment.utcoffset() is None:
        raise typer.BadParameter("give the UTC offset, e.g. 2026-11-27T06:00:00-07:00 or ...Z")
    return moment


@notify_app.command()
def redeliver(
    partner: Annotated[str, typer.Option(help="partner_id, as in the partners file")],
    since: Annotated[
        str, typer.Option(help="ISO-8601 time with offset: failures from then on are re-sent")
    ],
    partners_file: Annotated[
        Path | None,
        typer.Option(envvar="RETURNS_PARTNERS_FILE", help="partner subscriptions (TOML)"),
    ] = None,
    lookback_hours: Annotated[
        float, typer.Option(help="how long before --since to look for the requests")
    ] = 24.0,
) -> None:
    """Re-send PARTNER's failed deliveries since SINCE, skipping what it already has."""
    from services.notify.config import NotifyConfig
    from services.notify.redeliver import plan
    from services.runtime.context import build_runtime

    moment = parse_since(since)
    runtime = build_runtime()
    config = dataclasses.replace(NotifyConfig.from_env(), partners_file=partners_file)
    subscriptions = config.subscriptions({loc.code for loc in runtime.reference.locations})
    chosen = next((p for p in subscriptions if p.partner_id == partner), None)
    if chosen is None:
        known = ", ".join(sorted(p.partner_id for p in subscriptions)) or "none"
        raise typer.BadParameter(f"unknown partner {partner!r} (partners file has: {known})")
    with console.status(f"reading receipts of {partner} since {moment.isoformat()}"):
        todo = plan(runtime.settings, chosen, moment, timedelta(hours=lookback_hours))
    for label, ids in (
        ("request not found", todo.not_found),
        ("unsubscribed", todo.not_subscribed),
    ):
        for event_id in ids:
            console.print(f"[yellow]skipped {event_id}: {label}[/yellow]")
    if not todo.requests:
        console.print(f"nothing to redeliver to {partner}")
        return
    outcomes = _send_with_progress(runtime, config, chosen, todo.requests)
    failed = [o for o in outcomes if not o.delivered]
    console.print(f"delivered {len(outcomes) - len(failed)}, failed {len(failed)}")
    for outcome in failed:
        console.print(f"[red]{outcome.event_id}: {outcome.last_error}[/red]")
    if failed:
        raise typer.Exit(1)


def _send_with_progress(
    runtime: Runtime, config: NotifyConfig, partner: PartnerSubscription, requests: dict[str, bytes]
) -> list[Outcome]:
    from services.notify.redeliver import redeliver
    from services.runtime.publishing import EventProducer

    columns = (
        TextColumn(f"redelivering to {partner.partner_id}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with (
        EventProducer(runtime.router, client_id="returns-redeliver") as producer,
        Progress(*columns, console=console) as progress,
    ):
        task = progress.add_task("redeliver", total=len(requests))
        return asyncio.run(
            redeliver(
                producer,
                partner,
                requests,
                on_outcome=lambda outcome: progress.advance(task),
                backoff=config.backoff,
                timeouts=config.timeouts,
            )
        )
