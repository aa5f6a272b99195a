"""How a group's open requests follow a change of its placement or decision.

Pure functions over the open requests (ledger.py) and the new placement or decision:
they say which request to amend, which to withdraw and what to request anew, as
`RequestUpdated` data and new requests. The issuer (handlers.py) wraps and sends them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from schemas.decisions import Placed, Screened
from schemas.requests import CareRequested, Priority, RequestChangeReason, RequestUpdated
from services.notify.ledger import OpenRequest


@dataclass
class Changes:
    """What a re-placement or re-decision does to the group's open requests."""

    updates: list[tuple[OpenRequest, RequestUpdated]] = field(default_factory=list)
    new_care: list[CareRequested] = field(default_factory=list)
    new_legal_aid: bool = False


def withdrawn(request: OpenRequest, reason: RequestChangeReason, caused_by: str) -> RequestUpdated:
    """The withdrawal of `request`: no members left; its place kept, so that partners
    serving that location only are told too."""
    return RequestUpdated(
        group_id=request.group_id,
        request_event_id=request.event_id,
        request_type=request.request_type,
        provider_id=request.provider_id,
        change="withdrawn",
        reason=reason,
        caused_by=caused_by,
        members=[],
        location=request.location,
        shelter_id=request.shelter_id,
    )


def amended(
    request: OpenRequest,
    caused_by: str,
    *,
    members: Sequence[str],
    priority: Priority | None,
    shelter_id: str | None,
) -> RequestUpdated | None:
    """The amendment of `request` to these members, priority and shelter (its provider
    and location stay); None when nothing changes."""
    if (list(members), priority, shelter_id) == (
        request.members,
        request.priority,
        request.shelter_id,
    ):
        return None
    return RequestUpdated(
        group_id=request.group_id,
        request_event_id=request.event_id,
        request_type=request.request_type,
        provider_id=request.provider_id,
        change="amended",
        reason="GROUP_CHANGED",
        caused_by=caused_by,
        members=list(members),
        priority=priority,
        location=request.location,
        shelter_id=shelter_id,
    )


def after(request: OpenRequest, update: RequestUpdated) -> OpenRequest:
    """`request` as an amendment leaves it."""
    return request.model_copy(
        update={
            "members": list(update.members),
            "priority": update.priority,
            "shelter_id": update.shelter_id,
        }
    )


def replacement(
    open_requests: Sequence[OpenRequest],
    placed: Placed,
    caused_by: str,
    hearing_priority: Priority,
    care: Sequence[CareRequested],
) -> Changes:
    """A group placed again: its hearing request amended at the same location, else
    withdrawn and requested anew; care requests of members gone (or at another
    location) withdrawn, of remaining members re-sheltered, of new members added.

    `care` is what a first placement would request now (care_requests_for_placement).
    """
    changes = Changes()
    hearing = [r for r in open_requests if r.purpose == "immigration_hearing"]
    for request in hearing:
        if request.location == placed.location and request is hearing[0]:
            update = amended(
                request,
                caused_by,
                members=placed.members,
                priority=hearing_priority,
                shelter_id=placed.shelter_id,
            )
            if update is not None:
                changes.updates.append((request, update))
        else:
            changes.updates.append((request, withdrawn(request, "GROUP_CHANGED", caused_by)))
    changes.new_legal_aid = not hearing or hearing[0].location != placed.location
    wanted = {c.case_id: c for c in care}
    kept: set[str] = set()
    for request in open_requests:
        if request.request_type != "care-requested":
            continue
        case_id = request.case_id or ""
        if case_id in wanted and case_id not in kept and request.location == placed.location:
            kept.add(case_id)
            update = amended(
                request, caused_by, members=[case_id], priority=None, shelter_id=placed.shelter_id
            )
            if update is not None:
                changes.updates.append((request, update))
        else:
            changes.updates.append((request, withdrawn(request, "GROUP_CHANGED", caused_by)))
    changes.new_care = [c for case_id, c in wanted.items() if case_id not in kept]
    return changes


def rereferral(
    open_requests: Sequence[OpenRequest], screened: Screened, caused_by: str, still_fear: bool
) -> Changes:
    """A group re-decided: its non-refoulement request amended to the new members while
    still referred for fear (one request per group: any other withdrawn), else withdrawn.
    `new_legal_aid` says a first referral is to be requested."""
    changes = Changes()
    interviews = [r for r in open_requests if r.purpose == "non_refoulement_interview"]
    members = [m.case_id for m in screened.members]
    for request in interviews:
        if still_fear and request is interviews[0]:
            update = amended(
                request, caused_by, members=members, priority="urgent", shelter_id=None
            )
            if update is not None:
                changes.updates.append((request, update))
        else:
            reason: RequestChangeReason = "GROUP_CHANGED" if still_fear else "NO_LONGER_REFERRED"
            changes.updates.append((request, withdrawn(request, reason, caused_by)))
    changes.new_legal_aid = still_fear and not interviews
    return changes
