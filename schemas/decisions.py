"""Decision events: ``screened``, ``placed``, ``placement-deferred``."""

from __future__ import annotations

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


class Screened(EventData):
    """One decision for a whole group under a named rule set.

    ``returned_at``, ``group_size``, ``earliest_hearing_at`` and ``decided_after`` are
    additive fields: placement and notify read them instead of the members' personal data.
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
            "for a member who arrived after the group was decided: event_id of the "
            "group's earlier screened event"
        ),
    )


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
