"""The screening desk: members in, one live decision per group out, state in tables.

The tables are changelog-backed faust tables in the service, plain dicts in tests:
- ``groups``: group id -> `GroupFile` (its records and its live decision);
- ``open``: group id -> "<partition> <due time>" for groups not yet decided; an index
  derived from it (`Deadlines`) finds the due ones without reading the others;
- ``watermarks``: "p<partition>" -> the latest arrival read on the partition.

Only the agent that owns a partition calls the desk for that partition.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime, timedelta
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Link

from schemas.decisions import GatherWindow
from schemas.envelope import Envelope, digest_of, event_id_for, make_envelope
from schemas.person import PersonReturned
from services.keys import Erased, open_raw
from services.runtime import instrument, telemetry
from services.screening.deadlines import Deadlines, open_line
from services.screening.grouping import (
    DecisionTaken,
    GroupFile,
    MemberRecord,
    member_record,
    new_group,
    window_of,
)
from services.screening.rules import decide_group
from services.screening.ruleset import RuleSet

PRODUCER = "screening/0.2.0"
Emit = Callable[[Envelope[Any]], Awaitable[Any]]
Table = MutableMapping[str, bytes]
OpenMember = Callable[[bytes], Envelope[PersonReturned] | Erased]
"""A member's record as stored (sealed, as read from the log), opened with its case's key."""


def open_unsealed(raw: bytes) -> Envelope[PersonReturned] | Erased:
    """Records without a key store: only fields never sealed open (tests, old logs)."""
    return open_raw(raw, None)


class ScreeningDesk:
    def __init__(
        self,
        rules: RuleSet,
        window: timedelta,
        tables: dict[str, Table],
        emit: Emit,
        grace: timedelta = timedelta(seconds=30),
        open_member: OpenMember = open_unsealed,
    ) -> None:
        self.rules = rules
        self.open_member = open_member
        self.window = window
        self.grace = grace
        self.groups = tables["groups"]
        self.open = tables["open"]
        self.watermarks = tables["watermarks"]
        self.deadlines = Deadlines(self.open)
        self.emit = emit
        self.tracer = telemetry.tracer("returns.screening")

    async def take_member(
        self,
        envelope: Envelope[PersonReturned],
        raw: bytes,
        partition: int,
        traceparent: str | None,
    ) -> None:
        """Add a member's record to its group; decide or re-decide the group when due."""
        member = envelope.data
        record = member_record(envelope, raw, traceparent)
        stored = self.groups.get(member.group_id)
        group = GroupFile.model_validate_json(stored) if stored is not None else None
        if group is not None and group.knows(envelope.event_id):
            pass  # a copy of a record already taken
        elif group is None:
            await self._store(new_group(record, partition, member.crossing, member.group_id))
        else:
            await self._take_into(group.with_record(record), record)
        await self.close_due(partition, self._advance_watermark(partition, record.arrived_at))

    async def close_due(self, partition: int, arrival_clock: datetime) -> None:
        """Decide every open group of ``partition`` whose window ran out by ``arrival_clock``,
        earliest due first."""
        for group_id in self.deadlines.due(partition, arrival_clock - self.grace):
            group = GroupFile.model_validate_json(self.groups[group_id])
            await self._first_decision(group, window_of(group, self.window, arrival_clock, False))

    async def _store(self, group: GroupFile) -> None:
        if group.is_complete():
            closed = max(record.arrived_at for record in group.records)
            await self._first_decision(group, window_of(group, self.window, closed, True))
            return
        self.groups[group.group_id] = group.model_dump_json().encode()
        due_at = group.due_at(self.window)
        self.open[group.group_id] = open_line(group.partition, due_at)
        self.deadlines.opened(group.group_id, group.partition, due_at)

    async def _take_into(self, group: GroupFile, record: MemberRecord) -> None:
        if group.decided is None:
            await self._store(group)
        elif not group.changed_since_decision():
            # A record that changes nothing (a second record of a member already counted).
            self.groups[group.group_id] = group.model_dump_json().encode()
        else:
            await self._redecide(group)

    async def _first_decision(self, group: GroupFile, window: GatherWindow) -> None:
        decided = await self._decide(group, window, previous=None)
        self.groups[group.group_id] = (
            group.model_copy(update={"decided": decided}).model_dump_json().encode()
        )
        self.open.pop(group.group_id, None)
        self.deadlines.closed(group.group_id)

    async def _redecide(self, group: GroupFile) -> None:
        assert group.decided is not None
        decided = await self._decide(group, group.decided.window, previous=group.decided)
        kept = decided or group.decided  # nobody readable left: the last decision stands
        self.groups[group.group_id] = (
            group.model_copy(update={"decided": kept}).model_dump_json().encode()
        )

    async def _decide(
        self, group: GroupFile, window: GatherWindow, previous: DecisionTaken | None
    ) -> DecisionTaken | None:
        # A member whose personal data was erased before the decision cannot be screened:
        # the group is decided on the others (docs/adr/0021-erasable-personal-data.md).
        opened = [(record, self.open_member(record.raw.encode())) for record in group.current()]
        readable = [(r, e) for r, e in opened if not isinstance(e, Erased)]
        if not readable:
            return None
        members = [record for record, _ in readable]
        envelopes = [envelope for _, envelope in readable if not isinstance(envelope, Erased)]
        revision = previous.revision + 1 if previous else 1
        decision = decide_group([m.data for m in envelopes], self.rules).model_copy(
            update={
                "supersedes": previous.event_id if previous else None,
                "revision": revision,
                "window": window,
            }
        )
        member_events = tuple(record.event_id for record in members)
        causes = digest_of(list(member_events))
        envelope = make_envelope(
            decision,
            event_id=event_id_for("screened", causes),
            producer=PRODUCER,
            correlation_id=decision.group_id,
            causation_id=causes,
            crossing=group.crossing,
        )
        parent, links = _trace_of(members)
        with self.tracer.start_as_current_span("screening.decide", context=parent, links=links):
            instrument.decided("screening", decision.decision, envelope.crossing)
            span = trace.get_current_span()
            span.set_attribute("returns.members", len(decision.members))
            span.set_attribute("returns.revision", revision)
            await self.emit(envelope)
        return DecisionTaken(
            event_id=envelope.event_id,
            decision=decision.decision,
            revision=revision,
            window=window,
            member_events=member_events,
        )

    def _advance_watermark(self, partition: int, arrived_at: datetime) -> datetime:
        key = f"p{partition}"
        seen = self.watermarks.get(key)
        mark = max(datetime.fromisoformat(seen.decode()), arrived_at) if seen else arrived_at
        self.watermarks[key] = mark.isoformat().encode()
        return mark


def _trace_of(members: list[MemberRecord]) -> tuple[Any, list[Link]]:
    """Continue the first member's trace; link the other members' traces."""
    traced = sorted((r for r in members if r.trace), key=lambda r: (r.arrived_at, r.event_id))
    if not traced:
        return None, []
    contexts = [telemetry.extract([("traceparent", r.trace.encode())]) for r in traced if r.trace]
    links = [Link(trace.get_current_span(context).get_span_context()) for context in contexts[1:]]
    return contexts[0], links
