"""One command being applied by the writer, and the steps that commands share.

`Work` holds scratch copies of the unit (locations, queues) and what the command will
write and emit. The steps here place a group as any arrival is placed, retry queues,
record groups and announce deferrals; `handlers` and `redecisions` compose them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from schemas.decisions import DeferralReason
from schemas.envelope import Envelope
from services.placement.commands import Command, PlaceGroup
from services.placement.events import deferred_event, placed_event
from services.placement.metrics import Rejection
from services.placement.policy import Placement, drain_queue, place_group
from services.placement.records import (
    GroupRecord,
    GroupStatus,
    LocationSnapshot,
    WaitingEntry,
    utc_offset_minutes,
)
from services.placement.state import (
    GroupRequest,
    LocationState,
    WaitingGroup,
    local_date,
    with_placement,
)

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
    """A command being applied: scratch copies of the unit, and what it will emit."""

    command: Command
    offset: int
    producer: str
    lookup: GroupLookup
    locations: dict[str, LocationSnapshot]
    queues: dict[str, list[WaitingEntry]]
    records: list[GroupRecord] = field(default_factory=list)
    emissions: list[Emission] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    duplicate: bool = False

    def state_of(self, code: str | None) -> LocationState | None:
        return None if code is None else self.locations[code].to_state()

    def store(self, state: LocationState | None) -> None:
        if state is not None:
            self.locations[state.code] = self.locations[state.code].with_state(state)

    def record_of(self, group_id: str) -> GroupRecord | None:
        """The group's record as this command has left it so far."""
        for record in reversed(self.records):
            if record.group_id == group_id:
                return record
        return self.lookup(group_id)


def place_arrival(work: Work, request: GroupRequest, location: str) -> None:
    """Place `request` at its home `location` as any arrival: join a queue, place, or wait."""
    home = work.locations[location]
    work.locations[home.code] = home.model_copy(
        update={"utc_offset_minutes": utc_offset_minutes(request.returned_at)}
    )
    if work.queues.get(home.code):
        # No queue jumping: it joins the queue, which is then tried in arrival order.
        enqueue(work, request, home.code, "NO_SHELTER_CAPACITY")
        drain(work, [home.code])
        return
    day = local_date(request.returned_at)
    outcome = place_group(request, home.to_state(), work.state_of(home.alternate), day)
    if isinstance(outcome, Placement):
        state = work.locations[outcome.location].to_state()
        work.store(with_placement(state, outcome.shelter_id, outcome.beds, day))
        record_placement(work, request, outcome, None, day)
    else:
        enqueue(work, request, home.code, outcome.reason)
    today = local_date(work.command.issued_at, offset_of=request.returned_at)
    work.locations[home.code] = work.locations[home.code].model_copy(update={"drained_on": today})


def drain(work: Work, codes: list[str]) -> None:
    """Retry the queues of `codes`, the longest-waiting head first (they may share an alternate)."""
    pending = [code for code in codes if work.queues.get(code)]
    for code in sorted(pending, key=lambda c: (work.queues[c][0].deferred_since, c)):
        queue = work.queues[code]
        today = local_date(work.command.issued_at, offset_of=queue[0].returned_at)
        home = work.locations[code]
        outcome = drain_queue(
            [entry.to_waiting() for entry in queue],
            home.to_state(),
            work.state_of(home.alternate),
            today,
        )
        work.store(outcome.home)
        work.store(outcome.alternate)
        reported = {entry.group_id: entry.reported for entry in queue}
        work.queues[code] = [
            WaitingEntry.of(group, reported[group.request.group_id]) for group in outcome.waiting
        ]
        for placed in outcome.placed:
            group = placed.group
            record_placement(work, group.request, placed.placement, group, today)
        work.locations[code] = work.locations[code].model_copy(update={"drained_on": today})


def enqueue(work: Work, request: GroupRequest, location: str, reason: DeferralReason) -> None:
    since = work.command.issued_at
    entry = WaitingEntry.of(WaitingGroup(request, location, since, reason), reported=())
    work.queues.setdefault(location, []).append(entry)
    work.records.append(record(work, request, location, "waiting"))


def record_placement(
    work: Work,
    request: GroupRequest,
    placement: Placement,
    waited: WaitingGroup | None,
    day: date,
) -> None:
    since = waited.deferred_since if waited else None
    envelope = placed_event(request, placement, since, work.producer, work.command.issued_at)
    work.emissions.append(Emission("placed", envelope))
    there = work.locations[placement.location]
    offset = utc_offset_minutes(request.returned_at)
    work.locations[there.code] = there.model_copy(update={"utc_offset_minutes": offset})
    home = waited.location if waited else placement.rerouted_from or placement.location
    placed = record(work, request, home, "placed").model_copy(
        update={
            "location": placement.location,
            "shelter_id": placement.shelter_id,
            "placed_event_id": envelope.event_id,
            "counted_on": day,
        }
    )
    work.records.append(placed)


def record(work: Work, request: GroupRequest, home: str, status: GroupStatus) -> GroupRecord:
    """The group's new record; it keeps every decision of the group already applied."""
    before = work.record_of(request.group_id)
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
        decisions=decisions_after(before, superseded, request.screened_event_id),
        written_offset=work.offset,
    )


def decisions_after(before: GroupRecord | None, *new: str | None) -> tuple[str, ...]:
    """The decisions a group's record knows of once `new` ones are applied, each once."""
    known = (*before.decisions, before.screened_event_id) if before is not None else ()
    return tuple(dict.fromkeys(x for x in (*known, *new) if x is not None))


def report_deferrals(work: Work) -> None:
    """Announce each waiting group's reason once: on arrival, and whenever it changes."""
    for code, queue in work.queues.items():
        for position, entry in enumerate(queue, start=1):
            if entry.reason in entry.reported:
                continue
            event = deferred_event(entry, position, work.producer, work.command.issued_at)
            work.emissions.append(Emission("placement-deferred", event))
            queue[position - 1] = entry.model_copy(
                update={"reported": (*entry.reported, entry.reason)}
            )
        work.queues[code] = queue
