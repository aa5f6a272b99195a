"""`returns audit ...`: replay the decision topics as an auditor, and re-derive every decision.

Each command reads the topics with its own consumer (no group, no commits: nothing on
the cluster changes), showing a progress bar of events read against the total at the
end offsets. Results go to standard output, progress and notes to standard error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from kafka.errors import KafkaError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from schemas.registry import TOPICS
from services.audit import (
    charts,
    report_formats,
    resources_data,
    resources_formats,
    resources_output,
    textfile,
    views,
)
from services.audit.assembly import KEEP_DECIDED
from services.audit.events import LATER_TOPICS, Logged, ReplayStats
from services.audit.parallel import DEFAULT_WORKERS, VerifyRun, verify_replayed
from services.audit.reader import (
    Opener,
    ProgressSink,
    Replay,
    ReplayError,
    ReplaySource,
    opening_with,
)
from services.audit.report import REPORT_TOPICS, CohortBuilder, CohortReport
from services.audit.request_states import request_states
from services.audit.resources import OPTIONAL_TOPICS, ResourcesBuilder, ResourcesReport
from services.audit.resources_text import LANGUAGES
from services.audit.timeline import (
    CASE_TOPICS,
    CaseCollector,
    ChainStep,
    build_timeline,
    decision_chain,
    timeline_json,
)
from services.audit.verify import DEFAULT_GRACE, VERIFY_TOPICS
from services.audit.whatif import WHATIF_TOPICS, WhatIf, whatif_json
from services.keys import KeyStore, key_store
from services.keys.kafka_log import KeyLogUnavailable
from services.reference import Reference, ReferenceDataError, load_reference
from services.runtime.access_log import (
    AccessNotRecorded,
    KafkaAccessLog,
    access_event,
    command_principal,
)
from services.runtime.settings import ConfigurationError
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
CASE_ID = re.compile(r"^A[0-9]{8,9}$")
GROUP_TOPICS = frozenset(name for name, spec in TOPICS.items() if spec.key == "group_id")
"""Topics whose events are keyed, and correlated, by group id."""


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


class _StackKeys:
    """The stack's data keys, read once and only when a sealed record needs one."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.bootstrap, self.prefix = bootstrap, prefix
        self._store: KeyStore | None = None

    def lookup(self, case_id: str) -> tuple[str, bytes] | None:
        try:
            if self._store is None:
                self._store = key_store(self.bootstrap, self.prefix)
                self._store.refresh()  # the keys as they are now: erased ones stay shut
            return self._store.lookup(case_id)
        except (KeyLogUnavailable, ConfigurationError, KafkaError) as exc:
            raise ReplayError(f"cannot read the data keys on person-keys: {exc}") from None


def _opener(bootstrap: str, prefix: str) -> Opener:
    """Open sealed personal data with the stack's keys (an erased record stays sealed)."""
    return opening_with(_StackKeys(bootstrap, prefix))


def _replay(
    bootstrap: str,
    prefix: str,
    topics: tuple[str, ...],
    feed: Callable[[Logged], None],
    from_timestamp: str | None = None,
    optional: frozenset[str] = frozenset(),
) -> Replay:
    """Replay `topics` into `feed` with a progress bar; exit 2 when the replay fails.

    Topics in `optional` the cluster lacks are left out (`Replay.missing`)."""
    source = ReplaySource(bootstrap, prefix)
    start = _moment(from_timestamp, "--from-timestamp")
    with _progress_bar(len(topics)) as advance:
        opener = _opener(bootstrap, prefix) if "person-returned" in topics else None
        replay = Replay(
            source,
            topics,
            from_timestamp=start,
            progress=advance,
            optional=optional,
            opener=opener,
        )
        try:
            for event in replay:
                feed(event)
        except (ReplayError, KafkaError) as exc:
            err.print(f"[red]replay failed: {exc}[/red]")
            raise typer.Exit(2) from None
    _skipped(replay.stats)
    return replay


