"""The single writer's decisions: one command and one unit's state in, the new state and events out.

Pure and deterministic: "now" is the command's `issued_at`, so reprocessing a command
after a crash, from the same state, yields the same state and the same events (same
ids, same bytes). The app (`app.py`) does the I/O: it sends the events, waits for the
broker's acknowledgement, then writes the group records and, last, the unit state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from schemas.decisions import DeferralReason
from schemas.envelope import Envelope
from services.placement.commands import (
    CheckLocalDay,
    Command,
    PlaceGroup,
    ReleaseBeds,
    SetLocationStatus,
    SetShelterCapacity,
)
from services.placement.events import deferred_event, placed_event
from services.placement.metrics import Rejection
from services.placement.policy import Placement, drain_queue, place_group
from services.placement.records import (
    GroupRecord,
    GroupStatus,
    LocationSnapshot,
    UnitState,
    WaitingEntry,
    utc_offset_minutes,
)
from services.placement.state import (
    GroupRequest,
    LocationState,
    WaitingGroup,
    local_date,
    with_capacity,
    with_departure,
    with_placement,
    with_status,
)

GroupLookup = Callable[[str], GroupRecord | None]
"""A group's valid record in the unit being written, or None."""


@dataclass(frozen=True)
class Emission:
    """An event to send: its contract topic and envelope."""

    topic: Literal["placed", "placement-deferred"]
    envelope: Envelope[Any]


@dataclass(frozen=True)
class Outcome:
    """The result of one command. `state` is the input state itself when nothing changed."""

    state: UnitState
    records: tuple[GroupRecord, ...] = ()
    emissions: tuple[Emission, ...] = ()
    rejections: tuple[Rejection, ...] = ()
    duplicate: bool = False
    changed: bool = False


@dataclass
class _Work:
    """A command being applied: scratch copies of the unit, and what it will emit."""

    command: Command
    offset: int
    producer: str
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


def decide(
    command: Command, state: UnitState, offset: int, lookup: GroupLookup, producer: str
) -> Outcome:
    """Apply `command`, read at `offset` of the unit's partition, to the unit `state`."""
    work = _Work(
        command,
        offset,
        producer,
        dict(state.locations),
        {code: list(queue) for code, queue in state.queues.items() if queue},
    )
    if isinstance(command, PlaceGroup):
        _place_group(work, command, lookup)
    elif isinstance(command, SetLocationStatus):
        _set_status(work, command)
    elif isinstance(command, SetShelterCapacity):
        _set_capacity(work, command)
    elif isinstance(command, ReleaseBeds):
        _release_beds(work, command, lookup)
    elif isinstance(command, CheckLocalDay):
        _drain(work, _new_local_day(work, command))
    _report_deferrals(work)
    return _outcome(work, state)


def _place_group(work: _Work, command: PlaceGroup, lookup: GroupLookup) -> None:
    if lookup(command.group_id) is not None:
        work.duplicate = True  # a re-sent screened event or a re-issued command
        return
    home = work.locations[command.location]
    work.locations[home.code] = home.model_copy(
        update={"utc_offset_minutes": utc_offset_minutes(command.returned_at)}
    )
    request = GroupRequest(
        command.group_id,
        command.crossing,
        command.members,
        command.beds,
        command.returned_at,
        command.screened_event_id,
    )
    if work.queues.get(home.code):
        # No queue jumping: it joins the queue, which is then tried in arrival order.
        _enqueue(work, request, home.code, "NO_SHELTER_CAPACITY")
        _drain(work, [home.code])
        return
    outcome = place_group(
        request, home.to_state(), work.state_of(home.alternate), local_date(command.returned_at)
    )
    if isinstance(outcome, Placement):
        _apply_placement(work, request, outcome)
    else:
        _enqueue(work, request, home.code, outcome.reason)
    day = local_date(command.issued_at, offset_of=command.returned_at)
    work.locations[home.code] = work.locations[home.code].model_copy(update={"drained_on": day})


def _set_status(work: _Work, command: SetLocationStatus) -> None:
    snapshot = work.locations[command.location]
    if snapshot.status_effective_at and command.effective_at < snapshot.status_effective_at:
        work.rejections.append(_stale(command.event_id, "location-status-changed", snapshot.code))
        return
    state = with_status(snapshot.to_state(), command.security_level, command.daily_cap)
    work.store(state)
    work.locations[snapshot.code] = work.locations[snapshot.code].model_copy(
        update={"status_effective_at": command.effective_at}
    )
    _drain(work, list(work.queues))


