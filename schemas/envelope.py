"""The envelope every event travels in, and its deterministic identity."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Generic, TypeVar

from pydantic import AwareDatetime, Field, field_serializer

from schemas.base import Contract, CrossingCode, EventData

DataT = TypeVar("DataT", bound=EventData)

# Fixed namespace: every event id in the system is a UUIDv5 under it, so that the
# same input processed twice (after a crash, a rebalance, a replay) gets the same id.
EVENT_NAMESPACE = uuid.UUID("6b1f4f0e-3a5c-5d3e-9d0a-2c1b9f8e7a10")


def event_id_for(event_type: str, *parts: str) -> str:
    """The deterministic ``event_id`` of the event of ``event_type`` caused by ``parts``.

    ``parts`` must identify the input completely (for example ``source`` and
    ``submission_id`` for ``person-returned``); nothing time- or host-dependent.
    """
    name = "\x1f".join((event_type, *parts))
    return str(uuid.uuid5(EVENT_NAMESPACE, name))


def digest_of(event_ids: list[str]) -> str:
    """A deterministic digest of several causing events, independent of their order."""
    joined = "\n".join(sorted(event_ids)).encode()
    return "sha256:" + hashlib.sha256(joined).hexdigest()


def utc_now() -> datetime:
    return datetime.now(UTC)


class Envelope(Contract, Generic[DataT]):
    """One event on any topic but ``returns-inbound``."""

    event_id: str = Field(
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$"
    )
    event_type: str
    schema_version: int = Field(ge=1)
    occurred_at: AwareDatetime
    producer: str = Field(min_length=1, description="service/version that wrote the event")
    correlation_id: str = Field(
        description="the group_id (or location/shelter id for status events)"
    )
    causation_id: str | None = Field(
        description="event_id, or digest of member events, that caused this one"
    )
    crossing: CrossingCode | None
    data: DataT

    @field_serializer("occurred_at")
    def _millisecond_utc(self, value: datetime) -> str:
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def make_envelope(
    data: DataT,
    *,
    event_id: str,
    producer: str,
    correlation_id: str,
    causation_id: str | None,
    crossing: str | None,
    occurred_at: datetime | None = None,
) -> Envelope[DataT]:
    """Wrap ``data`` in an envelope of its own type and version."""
    return Envelope[DataT](
        event_id=event_id,
        event_type=data.EVENT_TYPE,
        schema_version=data.SCHEMA_VERSION,
        occurred_at=occurred_at or utc_now(),
        producer=producer,
        correlation_id=correlation_id,
        causation_id=causation_id,
        crossing=crossing,
        data=data,
    )
