"""Decision events: ``screened``, ``placed``, ``placement-deferred``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, Field

from schemas.base import CaseId, Contract, EventData, GroupId, LanguageCode, LocationCode, ShelterId

Decision = Literal["accepted", "declined", "referred", "not_eligible"]
Flag = Literal[
    "UNACCOMPANIED_MINOR",
    "PREGNANT",
    "PHYSICAL_ILLNESS",
    "MENTAL_ILLNESS",
    "DISABILITY",
    "OLDER_PERSON",
    "LGBTI",
    "MONOLINGUAL_INDIGENOUS",
    "MEXICAN_NATIONAL",
]
Need = Literal["legal_aid", "covid_vaccination", "interpreter"]
ReasonCode = Literal[Flag, "FEAR_OF_RETURN", "GROUP_INCOMPLETE"]


class ScreenedMember(Contract):
    case_id: CaseId
    flags: list[Flag]
    needs: list[Need]
    interpreter_language: LanguageCode | None


class Reason(Contract):
    case_id: CaseId | None
    code: ReasonCode


WindowClosedBy = Literal["complete", "window"]


class GatherWindow(Contract):
    """How the group's members were gathered, on arrival time (when intake accepted them).

    The window opens at the arrival of the group's first member (its ``person-returned``
    ``occurred_at``) and is due ``minutes`` later. ``closed_at`` is the arrival clock when
    the first decision was taken: the arrival of the member that completed the group, or,
    for a window that ran out, the partition's arrival watermark or the clock tick that
    closed it. A re-decision keeps the window of the first decision.
    """

    opened_at: AwareDatetime
    minutes: float = Field(gt=0)
    closed_at: AwareDatetime
    closed_by: WindowClosedBy

    @property
    def due_at(self) -> datetime:
        return self.opened_at + timedelta(minutes=self.minutes)


class Screened(EventData):
    """One decision for a whole group under a named rule set.

    ``returned_at``, ``group_size``, ``earliest_hearing_at``, ``decided_after``,
    ``supersedes``, ``revision`` and ``window`` are additive fields: placement and notify
    read them instead of the members' personal data.

    A group's decisions form one chain: each re-decision (a member who arrived late, a
    corrected record) names the decision it ``supersedes``; the last of the chain is the
    group's live decision, and the only one placement and notify act on.
    """

    EVENT_TYPE = "screened"

    group_id: GroupId
    decision: Decision
    rule_set: str
    members: list[ScreenedMember]
    reasons: list[Reason]
    returned_at: AwareDatetime | None = Field(
        default=None, description="the earliest member's returned_at, with its own offset"
    )
    group_size: int | None = Field(default=None, ge=1, le=30)
    earliest_hearing_at: AwareDatetime | None = None
    decided_after: str | None = Field(
        default=None,
        description=(
            "deprecated, no longer written: in logs before supersession, a member who "
            "arrived after the group was decided was screened alone and named the group's "
            "earlier screened event here"
        ),
    )
    supersedes: str | None = Field(
        default=None,
        description="event_id of the group's previous decision, which this one replaces",
    )
    revision: int | None = Field(
        default=None, ge=1, description="1 for a group's first decision, then 2, 3, ..."
    )
    window: GatherWindow | None = None


DeferralReason = Literal[
    "LOCATION_SUSPENDED",
    "DAILY_CAP_REACHED",
    "NO_SHELTER_CAPACITY",
    "GROUP_EXCEEDS_LARGEST_SHELTER",
]


class Placed(EventData):
    """A group was given a place at a location and shelter, all members together."""

    EVENT_TYPE = "placed"

    group_id: GroupId
    location: LocationCode
    shelter_id: ShelterId
    members: list[CaseId]
    beds: int = Field(ge=1)
    rerouted_from: LocationCode | None
    transport_required: bool
    deferred_since: AwareDatetime | None
    returned_at: AwareDatetime | None = None


WithdrawalReason = Literal["NO_LONGER_ACCEPTED", "GROUP_CHANGED"]


class PlacementWithdrawn(EventData):
    """A group's placement or place in the queue ends because its live decision changed.

    ``NO_LONGER_ACCEPTED``: the new decision is not ``accepted``; its beds (if it was
    placed) are free again and it leaves the queue (if it was waiting).
    ``GROUP_CHANGED``: the group was re-decided with other members; its old placement is
    released, and a ``placed`` or ``placement-deferred`` for the whole group follows.
    """

    EVENT_TYPE = "placement-withdrawn"

    group_id: GroupId
    location: LocationCode
    shelter_id: ShelterId | None = Field(description="null when the group was only waiting")
    members: list[CaseId] = Field(description="the members of the ended placement or wait")
    beds_released: int = Field(ge=0)
    reason: WithdrawalReason
    screened_event_id: str = Field(description="the decision that caused the withdrawal")
    placed_event_id: str | None = Field(description="the placement that ends, if any")


class PlacementDeferred(EventData):
    """A group waits for room at its location, first come first served."""

    EVENT_TYPE = "placement-deferred"

    group_id: GroupId
    location: LocationCode
    reason: DeferralReason
    deferred_since: AwareDatetime
    beds: int = Field(ge=1)
    members: list[CaseId]
    queue_position: int | None = Field(default=None, ge=1)