@contextmanager
def _progress_bar(topics: int) -> Iterator[ProgressSink]:
    """A progress bar on stderr while the replay of `topics` topics runs."""
    columns = (
        TextColumn("replaying {task.fields[what]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("events"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err) as progress:
        task = progress.add_task("replay", total=None, what=f"{topics} topics")

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield advance


def _skipped(stats: ReplayStats) -> None:
    for where, problem in stats.undecodable[:20]:
        err.print(f"[yellow]skipped undecodable {where}: {problem}[/yellow]")


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
    _replay(bootstrap, prefix, CASE_TOPICS, collector.feed, from_timestamp, LATER_TOPICS)
    if collector.chain_cut():  # the group was decided before the case came: read it whole
        collector = collector.again()
        _replay(bootstrap, prefix, CASE_TOPICS, collector.feed, from_timestamp, LATER_TOPICS)
    entries = build_timeline(collector.events, show_personal_data)
    if not entries:
        err.print(f"no event mentions {wanted}")
        raise typer.Exit(1)
    _record_read(bootstrap, prefix, wanted, entries, show_personal_data)
    if as_json:
        document = timeline_json(entries, show_personal_data)
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        views.show_timeline(out, wanted, entries)
        _show_chain(decision_chain(entries))
        views.show_requests(out, request_states(entries))


def _record_read(
    bootstrap: str, prefix: str, wanted: str, entries: list[Any], personal: bool
) -> None:
    """Record this read on `access-logged` before showing it; no record, no answer."""
    shown = {e.event.envelope.correlation_id for e in entries if e.event.topic in GROUP_TOPICS}
    envelope = access_event(
        principal=command_principal(),
        reader="audit",
        view="returns audit case",
        subject="case" if _names_a_case(wanted, entries) else "group",
        subject_id=wanted[:64],
        group_ids=shown,
        personal_data_shown=personal,
    )
    try:
        KafkaAccessLog(bootstrap, prefix).record(envelope)
    except AccessNotRecorded as exc:
        err.print(f"[red]not shown: this read could not be recorded on access-logged ({exc})[/red]")
        raise typer.Exit(2) from None


def _names_a_case(wanted: str, entries: list[Any]) -> bool:
    """A case id (a person alone may have it as group id too: then it is the case)."""
    return CASE_ID.match(wanted) is not None and any(
        e.event.topic == "person-returned" and e.event.data.case_id == wanted for e in entries
    )


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
    metrics_file: Annotated[
        Path | None,
        typer.Option(help="also write the counts in Prometheus' text format to this file"),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1, help="processes: 2 runs screening and placement side by side (same report)"
        ),
    ] = DEFAULT_WORKERS,
) -> None:
    """Re-run screening and placement over the whole history; exit 1 on any mismatch."""
    given_end = _moment(as_of, "--as-of")
    run = VerifyRun(
        ReplaySource(bootstrap, prefix),
        _reference(reference_dir),
        timedelta(minutes=grace_minutes),
        keep_decided=keep_decided,
        opener=_opener(bootstrap, prefix),
    )
    try:
        verified = verify_replayed(
            run,
            lambda: given_end or datetime.now(UTC),
            workers=workers,
            progress_bar=lambda: _progress_bar(len(VERIFY_TOPICS)),
        )
    except (ReplayError, KafkaError) as exc:
        err.print(f"[red]replay failed: {exc}[/red]")
        raise typer.Exit(2) from None
    _skipped(verified.stats)
    report = verified.report
    if as_json:
        typer.echo(json.dumps(asdict(report), indent=2, default=str))
    else:
        views.show_verify(out, report)
    if metrics_file is not None:
        textfile.write_metrics_file(metrics_file, report)
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command()
def report(
    start: Annotated[str, typer.Option("--from", help="first local date (YYYY-MM-DD)")],
    end: Annotated[str, typer.Option("--to", help="last local date, inclusive")],
    output_format: Annotated[str, typer.Option("--format", help="md | csv | json | all")] = "md",
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="write files (and charts) here")
    ] = None,
    resources_view: Annotated[
        bool,
        typer.Option("--resources", help="only the resources: beds, waits, legal aid, vaccination"),
    ] = False,
    lang: Annotated[
        str | None,
        typer.Option("--lang", help="es | en for the resources (default es with --resources)"),
    ] = None,
    clock_scale: Annotated[
        float,
        typer.Option(help="read a run compressed this many times (simulate --clock-scale)"),
    ] = 1.0,
    bootstrap: Bootstrap = DEFAULT_BOOTSTRAP,
    prefix: Prefix = "",
    from_timestamp: FromTimestamp = None,
    reference_dir: ReferenceDir = None,
) -> None:
    """The cohort report per crossing and location (groups returned from --from to --to),
    then its resources section per location and month; `--resources` gives that alone."""
    first, last = _date(start, "--from"), _date(end, "--to")
    if output_format not in ("md", "csv", "json", "all"):
        raise typer.BadParameter("--format must be md, csv, json or all")
    if output_format == "all" and out_dir is None:
        raise typer.BadParameter("--format all needs --out")
    language = lang or ("es" if resources_view else "en")
    if language not in LANGUAGES:
        raise typer.BadParameter(f"--lang must be one of {', '.join(LANGUAGES)}")
    if clock_scale <= 0:
        raise typer.BadParameter("--clock-scale must be positive")
    reference = _reference(reference_dir)
    resources = ResourcesBuilder(reference, first, last, clock_scale=clock_scale)
    known, unknown = resources_output.readable_topics()
    cohort_builder = None if resources_view else CohortBuilder(reference, first, last)
    topics = known if cohort_builder is None else (*REPORT_TOPICS, *known)

    def feed(event: Logged) -> None:
        resources.feed(event)
        if cohort_builder is not None:
            cohort_builder.feed(event)

    unique = tuple(dict.fromkeys(topics))
    replay = _replay(bootstrap, prefix, unique, feed, from_timestamp, OPTIONAL_TOPICS)
    found = resources.result([*replay.missing, *unknown], replay.stats.duplicates)
    formats = ("md", "csv", "json") if output_format == "all" else (output_format,)
    if cohort_builder is None:
        if out_dir is None:
            typer.echo(resources_output.render(found, output_format, language), nl=False)
        else:
            _wrote(resources_output.write_files(found, out_dir, formats, language))
        return
    cohort = cohort_builder.result()
    if out_dir is None:
        typer.echo(_with_resources(cohort, found, output_format, language))
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in formats:
        path = out_dir / f"report.{name}"
        path.write_text(_with_resources(cohort, found, name, language), encoding="utf-8")
        err.print(f"wrote {path}")
    _wrote(charts.write_charts(cohort, out_dir))
    _wrote(resources_output.write_files(found, out_dir, formats, language))
    if not charts.charts_available():
        err.print("no PNG charts: matplotlib is not installed")


def _with_resources(
    cohort: CohortReport, found: ResourcesReport, output_format: str, lang: str
) -> str:
    """The cohort report with its resources section (CSV: the cohort's table alone)."""
    if output_format == "md":
        section = resources_formats.to_markdown(found, lang, level=2)
        return f"{report_formats.to_markdown(cohort)}\n{section}"
    if output_format == "json":
        document = json.loads(report_formats.to_json(cohort))
        document["resources"] = json.loads(resources_data.to_json(found, lang))
        return json.dumps(document, indent=2, ensure_ascii=False)
    return report_formats.to_csv(cohort)


def _wrote(paths: list[Path]) -> None:
    for path in paths:
        err.print(f"wrote {path}")


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
