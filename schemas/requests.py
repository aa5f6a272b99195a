"""Requests to partners, their progress as partners report it, and webhook receipts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints

from schemas.base import CaseId, EventData, GroupId, LanguageCode, LocationCode, ShelterId

Purpose = Literal["immigration_hearing", "non_refoulement_interview"]
Priority = Literal["urgent", "normal"]
CareKind = Literal["covid_vaccination", "medical_care"]
ReassignedBecause = Literal["DECLINED", "NOT_ACCEPTED_IN_TIME"]
ProgressStatus = Literal["accepted", "declined", "first_contact", "closed"]
ReasonCode = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{1,39}$")]
"""A code, never free text: a report or a change says why without saying anything about a person."""


class LegalAidRequested(EventData):
    EVENT_TYPE = "legal-aid-requested"

    group_id: GroupId
    purpose: Purpose
    priority: Priority
    provider_id: str
    provider_choice: str = Field(description="why this provider was chosen")
    location: LocationCode | None
    shelter_id: ShelterId | None
    members: list[CaseId]
    earliest_hearing_at: AwareDatetime | None
    preferred_language: LanguageCode
    interpreter_required: bool
    due_by: AwareDatetime | None
    accept_by: AwareDatetime | None = Field(
        default=None, description="the provider must have accepted by then, else it is reassigned"
    )
    replaces: str | None = Field(
        default=None, description="event_id of the legal-aid-requested this one replaces"
    )
    reassigned_because: ReassignedBecause | None = None


class CareRequested(EventData):
    EVENT_TYPE = "care-requested"

    group_id: GroupId
    case_id: CaseId
    kind: CareKind
    provider_id: str
    location: LocationCode
    shelter_id: ShelterId | None


RequestChange = Literal["amended", "withdrawn"]
RequestChangeReason = Literal[
    "GROUP_CHANGED", "NO_LONGER_ACCEPTED", "NO_LONGER_REFERRED", "REASSIGNED"
]


class RequestUpdated(EventData):
    """A request sent earlier is amended (new members, priority or place) or withdrawn.

    Written by notify when a group's live decision or placement changes. ``members``,
    ``priority``, ``location`` and ``shelter_id`` give the request as it now stands after an
    amendment; after a withdrawal ``members`` lists those the withdrawn request named.
    """

    EVENT_TYPE = "request-updated"

    group_id: GroupId
    request_event_id: str = Field(description="the legal-aid-requested or care-requested event")
    request_type: Literal["legal-aid-requested", "care-requested"]
    provider_id: str
    change: RequestChange
    reason: RequestChangeReason
    caused_by: str = Field(description="event_id of the screened or placement event")
    members: list[CaseId] = Field(description="the request's members after the change")
    priority: Priority | None = None
    location: LocationCode | None = None
    shelter_id: ShelterId | None = None


class RequestStatusReported(EventData):
    """A partner's report on a legal-aid request it holds, as it reached notify.

    Partners write it directly, or notify's `POST /v1/requests/{event_id}/status` writes
    it for them once the signature checks. Only what notify applied reaches
    `legal-aid-updated`.
    """

    EVENT_TYPE = "request-status-reported"

    group_id: GroupId
    request_event_id: str = Field(description="the legal-aid-requested event reported on")
    partner_id: str
    status: ProgressStatus
    status_at: AwareDatetime = Field(description="when it happened, as the partner says")
    reason_code: ReasonCode | None = None


class LegalAidUpdated(EventData):
    """A status of a legal-aid request, applied by notify: accepted, declined, first
    contact made, closed. Only valid transitions appear (docs/CONTRACT.md)."""

    EVENT_TYPE = "legal-aid-updated"

    group_id: GroupId
    request_event_id: str = Field(description="the legal-aid-requested event")
    provider_id: str
    location: LocationCode | None
    purpose: Purpose
    status: ProgressStatus
    status_at: AwareDatetime = Field(description="when it happened, as the partner reports it")
    reason_code: ReasonCode | None = None
    partner_id: str = Field(description="who reported it")


class ProviderCapacityChanged(EventData):
    """A legal-aid provider's capacity: the open requests it takes at most."""

    EVENT_TYPE = "provider-capacity-changed"

    provider_id: str = Field(pattern=r"^LA-[A-Z]{3}-\d{2}$")
    capacity: int = Field(ge=0, le=100_000)
    changed_by: str = Field(min_length=1, max_length=64)
    note: ReasonCode | None = None


class NotificationDelivered(EventData):
    EVENT_TYPE = "notification-delivered"

    group_id: GroupId
    partner_id: str
    notified_event_id: str
    notified_event_type: str
    attempts: int = Field(ge=1)
    status_code: int
    delivered_at: AwareDatetime


class NotificationFailed(EventData):
    EVENT_TYPE = "notification-failed"

    group_id: GroupId
    partner_id: str
    notified_event_id: str
    notified_event_type: str
    attempts: int = Field(ge=1)
    last_error: str = Field(max_length=1000)
    failed_at: AwareDatetime
