"""`returns audit ...`: replay the decision topics as an auditor, and re-derive every decision.

Each command reads the topics with its own consumer (no group, no commits: nothing on
the cluster changes), showing a progress bar of events read against the total at the
end offsets. Results go to standard output, progress and notes to standard error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from kafka.errors import KafkaError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.audit import charts, report_formats, views
from services.audit.assembly import KEEP_DECIDED
from services.audit.events import Logged
from services.audit.reader import Replay, ReplayError, ReplaySource
from services.audit.report import REPORT_TOPICS, CohortBuilder
from services.audit.timeline import (
    CASE_TOPICS,
    CaseCollector,
    ChainStep,
    build_timeline,
    decision_chain,
    timeline_json,
)
from services.audit.verify import DEFAULT_GRACE, VERIFY_TOPICS, Verifier
from services.audit.whatif import WHATIF_TOPICS, WhatIf, whatif_json
from services.reference import Reference, ReferenceDataError, load_reference
from services.screening.ruleset import RuleSetError, load_rule_set

audit_app = typer.Typer(
    help=(
        "Replay the decision topics as an auditor and re-derive every decision. Each command "
        "reads with its own consumer (no group, no commits: nothing on the cluster changes)."
    ),
    no_args_is_help=True,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)

Bootstrap = Annotated[
    str, typer.Option("--bootstrap", envvar="KAFKA_BOOTSTRAP_SERVERS", help="Kafka brokers")
]
Prefix = Annotated[
    str, typer.Option("--prefix", envvar="RETURNS_TOPIC_PREFIX", help="topic prefix of the stack")
]
FromTimestamp = Annotated[
    str | None,
    typer.Option(
        "--from-timestamp",
        help="start at the first record written at or after this ISO time (UTC if no offset)",
    ),
]
ReferenceDir = Annotated[
    Path | None,
    typer.Option("--reference-dir", envvar="RETURNS_REFERENCE_DIR", help="reference data folder"),
]
DEFAULT_BOOTSTRAP = "127.0.0.1:9092"


def _moment(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{option}: not an ISO date or time: {text!r}") from None
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)


def _reference(directory: Path | None) -> Reference:
    try:
        return load_reference(directory)
    except ReferenceDataError as exc:
        raise typer.BadParameter(str(exc)) from None


def _replay(
    bootstrap: str,
    prefix: str,
    topics: tuple[str, ...],
    feed: Callable[[Logged], None],
    from_timestamp: str | None = None,
) -> Replay:
    """Replay `topics` into `feed` with a progress bar; exit 2 when the replay fails."""
    source = ReplaySource(bootstrap, prefix)
    start = _moment(from_timestamp, "--from-timestamp")
    columns = (
        TextColumn("replaying {task.fields[what]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("events"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err) as progress:
        task = progress.add_task("replay", total=None, what=f"{len(topics)} topics")

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        replay = Replay(source, topics, from_timestamp=start, progress=advance)
        try:
            for event in replay:
                feed(event)
        except (ReplayError, KafkaError) as exc:
            err.print(f"[red]replay failed: {exc}[/red]")
            raise typer.Exit(2) from None
    for where, problem in replay.stats.undecodable[:20]:
        err.print(f"[yellow]skipped undecodable {where}: {problem}[/yellow]")
    return replay


@audit_app.command()
def case(
    wanted: Annotated[str, typer.Argument(metavar="ID", help="a case id (A########) or group id")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table")] = False,
    show_personal_data: Annotated[
        bool, typer.Option("--show-personal-data", help="names, birth dates, declarations")
    ] = False,
    bootstrap: Bootstrap = DEFAULT_BOOTSTRAP,
    prefix: Prefix = "",
    from_timestamp: FromTimestamp = None,
) -> None:
    """The whole timeline of one case or group across every topic, with causation links.

    Then the chain of the group's decisions (revision, what each supersedes, window) with
    its placements and withdrawals, in order, and which are live.
    """
    collector = CaseCollector(wanted)
    _replay(bootstrap, prefix, CASE_TOPICS, collector.feed, from_timestamp)
    if collector.chain_cut():  # the group was decided before the case came: read it whole
        collector = collector.again()
        _replay(bootstrap, prefix, CASE_TOPICS, collector.feed, from_timestamp)
    entries = build_timeline(collector.events, show_personal_data)
    if not entries:
        err.print(f"no event mentions {wanted}")
        raise typer.Exit(1)
    if as_json:
        document = timeline_json(entries, show_personal_data)
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        views.show_timeline(out, wanted, entries)
        _show_chain(decision_chain(entries))


def _show_chain(steps: list[ChainStep]) -> None:
    """Each group's decisions and placements, in order: revision, what each follows, live."""
    if not steps:
        return
    table = Table(title="Decisions and placements")
    for column in ("#", "group", "event", "rev", "follows", "outcome", "reasons", "window", "live"):
        table.add_column(column, overflow="fold")
    for step in steps:
        table.add_row(
            str(step.number),
            step.group_id,
            step.topic,
            str(step.revision or ""),
            f"#{step.follows}" if step.follows else "",
            step.outcome,
            step.reasons,
            step.window,
            "live" if step.live else "",
        )
    out.print(table)


