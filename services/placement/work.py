"""One command being applied by the writer, and the steps that commands share.

`Work` holds scratch copies of what the command may change (locations; a queue is
copied only once the command changes it) and what the command will write and emit. The
steps here place a group as any arrival is placed, retry queues, record groups and
announce deferrals; `handlers` and `redecisions` compose them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal

from schemas.decisions import DeferralReason
from schemas.envelope import Envelope
from services.placement.commands import Command, PlaceGroup
from services.placement.events import deferred_event, placed_event
from services.placement.fold import Received, evolve
from services.placement.metrics import Rejection
from services.placement.policy import Placement, drain_in_order, place_group
from services.placement.queues import LocationQueue, sequence_of
from services.placement.records import GroupRecord, GroupStatus, Wait
from services.placement.state import GroupRequest, LocationState, local_date

GroupLookup = Callable[[str], GroupRecord | None]
"""A group's valid record in the unit being written, or None."""

Topic = Literal["placed", "placement-deferred", "placement-withdrawn"]


@dataclass(frozen=True)
class Emission:
    """An event to send: its contract topic and envelope."""

    topic: Topic
    envelope: Envelope[Any]


@dataclass
class Work:
    """A command being applied: scratch copies of the unit, and what it will write and emit."""

    command: Command
    offset: int
    producer: str
    lookup: GroupLookup
    locations: dict[str, LocationState]
    queues: dict[str, LocationQueue]
    next_sequence: int
    records: dict[str, GroupRecord] = field(default_factory=dict)  # latest version per group
    emissions: list[Emission] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    duplicate: bool = False
    copied: set[str] = field(default_factory=set)  # queues this command changed
    touched: set[str] = field(default_factory=set)  # waiting groups to announce if needed

    def state_of(self, code: str | None) -> LocationState | None:
        return None if code is None else self.locations[code]

    def store(self, state: LocationState | None) -> None:
        if state is not None:
            self.locations[state.code] = state

    def queue(self, code: str) -> Sequence[GroupRecord]:
        found = self.queues.get(code)
        return () if found is None else found.groups

    def writable(self, code: str) -> LocationQueue:
        """The queue of `code`, copied the first time this command changes it."""
        if code not in self.copied:
            found = self.queues.get(code)
            self.queues[code] = LocationQueue() if found is None else found.copy()
            self.copied.add(code)
        return self.queues[code]

    def record_of(self, group_id: str) -> GroupRecord | None:
        """The group's record as this command has left it so far."""
        found = self.records.get(group_id)
        return found if found is not None else self.lookup(group_id)

    def put(self, record: GroupRecord) -> None:
        """Keep `record` as the group's new version (its queue entry too, while it waits),
        stamped with the time of this change (`changed_at`)."""
        record = record.stamped(self.changed_at(record.group_id))
        self.records[record.group_id] = record
        if record.wait is not None:
            queue = self.writable(record.home)
            n = queue.position(record.group_id, record.wait.sequence)
            if n is None:
                queue.groups.append(record)  # a new arrival: the highest sequence so far
            else:
                queue.groups.put(n, record)
            self.touched.add(record.group_id)

    def changed_at(self, group_id: str) -> datetime:
        """The command's time, or its decision's when this is the group's own and later
        (so that a record is never forgotten before the decisions it knows are too old
        to be placed: see `retention`)."""
        command = self.command
        ours = isinstance(command, PlaceGroup) and command.group_id == group_id
        if ours and isinstance(command, PlaceGroup) and command.decided_at is not None:
            return max(command.issued_at, command.decided_at)
        return command.issued_at

    def leave(self, record: GroupRecord) -> GroupRecord | None:
        """Take the waiting group out of its queue; its entry, if it was there."""
        if record.wait is None:
            return None
        queue = self.writable(record.home)
        n = queue.position(record.group_id, record.wait.sequence)
        if n is None:
            return None
        return queue.groups.pop(n)


def place_arrival(work: Work, request: GroupRequest, location: str) -> None:
    """Place `request` at its home `location` as any arrival: join a queue, place, or wait."""
    work.store(work.locations[location].clock_of(request.returned_at))
    if work.queue(location):
        # No queue jumping: it joins the queue, which is then tried in arrival order.
        enqueue(work, request, location, "NO_SHELTER_CAPACITY")
        drain(work, [location])
        return
    home = work.locations[location]
    day = local_date(request.returned_at)
    outcome = place_group(request, home, work.state_of(home.alternate), day)
    if isinstance(outcome, Placement):
        there = work.locations[outcome.location]
        work.store(evolve(there, Received(outcome.shelter_id, outcome.beds, day)))
        record_placement(work, request, outcome, None, day)
    else:
        enqueue(work, request, location, outcome.reason)
    today = local_date(work.command.issued_at, offset_of=request.returned_at)
    work.store(work.locations[location].drained(today))


