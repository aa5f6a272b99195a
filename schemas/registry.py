"""The topic registry: every topic of the contract, its key, value type and single writer.

Partitions, retention and cleanup live in ``infra/topics.toml`` (deployment); this
registry is the contract. A test checks that the two name the same topics.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.access import AccessLogged
from schemas.base import EventData
from schemas.decisions import Placed, PlacementDeferred, PlacementWithdrawn, Screened
from schemas.rejections import IntakeRejected
from schemas.requests import (
    CareRequested,
    LegalAidRequested,
    LegalAidUpdated,
    NotificationDelivered,
    NotificationFailed,
    ProviderCapacityChanged,
    RequestStatusReported,
    RequestUpdated,
)
from schemas.sealed import SealedPersonReturned
from schemas.status import CapacityUpdated, LocationStatusChanged, ShelterDeparted


@dataclass(frozen=True)
class TopicSpec:
    name: str
    key: str
    value: type[EventData] | None
    writer: str
    audit_log: bool

    @property
    def enveloped(self) -> bool:
        return self.value is not None


TOPICS: dict[str, TopicSpec] = {
    spec.name: spec
    for spec in (
        TopicSpec("returns-inbound", "anything", None, "upstream", audit_log=False),
        TopicSpec("person-returned", "group_id", SealedPersonReturned, "intake", audit_log=True),
        # Not enveloped: `schemas.sealed.WrappedDataKey` values, compacted, a tombstone erases.
        TopicSpec("person-keys", "case_id", None, "intake", audit_log=False),
        # Every reader of cases and groups records its own reads (placement, the audit).
        TopicSpec("access-logged", "subject_id", AccessLogged, "readers", audit_log=True),
        TopicSpec("intake-rejected", "submission key or none", IntakeRejected, "intake", True),
        TopicSpec("screened", "group_id", Screened, "screening", audit_log=True),
        TopicSpec("placed", "group_id", Placed, "placement", audit_log=True),
        TopicSpec("placement-deferred", "group_id", PlacementDeferred, "placement", True),
        TopicSpec("placement-withdrawn", "group_id", PlacementWithdrawn, "placement", True),
        TopicSpec("legal-aid-requested", "group_id", LegalAidRequested, "notify", True),
        TopicSpec("care-requested", "group_id", CareRequested, "notify", audit_log=True),
        TopicSpec("request-updated", "group_id", RequestUpdated, "notify", audit_log=True),
        TopicSpec("location-status-changed", "location", LocationStatusChanged, "inm", True),
        TopicSpec("capacity-updated", "shelter_id", CapacityUpdated, "shelters", True),
        TopicSpec("shelter-departed", "group_id", ShelterDeparted, "shelters", True),
        TopicSpec("notification-delivered", "group_id", NotificationDelivered, "notify", True),
        TopicSpec("notification-failed", "group_id", NotificationFailed, "notify", True),
        TopicSpec("request-status-reported", "group_id", RequestStatusReported, "partners", True),
        TopicSpec("legal-aid-updated", "group_id", LegalAidUpdated, "notify", audit_log=True),
        TopicSpec(
            "provider-capacity-changed", "provider_id", ProviderCapacityChanged, "partners", True
        ),
    )
}

EVENT_TYPES: dict[str, type[EventData]] = {
    spec.value.EVENT_TYPE: spec.value for spec in TOPICS.values() if spec.value is not None
}


def topic_for(event_type: str) -> TopicSpec:
    """The topic that carries ``event_type`` (each type has exactly one)."""
    for spec in TOPICS.values():
        if spec.value is not None and event_type == spec.value.EVENT_TYPE:
            return spec
    raise KeyError(f"no topic carries event type {event_type!r}")
