"""A group re-decided after placement acted on its earlier decision: follow the live one.

- accepted again while waiting: the queue entry is updated in place (it keeps its turn)
  and the queue is retried;
- accepted again with the same members while placed (a corrected detail): it keeps its
  beds, and the new decision is the one its record follows;
- accepted again while placed: the placement is withdrawn (`GROUP_CHANGED`: beds and
  the day's count given back), then the whole group is placed as any arrival is;
- accepted again after a withdrawal: placed as any arrival;
- no longer accepted (`WithdrawGroup`): its beds or its place in the queue are released
  (`NO_LONGER_ACCEPTED`); the people were received, so the day's count stays;
- a group that departed is not placed again: the re-decision is recorded as rejected.
"""

from __future__ import annotations

from dataclasses import replace

from schemas.decisions import PlacementWithdrawn, WithdrawalReason
from services.placement.commands import PlaceGroup, WithdrawGroup
from services.placement.events import withdrawn_event
from services.placement.fold import Left, TakenBack, evolve
from services.placement.metrics import Rejection
from services.placement.records import GroupRecord
from services.placement.state import GroupRequest
from services.placement.work import (
    Emission,
    Work,
    decisions_after,
    drain,
    place_arrival,
    record,
)


def redecide(work: Work, command: PlaceGroup, before: GroupRecord, request: GroupRequest) -> None:
    """Apply a new accepted decision of a group this unit already has a record of."""
    if before.status == "waiting":
        _update_wait(work, before, request)
    elif before.status == "placed" and set(before.members) == set(request.members):
        # The same people (a corrected detail): they keep their beds under the new decision.
        following = before.following(request.screened_event_id, work.offset)
        _remember(work, following, before.screened_event_id)
    elif before.status == "placed":
        _release(work, before, request.screened_event_id, command.crossing, "GROUP_CHANGED")
        place_arrival(work, request, command.location)
        # Beds freed at an alternate may let another home's queue in. The home's own queue
        # was tried by the arrival if it had one; trying it again would re-date the
        # group's first attempt (its deferral reason) to the day of the retry.
        drain(work, [code for code in work.queues if code != command.location])
    elif before.status == "departed":
        detail = f"group {command.group_id} departed; a re-decision does not place it again"
        work.rejections.append(
            Rejection(
                "REDECISION_AFTER_DEPARTURE",
                command.screened_event_id,
                "screened",
                detail,
                command.location,
            )
        )
        _remember(work, before, command.screened_event_id, command.supersedes)
    else:
        place_arrival(work, request, command.location)


def withdraw(work: Work, command: WithdrawGroup) -> None:
    """Release a group whose live decision no longer accepts it; nothing to do if not live."""
    before = work.lookup(command.group_id)
    if before is None or not before.live:
        return
    if before.has_seen(command.screened_event_id):
        work.duplicate = True
        return
    if before.status == "placed":
        _release(work, before, command.screened_event_id, command.crossing, "NO_LONGER_ACCEPTED")
        drain(work, list(work.queues))
    else:
        _leave_queue(work, before, command)
        drain(work, [before.home])
    ended = before.ended("withdrawn", work.offset)
    _remember(work, ended, command.screened_event_id, command.supersedes)


def _update_wait(work: Work, before: GroupRecord, request: GroupRequest) -> None:
    """The group's queue entry takes the new members, keeping its turn; then the queue is tried."""
    entry = _entry(work, before)
    if entry is None:
        place_arrival(work, request, before.home)  # a record without its entry: start afresh
        return
    wait = replace(entry.waits, crossing=request.crossing, returned_at=request.returned_at)
    if set(request.members) != set(before.members):
        # Announced again, under the new decision, with its new members if it still waits.
        wait = replace(wait, reported=())
    work.writable(before.home).settled = None  # its size may change: the next drain sees all
    work.put(record(work, request, before.home, "waiting", before=entry, wait=wait))
    drain(work, [before.home])


def _entry(work: Work, before: GroupRecord) -> GroupRecord | None:
    """The group's entry in its home's queue, if it is there."""
    if before.wait is None:
        return None
    queue = work.queues.get(before.home)
    n = None if queue is None else queue.position(before.group_id, before.wait.sequence)
    return None if queue is None or n is None else queue.groups[n]


def _release(
    work: Work, before: GroupRecord, cause: str, crossing: str, reason: WithdrawalReason
) -> None:
    """Free a placed group's beds (and its day's count when it is placed again)."""
    assert before.location is not None  # a placed group's record names its shelter
    assert before.shelter_id is not None
    location = work.locations[before.location]
    if reason == "GROUP_CHANGED" and before.counted_on is not None:
        change: Left | TakenBack = TakenBack(before.shelter_id, before.beds, before.counted_on)
    else:
        change = Left(before.shelter_id, before.beds)
    work.store(evolve(location, change))
    withdrawal = PlacementWithdrawn(
        group_id=before.group_id,
        location=before.location,
        shelter_id=before.shelter_id,
        members=list(before.members),
        beds_released=before.beds,
        reason=reason,
        screened_event_id=cause,
        placed_event_id=before.placed_event_id,
    )
    _emit(work, withdrawal, crossing)


def _leave_queue(work: Work, before: GroupRecord, command: WithdrawGroup) -> None:
    entry = work.leave(before)
    withdrawal = PlacementWithdrawn(
        group_id=before.group_id,
        location=before.home,
        shelter_id=None,
        members=list(entry.members if entry is not None else before.members),
        beds_released=0,
        reason="NO_LONGER_ACCEPTED",
        screened_event_id=command.screened_event_id,
        placed_event_id=None,
    )
    _emit(work, withdrawal, command.crossing)


def _emit(work: Work, withdrawal: PlacementWithdrawn, crossing: str) -> None:
    envelope = withdrawn_event(withdrawal, crossing, work.producer, work.command.issued_at)
    work.emissions.append(Emission("placement-withdrawn", envelope))


def _remember(work: Work, before: GroupRecord, *decisions: str | None) -> None:
    """Keep `before` with `decisions` known, so that their repeats are duplicates."""
    work.put(before.knowing(decisions_after(before, *decisions), work.offset))
