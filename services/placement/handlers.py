"""The single writer's decisions: one command and one unit's state in, the new state and events out.

Pure and deterministic: "now" is the command's `issued_at`, so reprocessing a command
after a crash, from the same state, yields the same state and the same events (same
ids, same bytes). The app (`app.py`) does the I/O: it sends the events, waits for the
broker's acknowledgement, then writes the group records and, last, the unit state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta

from services.placement.commands import (
    CheckLocalDay,
    Command,
    PlaceGroup,
    ReleaseBeds,
    SetLocationStatus,
    SetShelterCapacity,
    WithdrawGroup,
)
from services.placement.fold import BedsSet, Left, StatusSet, evolve, stale
from services.placement.metrics import Rejection
from services.placement.queues import LocationQueue
from services.placement.records import GroupRecord, UnitState
from services.placement.redecisions import redecide, withdraw
from services.placement.state import GroupRequest, local_date
from services.placement.work import (
    Emission,
    GroupLookup,
    Work,
    drain,
    place_arrival,
    report_deferrals,
    waiting_counts,
)

__all__ = ["Emission", "GroupLookup", "Outcome", "decide"]


@dataclass(frozen=True)
class Outcome:
    """The result of one command. `state` is the input state itself when nothing changed.

    `queues`: the queues the command changed or drained, to install in the in-memory
    index once the command's writes are in the table.
    """

    state: UnitState
    records: tuple[GroupRecord, ...] = ()
    emissions: tuple[Emission, ...] = ()
    rejections: tuple[Rejection, ...] = ()
    duplicate: bool = False
    changed: bool = False
    queues: Mapping[str, LocationQueue] = field(default_factory=dict)


def decide(
    command: Command,
    state: UnitState,
    queues: Mapping[str, LocationQueue],
    offset: int,
    lookup: GroupLookup,
    producer: str,
) -> Outcome:
    """Apply `command`, read at `offset` of the unit's partition, to the unit `state`.

    `queues` are the unit's queues as of `state` (left untouched); `lookup` finds the
    other groups' records.
    """
    command = _in_unit_order(command, state)
    work = Work(
        command,
        offset,
        producer,
        lookup,
        dict(state.locations),
        {code: queue for code, queue in queues.items() if queue.groups},
        state.next_sequence,
    )
    if isinstance(command, PlaceGroup):
        _place_group(work, command)
    elif isinstance(command, WithdrawGroup):
        withdraw(work, command)
    elif isinstance(command, SetLocationStatus):
        _set_status(work, command)
    elif isinstance(command, SetShelterCapacity):
        _set_capacity(work, command)
    elif isinstance(command, ReleaseBeds):
        _release_beds(work, command)
    elif isinstance(command, CheckLocalDay):
        drain(work, _new_local_day(work, command))
    report_deferrals(work)
    return _outcome(work, state)


def _in_unit_order(command: Command, state: UnitState) -> Command:
    """The command, its time moved past the unit's latest events if it would not follow them.

    Envelopes carry milliseconds, and a unit's events land on several partitions (one
    per lane). Two commands issued in one millisecond would give events an auditor can
    only order by topic, which may reverse them (a deferral read before the placement
    that came first). Each command's events therefore happen at least a millisecond
    after the previous command's: the unit's order is the log's order.
    """
    at = command.issued_at.replace(microsecond=command.issued_at.microsecond // 1000 * 1000)
    if state.last_event_at is not None and at <= state.last_event_at:
        at = state.last_event_at + timedelta(milliseconds=1)
    return command if at == command.issued_at else command.at(at)


def _place_group(work: Work, command: PlaceGroup) -> None:
    record = work.lookup(command.group_id)
    if record is not None and record.has_seen(command.screened_event_id):
        work.duplicate = True  # a re-sent screened event, an older decision, a re-issued command
        return
    request = GroupRequest(
        command.group_id,
        command.crossing,
        command.members,
        command.beds,
        command.returned_at,
        command.screened_event_id,
    )
    if record is None:
        place_arrival(work, request, command.location)
    else:
        redecide(work, command, record, request)


def _set_status(work: Work, command: SetLocationStatus) -> None:
    location = work.locations[command.location]
    change = StatusSet(command.security_level, command.daily_cap, command.effective_at)
    if stale(location, change):
        work.rejections.append(_stale(command.event_id, "location-status-changed", location.code))
        return
    work.store(evolve(location, change))
    drain(work, list(work.queues))


def _set_capacity(work: Work, command: SetShelterCapacity) -> None:
    location = work.locations[command.location]
    change = BedsSet(command.shelter_id, command.beds, command.effective_at)
    if stale(location, change):
        work.rejections.append(_stale(command.event_id, "capacity-updated", location.code))
        return
    work.store(evolve(location, change))
    drain(work, list(work.queues))


def _release_beds(work: Work, command: ReleaseBeds) -> None:
    record = work.lookup(command.group_id)
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
    location = work.locations[command.location]
    work.store(evolve(location, Left(command.shelter_id, record.beds)))
    work.put(record.ended("departed", work.offset))
    drain(work, list(work.queues))


def _new_local_day(work: Work, command: CheckLocalDay) -> list[str]:
    """Locations with a queue whose local date is not the one of their last retry."""
    due = []
    for code in list(work.queues):
        queue = work.queue(code)
        if not queue:
            continue
        today = local_date(command.issued_at, offset_of=queue[0].waits.returned_at)
        if work.locations[code].drained_on != today:
            due.append(code)
    return due


def _outcome(work: Work, before: UnitState) -> Outcome:
    changed_locations = {
        code: state for code, state in work.locations.items() if state != before.locations[code]
    }
    after = before.with_locations(changed_locations).with_waiting(
        waiting_counts(work.queues, work.copied)
    )
    after = replace(after, next_sequence=work.next_sequence)
    changed = bool(work.records or work.emissions) or after != before
    at = work.command.issued_at if work.emissions else None
    drained = {code: work.queues[code] for code in work.copied}
    return Outcome(
        state=after.applied(work.offset, work.next_sequence, at) if changed else before,
        records=tuple(work.records.values()),
        emissions=tuple(work.emissions),
        rejections=tuple(work.rejections),
        duplicate=work.duplicate,
        changed=changed,
        queues=drained,
    )


def _stale(event_id: str, topic: str, location: str) -> Rejection:
    detail = "effective_at is older than the value in force"
    return Rejection("STALE_UPDATE", event_id, topic, detail, location)


def _departure_rejection(command: ReleaseBeds, reason: str, detail: str) -> Rejection:
    return Rejection(reason, command.event_id, "shelter-departed", detail, command.location)
