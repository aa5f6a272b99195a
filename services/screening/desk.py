"""The screening desk: members in, one live decision per group out, state in tables.

The tables are changelog-backed faust tables in the service, plain dicts in tests:
- ``groups``: group id -> `GroupFile` (its records and its live decision);
- ``open``: group id -> "<partition> <due time>" for groups not yet decided; an index
  derived from it (`Deadlines`) finds the due ones without reading the others;
- ``watermarks``: "p<partition>" -> the latest arrival read on the partition;
- ``closed``: group id -> the live decision of a group whose file expired, and
  ``retained``: group id -> "<partition> <expiry time>" of each decided or closed group,
  indexed like ``open`` (services/screening/retention.py says how long each is kept).
  Both indexes are on disk under ``indexes_at``, if given (the worker's datadir).

Only the agent that owns a partition calls the desk for that partition.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Link

from schemas.decisions import GatherWindow
from schemas.envelope import Envelope
from schemas.person import PersonReturned
from services.keys import Erased, open_raw
from services.runtime import instrument, telemetry
from services.runtime.due_on_disk import due_index, index_path
from services.runtime.identity import ServiceIdentity
from services.screening.deadlines import open_line
from services.screening.grouping import (
    DecisionTaken,
    GroupFile,
    MemberRecord,
    chained_decision,
    member_record,
    new_group,
    window_of,
)
from services.screening.retention import Retention, closed_line
from services.screening.ruleset import RuleSet

log = logging.getLogger(__name__)

PRODUCER = ServiceIdentity("screening", version="0.2.0").producer
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
        retention: Retention | None = None,
        indexes_at: Path | None = None,
    ) -> None:
        self.rules = rules
        self.open_member = open_member
        self.window = window
        self.grace = grace
        self.groups = tables["groups"]
        self.open = tables["open"]
        self.watermarks = tables["watermarks"]
        self.deadlines = due_index(self.open, index_path(indexes_at, "open"))
        # A desk given no retention tables (tests, benchmarks) keeps them in dicts.
        self.closed = tables.setdefault("closed", {})
        self.retained = tables.setdefault("retained", {})
        self.expiring = due_index(self.retained, index_path(indexes_at, "retained"))
        self.retention = retention or Retention()
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
        elif group is None and self._beyond_retention(envelope):
            pass  # its group's decision stands (or it is older than screening's memory)
        elif group is None:
            await self._store(new_group(record, partition, member.crossing, member.group_id))
        else:
            await self._take_into(group.with_record(record), group.due_at(self.window))
        arrival_clock = self._advance_watermark(partition, record.arrived_at)
        await self.close_due(partition, arrival_clock)
        self.expire_due(partition, arrival_clock)

    async def close_due(self, partition: int, arrival_clock: datetime) -> None:
        """Decide every open group of ``partition`` whose window ran out by ``arrival_clock``,
        earliest due first."""
        for group_id in self.deadlines.due(partition, arrival_clock - self.grace):
            group = GroupFile.model_validate_json(self.groups[group_id])
            await self._first_decision(group, window_of(group, self.window, arrival_clock, False))

    def expire_due(self, partition: int, arrival_clock: datetime) -> None:
        """Close each decided group of ``partition`` kept past its period (its file gives
        way to a closed line), and forget each closed group past its own."""
        for group_id in self.expiring.due(partition, arrival_clock):
            stored = self.groups.pop(group_id, None)
            if stored is None:
                self.closed.pop(group_id, None)
                self.retained.pop(group_id, None)
                self.expiring.closed(group_id)
                continue
            group = GroupFile.model_validate_json(stored)
            closed_at = self.retention.file_expires_at(group)
            self.closed[group_id] = closed_line(group, closed_at)
            self._retain_until(group, self.retention.closed_expires_at(closed_at))

    def _beyond_retention(self, envelope: Envelope[PersonReturned]) -> bool:
        member = envelope.data
        if member.group_id in self.closed:
            reason = "its group was decided and closed"
        elif self.retention.too_old_to_open(member.returned_at, envelope.occurred_at):
            reason = "it is older than screening's retention"
        else:
            return False
        log.info("a person-returned record is not taken: %s (%s)", reason, envelope.event_id)
        return True

    def _keep_decided(self, group: GroupFile) -> None:
        self.groups[group.group_id] = group.model_dump_json().encode()
        self._retain_until(group, self.retention.file_expires_at(group))

    def _retain_until(self, group: GroupFile, until: datetime) -> None:
        self.retained[group.group_id] = open_line(group.partition, until)
        self.expiring.opened(group.group_id, group.partition, until)

    async def _store(self, group: GroupFile, due_before: datetime | None = None) -> None:
        """Keep an undecided group, or decide it if it is complete. `due_before` is when
        the group was due before this record: its open line is written only if that moved
        (a member who arrived earlier than the first one read), not for every member."""
        if group.is_complete():
            closed = max(record.arrived_at for record in group.records)
            await self._first_decision(group, window_of(group, self.window, closed, True))
            return
        self.groups[group.group_id] = group.model_dump_json().encode()
        due_at = group.due_at(self.window)
        if due_at != due_before:
            self.open[group.group_id] = open_line(group.partition, due_at)
            self.deadlines.opened(group.group_id, group.partition, due_at)

    async def _take_into(self, group: GroupFile, due_before: datetime) -> None:
        if group.decided is None:
            await self._store(group, due_before)
        elif not group.changed_since_decision():
            # A record that changes nothing (a second record of a member already counted).
            self._keep_decided(group)
        else:
            await self._redecide(group)

    async def _first_decision(self, group: GroupFile, window: GatherWindow) -> None:
        decided = await self._decide(group, window, previous=None)
        self._keep_decided(group.model_copy(update={"decided": decided}))
        self.open.pop(group.group_id, None)
        self.deadlines.closed(group.group_id)

    async def _redecide(self, group: GroupFile) -> None:
        assert group.decided is not None
        decided = await self._decide(group, group.decided.window, previous=group.decided)
        kept = decided or group.decided  # nobody readable left: the last decision stands
        self._keep_decided(group.model_copy(update={"decided": kept}))

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
        envelope, taken = chained_decision(
            envelopes, self.rules, window, previous, producer=PRODUCER, crossing=group.crossing
        )
        parent, links = _trace_of(members)
        with self.tracer.start_as_current_span("screening.decide", context=parent, links=links):
            instrument.decided("screening", taken.decision, envelope.crossing)
            span = trace.get_current_span()
            span.set_attribute("returns.members", len(envelope.data.members))
            span.set_attribute("returns.revision", taken.revision)
            await self.emit(envelope)
        return taken

    def _advance_watermark(self, partition: int, arrived_at: datetime) -> datetime:
        key = f"p{partition}"
        seen = self.watermarks.get(key)
        if seen is not None and (mark := datetime.fromisoformat(seen.decode())) >= arrived_at:
            return mark  # a record that arrived before the latest one read: nothing moves
        self.watermarks[key] = arrived_at.isoformat().encode()
        return arrived_at


def _trace_of(members: list[MemberRecord]) -> tuple[Any, list[Link]]:
    """Continue the first member's trace; link the other members' traces."""
    traced = sorted((r for r in members if r.trace), key=lambda r: (r.arrived_at, r.event_id))
    if not traced:
        return None, []
    contexts = [telemetry.extract([("traceparent", r.trace.encode())]) for r in traced if r.trace]
    links = [Link(trace.get_current_span(context).get_span_context()) for context in contexts[1:]]
    return contexts[0], links
