"""Requests to partners, and their webhook delivery receipts."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from schemas.base import CaseId, EventData, GroupId, LanguageCode, LocationCode, ShelterId

Purpose = Literal["immigration_hearing", "non_refoulement_interview"]
Priority = Literal["urgent", "normal"]
CareKind = Literal["covid_vaccination", "medical_care"]


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


class CareRequested(EventData):
    EVENT_TYPE = "care-requested"

    group_id: GroupId
    case_id: CaseId
    kind: CareKind
    provider_id: str
    location: LocationCode
    shelter_id: ShelterId | None


RequestChange = Literal["amended", "withdrawn"]
RequestChangeReason = Literal["GROUP_CHANGED", "NO_LONGER_ACCEPTED", "NO_LONGER_REFERRED"]


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