def _set_capacity(work: _Work, command: SetShelterCapacity) -> None:
    snapshot = work.locations[command.location]
    shelter = snapshot.shelters[command.shelter_id]
    if shelter.capacity_effective_at and command.effective_at < shelter.capacity_effective_at:
        work.rejections.append(_stale(command.event_id, "capacity-updated", snapshot.code))
        return
    work.store(with_capacity(snapshot.to_state(), command.shelter_id, command.beds))
    updated = work.locations[snapshot.code]
    shelters = dict(updated.shelters)
    shelters[command.shelter_id] = shelters[command.shelter_id].model_copy(
        update={"capacity_effective_at": command.effective_at}
    )
    work.locations[snapshot.code] = updated.model_copy(update={"shelters": shelters})
    _drain(work, list(work.queues))


def _release_beds(work: _Work, command: ReleaseBeds, lookup: GroupLookup) -> None:
    record = lookup(command.group_id)
    if record is not None and record.status == "departed":
        work.duplicate = True
        return
    if record is None or record.status != "placed":
        detail = f"group {command.group_id} was never placed by this unit"
        work.rejections.append(_departure_rejection(command, "DEPARTURE_OF_UNPLACED_GROUP", detail))
        return
    if (record.location, record.shelter_id) != (command.location, command.shelter_id):
        detail = f"group {command.group_id} was placed at {record.shelter_id}"
        work.rejections.append(_departure_rejection(command, "DEPARTURE_SHELTER_MISMATCH", detail))
        return
    state = work.locations[command.location].to_state()
    work.store(with_departure(state, command.shelter_id, record.beds))
    work.records.append(
        record.model_copy(update={"status": "departed", "written_offset": work.offset})
    )
    _drain(work, list(work.queues))


def _new_local_day(work: _Work, command: CheckLocalDay) -> list[str]:
    """Locations with a queue whose local date is not the one of their last retry."""
    due = []
    for code, queue in work.queues.items():
        today = local_date(command.issued_at, offset_of=queue[0].returned_at)
        if work.locations[code].drained_on != today:
            due.append(code)
    return due


def _drain(work: _Work, codes: list[str]) -> None:
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
            _record_placement(work, placed.group.request, placed.placement, placed.group)
        work.locations[code] = work.locations[code].model_copy(update={"drained_on": today})


def _enqueue(work: _Work, request: GroupRequest, location: str, reason: DeferralReason) -> None:
    since = work.command.issued_at
    entry = WaitingEntry.of(WaitingGroup(request, location, since, reason), reported=())
    work.queues.setdefault(location, []).append(entry)
    work.records.append(_record(work, request, location, "waiting"))


def _apply_placement(work: _Work, request: GroupRequest, placement: Placement) -> None:
    state = work.locations[placement.location].to_state()
    day = local_date(request.returned_at)
    work.store(with_placement(state, placement.shelter_id, placement.beds, day))
    _record_placement(work, request, placement, None)


def _record_placement(
    work: _Work, request: GroupRequest, placement: Placement, waited: WaitingGroup | None
) -> None:
    since = waited.deferred_since if waited else None
    envelope = placed_event(request, placement, since, work.producer, work.command.issued_at)
    work.emissions.append(Emission("placed", envelope))
    there = work.locations[placement.location]
    offset = utc_offset_minutes(request.returned_at)
    work.locations[there.code] = there.model_copy(update={"utc_offset_minutes": offset})
    home = waited.location if waited else placement.rerouted_from or placement.location
    record = _record(work, request, home, "placed")
    work.records.append(
        record.model_copy(
            update={
                "location": placement.location,
                "shelter_id": placement.shelter_id,
                "placed_event_id": envelope.event_id,
            }
        )
    )


def _record(work: _Work, request: GroupRequest, home: str, status: GroupStatus) -> GroupRecord:
    return GroupRecord(
        group_id=request.group_id,
        unit=work.command.unit,
        status=status,
        home=home,
        beds=request.beds,
        screened_event_id=request.screened_event_id,
        written_offset=work.offset,
    )


def _report_deferrals(work: _Work) -> None:
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


def _outcome(work: _Work, before: UnitState) -> Outcome:
    after = before.model_copy(
        update={
            "locations": work.locations,
            "queues": {code: tuple(queue) for code, queue in work.queues.items() if queue},
        }
    )
    changed = bool(work.records or work.emissions) or after != before
    return Outcome(
        state=after.model_copy(update={"applied_offset": work.offset}) if changed else before,
        records=tuple(work.records),
        emissions=tuple(work.emissions),
        rejections=tuple(work.rejections),
        duplicate=work.duplicate,
        changed=changed,
    )


def _stale(event_id: str, topic: str, location: str) -> Rejection:
    detail = "effective_at is older than the value in force"
    return Rejection("STALE_UPDATE", event_id, topic, detail, location)


def _departure_rejection(command: ReleaseBeds, reason: str, detail: str) -> Rejection:
    return Rejection(reason, command.event_id, "shelter-departed", detail, command.location)