def drain(work: Work, codes: list[str]) -> None:
    """Retry the queues of `codes`, the longest-waiting head first (they may share an alternate)."""
    heads = [(work.queue(code)[0].waits.deferred_since, code) for code in codes if work.queue(code)]
    for _, code in sorted(heads):
        _drain_one(work, code)


def _drain_one(work: Work, code: str) -> None:
    current = work.queues[code]
    queue = current.groups
    today = local_date(work.command.issued_at, offset_of=queue[0].waits.returned_at)
    home = work.locations[code]
    drained = drain_in_order(
        queue, home, work.state_of(home.alternate), today, current.settled, sequence_of
    )
    work.store(drained.home)
    work.store(drained.alternate)
    changed = set(drained.reasons) | set(drained.bypassed)
    if changed or drained.placed or drained.settled != current.settled:
        target = work.writable(code)
        for n in sorted(changed):
            entry = queue[n]
            wait = replace(
                entry.waits,
                reason=drained.reasons.get(n, entry.waits.reason),
                bypassed=drained.bypassed.get(n, entry.waits.bypassed),
            )
            work.put(entry.waiting_with(wait, work.offset))
        placed = [(target.groups[n], placement) for n, placement in drained.placed]
        for n in sorted((n for n, _ in drained.placed), reverse=True):
            target.groups.pop(n)
        target.settled = drained.settled
        for entry, placement in placed:
            record_placement(work, entry.request(), placement, entry, today)
    work.store(work.locations[code].drained(today))


def enqueue(work: Work, request: GroupRequest, location: str, reason: DeferralReason) -> None:
    wait = Wait(
        sequence=work.next_sequence,
        crossing=request.crossing,
        returned_at=request.returned_at,
        deferred_since=work.command.issued_at,
        reason=reason,
    )
    work.next_sequence += 1
    work.put(record(work, request, location, "waiting", wait=wait))


def record_placement(
    work: Work,
    request: GroupRequest,
    placement: Placement,
    waited: GroupRecord | None,
    day: date,
) -> None:
    since = waited.waits.deferred_since if waited else None
    envelope = placed_event(request, placement, since, work.producer, work.command.issued_at)
    work.emissions.append(Emission("placed", envelope))
    work.store(work.locations[placement.location].clock_of(request.returned_at))
    home = waited.home if waited else placement.rerouted_from or placement.location
    placed = record(
        work,
        request,
        home,
        "placed",
        before=waited,
        where=(placement.location, placement.shelter_id),
        placed_event_id=envelope.event_id,
        counted_on=day,
    )
    work.put(placed)


def record(
    work: Work,
    request: GroupRequest,
    home: str,
    status: GroupStatus,
    *,
    before: GroupRecord | None = None,
    wait: Wait | None = None,
    where: tuple[str, str] | None = None,
    placed_event_id: str | None = None,
    counted_on: date | None = None,
) -> GroupRecord:
    """The group's new record; it keeps every decision of the group already applied."""
    known = work.records.get(request.group_id) or before or work.lookup(request.group_id)
    command = work.command
    ours = isinstance(command, PlaceGroup) and command.group_id == request.group_id
    superseded = command.supersedes if ours and isinstance(command, PlaceGroup) else None
    return GroupRecord(
        group_id=request.group_id,
        unit=work.command.unit,
        status=status,
        home=home,
        beds=request.beds,
        members=request.members,
        screened_event_id=request.screened_event_id,
        decisions=decisions_after(known, superseded, request.screened_event_id),
        written_offset=work.offset,
        location=None if where is None else where[0],
        shelter_id=None if where is None else where[1],
        placed_event_id=placed_event_id,
        counted_on=counted_on,
        wait=wait,
        changed_at=None if known is None else known.changed_at,
    )


def decisions_after(before: GroupRecord | None, *new: str | None) -> tuple[str, ...]:
    """The decisions a group's record knows of once `new` ones are applied, each once."""
    known = (*before.decisions, before.screened_event_id) if before is not None else ()
    return tuple(dict.fromkeys(x for x in (*known, *new) if x is not None))


def report_deferrals(work: Work) -> None:
    """Announce each waiting group's reason once: on arrival, and whenever it changes.

    Only groups this command changed can have a reason not announced yet.
    """
    due = [work.records[group_id] for group_id in work.touched]
    waiting = [r for r in due if r.status == "waiting" and r.wait and not r.wait.announced]
    for entry in sorted(waiting, key=lambda r: (r.home, r.waits.sequence)):
        position = work.writable(entry.home).position(entry.group_id, entry.waits.sequence)
        assert position is not None  # a waiting record of this command is in its queue
        event = deferred_event(entry, position + 1, work.producer, work.command.issued_at)
        work.emissions.append(Emission("placement-deferred", event))
        wait = replace(entry.waits, reported=(*entry.waits.reported, entry.waits.reason))
        work.put(entry.waiting_with(wait, work.offset))


def waiting_counts(queues: Mapping[str, LocationQueue], codes: set[str]) -> dict[str, int]:
    return {code: len(queues[code]) for code in codes}
