"""The events placement emits, built deterministically from what caused them.

`placed` is identified by the group's `screened` event, a `placement-deferred` by
that event and the reason, and a `placement-withdrawn` by the decision that ended the
placement or wait: processing the same command again yields the same ids and,
with the command's `issued_at` as `occurred_at`, the same bytes.
"""

from __future__ import annotations

from datetime import datetime

from schemas.decisions import Placed, PlacementDeferred, PlacementWithdrawn
from schemas.envelope import Envelope, event_id_for, make_envelope
from services.placement.policy import Placement
from services.placement.records import GroupRecord
from services.placement.state import GroupRequest


def placed_event(
    request: GroupRequest,
    placement: Placement,
    deferred_since: datetime | None,
    producer: str,
    at: datetime,
) -> Envelope[Placed]:
    """`placed` for a group given `placement`; `deferred_since` when it waited first."""
    return make_envelope(
        Placed(
            group_id=request.group_id,
            location=placement.location,
            shelter_id=placement.shelter_id,
            members=list(request.members),
            beds=placement.beds,
            rerouted_from=placement.rerouted_from,
            transport_required=placement.transport_required,
            deferred_since=deferred_since,
            returned_at=request.returned_at,
        ),
        event_id=event_id_for("placed", request.screened_event_id),
        producer=producer,
        correlation_id=request.group_id,
        causation_id=request.screened_event_id,
        crossing=request.crossing,
        occurred_at=at,
    )


def deferred_event(
    entry: GroupRecord, position: int, producer: str, at: datetime
) -> Envelope[PlacementDeferred]:
    """`placement-deferred` for a group waiting at `position` of its location's queue."""
    wait = entry.waits
    return make_envelope(
        PlacementDeferred(
            group_id=entry.group_id,
            location=entry.home,
            reason=wait.reason,
            deferred_since=wait.deferred_since,
            beds=entry.beds,
            members=list(entry.members),
            queue_position=position,
        ),
        event_id=event_id_for("placement-deferred", entry.screened_event_id, wait.reason),
        producer=producer,
        correlation_id=entry.group_id,
        causation_id=entry.screened_event_id,
        crossing=wait.crossing,
        occurred_at=at,
    )


def withdrawn_event(
    withdrawal: PlacementWithdrawn, crossing: str, producer: str, at: datetime
) -> Envelope[PlacementWithdrawn]:
    """`placement-withdrawn`, caused by the decision it names (`screened_event_id`)."""
    cause = withdrawal.screened_event_id
    return make_envelope(
        withdrawal,
        event_id=event_id_for("placement-withdrawn", cause),
        producer=producer,
        correlation_id=withdrawal.group_id,
        causation_id=cause,
        crossing=crossing,
        occurred_at=at,
    )
