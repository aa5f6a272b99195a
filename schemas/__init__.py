"""The external contract as code: envelope, event models, topics, upcasters."""

from schemas.base import SENSITIVE, Contract, EventData, sensitive_fields
from schemas.codec import EventValidationError, FieldError, decode, decode_any, decode_data, encode
from schemas.decisions import (
    GatherWindow,
    Placed,
    PlacementDeferred,
    PlacementWithdrawn,
    Reason,
    Screened,
    ScreenedMember,
)
from schemas.envelope import Envelope, digest_of, event_id_for, make_envelope
from schemas.person import CovidVaccination, Declared, Hearing, Person, PersonReturned
from schemas.registry import EVENT_TYPES, TOPICS, TopicSpec, topic_for
from schemas.rejections import FieldProblem, IntakeRejected, SubmissionOrigin
from schemas.requests import (
    CareRequested,
    LegalAidRequested,
    NotificationDelivered,
    NotificationFailed,
    RequestUpdated,
)
from schemas.sealed import InTheClear, Personal, Sealed, SealedPersonReturned, WrappedDataKey
from schemas.status import CapacityUpdated, LocationStatusChanged, ShelterDeparted
from schemas.upcasting import upcast, upcaster

__all__ = [
    "EVENT_TYPES",
    "SENSITIVE",
    "TOPICS",
    "CapacityUpdated",
    "CareRequested",
    "Contract",
    "CovidVaccination",
    "Declared",
    "Envelope",
    "EventData",
    "EventValidationError",
    "FieldError",
    "FieldProblem",
    "GatherWindow",
    "Hearing",
    "InTheClear",
    "IntakeRejected",
    "LegalAidRequested",
    "LocationStatusChanged",
    "NotificationDelivered",
    "NotificationFailed",
    "Person",
    "PersonReturned",
    "Personal",
    "Placed",
    "PlacementDeferred",
    "PlacementWithdrawn",
    "Reason",
    "RequestUpdated",
    "Screened",
    "ScreenedMember",
    "Sealed",
    "SealedPersonReturned",
    "ShelterDeparted",
    "SubmissionOrigin",
    "TopicSpec",
    "WrappedDataKey",
    "decode",
    "decode_any",
    "decode_data",
    "digest_of",
    "encode",
    "event_id_for",
    "make_envelope",
    "sensitive_fields",
    "topic_for",
    "upcast",
    "upcaster",
]
