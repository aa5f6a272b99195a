"""``returns``: one entry point for every command of the project."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
console = Console()
SERVICES = ("intake", "screening", "placement", "notify")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run(
    ctx: typer.Context, service: Annotated[str, typer.Argument(help=" | ".join(SERVICES))]
) -> None:
    """Run one service as its own process (extra arguments go to faust, `worker` by default)."""
    if service not in SERVICES:
        raise typer.BadParameter(
            f"unknown service {service!r}; choose one of {', '.join(SERVICES)}"
        )
    from services.runtime.run import run as run_service

    module = importlib.import_module(f"services.{service}.app")
    run_service(service, module.build_app, list(ctx.args))


@app.command()
def topics() -> None:
    """Create or update every topic of infra/topics.toml (idempotent)."""
    from services.runtime.admin import ensure_topics
    from services.runtime.context import build_runtime
    from services.runtime.settings import ConfigurationError

    try:
        runtime = build_runtime()
        changes = ensure_topics(runtime.settings, runtime.topology)
    except ConfigurationError as exc:
        console.print(f"[red]returns topics: {exc}[/red]")
        raise typer.Exit(2) from None
    table = Table("topic", "action", "detail")
    for change in changes:
        table.add_row(change.topic, change.action, change.detail)
    console.print(table)


@app.command()
def schemas(
    check: Annotated[bool, typer.Option(help="fail if the committed files drifted")] = False,
) -> None:
    """Write (or check) the JSON Schemas in schemas/json/."""
    from schemas import export

    raise typer.Exit(export.main(["--check"] if check else []))


@app.command("intake-token")
def intake_token(source: str) -> None:
    """Make a bearer token for an upstream SOURCE and print the line for the token file."""
    from services.intake.auth import hash_token, new_token

    token = new_token()
    print(f"token for {source} (give it to them; it is not stored): {token}")
    print("line to add under [sources] in the intake token file:")
    print(f'{source} = "{hash_token(token)}"')


@app.command()
def submit(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="JSON lines, one submission each")
    ],
    http: Annotated[
        str | None, typer.Option(help="intake's base URL; default: publish to Kafka")
    ] = None,
    token: Annotated[
        str | None, typer.Option(envvar="RETURNS_TOKEN", help="bearer token for --http")
    ] = None,
) -> None:
    """Submit returns from FILE.jsonl to returns-inbound (Kafka) or to intake (HTTP)."""
    from services.upstream import HttpSubmitter, KafkaSubmitter, submit_lines

    lines = file.read_bytes().splitlines()
    total = sum(1 for line in lines if line.strip())
    if http and not token:
        raise typer.BadParameter("--http needs --token (or RETURNS_TOKEN)")
    submitter = HttpSubmitter(http, token or "") if http else KafkaSubmitter.from_env()
    columns = (TextColumn("submitting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with submitter, Progress(*columns, console=console) as progress:
        task = progress.add_task("submit", total=total)
        summary = submit_lines(lines, submitter, lambda: progress.advance(task))
    for problem in summary.problems:
        console.print(f"[red]{problem}[/red]")
    console.print(f"sent {summary.sent}, rejected {summary.rejected}")
    if summary.rejected:
        raise typer.Exit(1)


def _mount() -> None:
    """Commands that live with their own packages."""
    from services.audit.cli import audit_app
    from services.keys.cli import erase as erase_command
    from services.keys.cli import keys_app
    from services.notify.cli import notify_app
    from services.simulator.cli import simulate as simulate_command
    from services.top.cli import top as top_command

    app.command("simulate")(simulate_command)
    app.command("top")(top_command)
    app.add_typer(notify_app, name="notify", help="Notify's tools: redeliver failed webhooks.")
    app.add_typer(audit_app, name="audit", help="Replay, trace, verify and report on the log.")
    app.command("erase")(erase_command)
    app.add_typer(keys_app, name="keys", help="Key-encryption keys: add, re-wrap, retire.")


_mount()


def main() -> None:
    app()