@audit_app.command()
def verify(
    bootstrap: Bootstrap = DEFAULT_BOOTSTRAP,
    prefix: Prefix = "",
    reference_dir: ReferenceDir = None,
    grace_minutes: Annotated[
        float, typer.Option(help="how long a missing follow-up is pending, not a mismatch")
    ] = DEFAULT_GRACE.total_seconds() / 60,
    as_of: Annotated[
        str | None, typer.Option(help="the end of the audit (ISO time; default now)")
    ] = None,
    keep_decided: Annotated[
        int, typer.Option(help="decided groups whose members are kept to re-run a 2nd decision")
    ] = KEEP_DECIDED,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of tables")] = False,
) -> None:
    """Re-run screening and placement over the whole history; exit 1 on any mismatch."""
    verifier = Verifier(_reference(reference_dir), keep_decided=keep_decided)
    replay = _replay(bootstrap, prefix, VERIFY_TOPICS, verifier.feed)
    end = _moment(as_of, "--as-of") or datetime.now(UTC)
    report = verifier.finish(replay.stats, end, timedelta(minutes=grace_minutes))
    if as_json:
        typer.echo(json.dumps(asdict(report), indent=2, default=str))
    else:
        views.show_verify(out, report)
    if not report.ok:
        raise typer.Exit(1)


_RENDER = {
    "md": report_formats.to_markdown,
    "csv": report_formats.to_csv,
    "json": report_formats.to_json,
}


@audit_app.command()
def report(
    start: Annotated[str, typer.Option("--from", help="first local date of return (YYYY-MM-DD)")],
    end: Annotated[str, typer.Option("--to", help="last local date of return, inclusive")],
    output_format: Annotated[str, typer.Option("--format", help="md | csv | json | all")] = "md",
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="write files (and charts) here")
    ] = None,
    bootstrap: Bootstrap = DEFAULT_BOOTSTRAP,
    prefix: Prefix = "",
    from_timestamp: FromTimestamp = None,
    reference_dir: ReferenceDir = None,
) -> None:
    """The cohort report per crossing and location: decisions, needs, placements, legal aid."""
    first, last = _date(start, "--from"), _date(end, "--to")
    if output_format not in ("md", "csv", "json", "all"):
        raise typer.BadParameter("--format must be md, csv, json or all")
    if output_format == "all" and out_dir is None:
        raise typer.BadParameter("--format all needs --out")
    builder = CohortBuilder(_reference(reference_dir), first, last)
    _replay(bootstrap, prefix, REPORT_TOPICS, builder.feed, from_timestamp)
    cohort = builder.result()
    if out_dir is None:
        typer.echo(_RENDER[output_format](cohort))
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("md", "csv", "json") if output_format == "all" else (output_format,):
        path = out_dir / f"report.{name}"
        path.write_text(_RENDER[name](cohort), encoding="utf-8")
        err.print(f"wrote {path}")
    written = charts.write_charts(cohort, out_dir)
    for path in written:
        err.print(f"wrote {path}")
    if not charts.charts_available():
        err.print("no PNG charts: matplotlib is not installed")


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{option}: not a date (YYYY-MM-DD): {text!r}") from None


@audit_app.command("what-if")
def what_if(
    rules: Annotated[str, typer.Option("--rules", help="a rule set's TOML file (or shipped name)")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of tables")] = False,
    bootstrap: Bootstrap = DEFAULT_BOOTSTRAP,
    prefix: Prefix = "",
    from_timestamp: FromTimestamp = None,
    reference_dir: ReferenceDir = None,
) -> None:
    """Which recorded decisions another rule set would change, and why (nothing is written)."""
    try:
        rule_set = load_rule_set(rules)
    except RuleSetError as exc:
        raise typer.BadParameter(str(exc)) from None
    run = WhatIf(rule_set, _reference(reference_dir))
    _replay(bootstrap, prefix, WHATIF_TOPICS, run.feed, from_timestamp)
    result = run.finish()
    if as_json:
        typer.echo(json.dumps(whatif_json(result), indent=2))
    else:
        views.show_whatif(out, result)
