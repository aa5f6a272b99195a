"""Rich tables for the audit commands' results (the command line's presentation only)."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.table import Table

from services.audit.request_states import RequestStates
from services.audit.timeline import TimelineEntry
from services.audit.verify import VerifyReport
from services.audit.whatif import WhatIfResult


def show_timeline(console: Console, wanted: str, entries: list[TimelineEntry]) -> None:
    """The timeline as a table, one row per event."""
    columns = ("#", "occurred at (UTC)", "topic", "event id", "caused by", "what")
    table = _table(*columns, title=f"Timeline of {wanted}")
    for entry in entries:
        event = entry.event
        table.add_row(
            str(entry.number),
            event.occurred_at.isoformat(timespec="milliseconds"),
            f"{event.topic}\n[{event.partition}]@{event.offset}",
            event.event_id[:8],
            ", ".join(f"#{n}" for n in entry.caused_by) or (event.envelope.causation_id or "")[:15],
            entry.summary,
        )
    console.print(table)


def show_requests(console: Console, requests: list[RequestStates]) -> None:
    """Each legal-aid request of the timeline and its states, with the entries recording them."""
    if not requests:
        return
    columns = ("#", "group", "purpose", "provider", "states", "replaces", "replaced by", "now")
    table = _table(*columns, title="Legal-aid requests")
    for request in requests:
        states = "\n".join(
            f"{s.name} {s.at.isoformat(timespec='seconds')} (#{s.entry})" for s in request.states
        )
        table.add_row(
            str(request.entry),
            request.group_id,
            request.purpose,
            request.provider_id,
            states,
            f"#{request.replaces}" if request.replaces else "",
            f"#{request.replaced_by}" if request.replaced_by else "",
            request.current,
        )
    console.print(table)


def show_verify(console: Console, report: VerifyReport) -> None:
    """Counts, mismatches per category, then every mismatch."""
    counts = _table("checked", "count", title="Verified")
    for topic, count in report.events.items():
        counts.add_row(f"{topic} events", str(count))
    counts.add_row("duplicates recognised (same event_id)", str(report.duplicates))
    counts.add_row("screening decisions re-run", str(report.decisions_rechecked))
    counts.add_row("placements re-checked", str(report.placements_checked))
    counts.add_row("late members accepted (left to ops)", str(report.late_members_accepted))
    counts.add_row("legal-aid reassignments checked", str(report.reassignments_checked))
    counts.add_row(
        "decisions with erased personal data (flags kept, not re-run)", str(len(report.erased))
    )
    counts.add_row("pending (within the grace period)", str(len(report.pending)))
    counts.add_row("mismatches", str(len(report.mismatches)))
    console.print(counts)
    for erased in report.erased[:20]:
        console.print(f"erased: {erased}")
    if report.pending:
        pending = Counter(item.category for item in report.pending)
        console.print(_counter_table("Pending, by category", pending))
    if not report.mismatches:
        console.print("[green]Every decision is borne out by the recorded history.[/green]")
        return
    console.print(_counter_table("Mismatches, by category", report.by_category()))
    table = _table("category", "group", "record", "detail", title="Mismatches")
    for mismatch in report.mismatches:
        table.add_row(
            mismatch.category, mismatch.group_id or "", mismatch.where or "", mismatch.detail
        )
    console.print(table)


def show_whatif(console: Console, result: WhatIfResult) -> None:
    """Per location: decisions re-run and changed; then the changes; then each group."""
    changed = Counter(item.location for item in result.changed)
    summary = _table(
        "location", "groups re-run", "decisions changed", title=f"What if: {result.rule_set}"
    )
    for location in sorted(result.decided):
        summary.add_row(location, str(result.decided[location]), str(changed[location]))
    console.print(summary)
    if result.transitions:
        transitions = _table("location", "recorded", "would be", "groups", title="Changes")
        for (location, before, after), count in sorted(result.transitions.items()):
            transitions.add_row(location, before, after, str(count))
        console.print(transitions)
    cases = _table("group", "location", "members", "recorded", "would be", "why", title="Groups")
    for item in result.changed:
        cases.add_row(
            item.group_id,
            item.location,
            " ".join(item.members),
            item.recorded,
            item.alternative,
            " ".join(item.why),
        )
    console.print(cases)
    console.print(
        f"{len(result.changed)} decision(s) change; {result.reasons_only} keep their decision "
        f"with other flags or reasons; {result.not_rerun} could not be re-run (members missing)."
    )


def _counter_table(title: str, counts: Counter[str]) -> Table:
    table = _table("category", "count", title=title)
    for category, count in sorted(counts.items()):
        table.add_row(category, str(count))
    return table


def _table(*columns: str, title: str) -> Table:
    """A table whose cells wrap rather than cut: ids and codes must stay readable."""
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table
