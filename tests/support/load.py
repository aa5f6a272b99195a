"""What load runs share: the INM side opening every location wide."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from schemas.base import EventData
from schemas.envelope import Envelope, event_id_for, make_envelope
from schemas.status import CapacityUpdated, LocationStatusChanged
from services.runtime.context import Runtime
from services.runtime.publishing import EventProducer

OPEN_CAP, OPEN_BEDS = 10_000, 10_000


def open_every_location(runtime: Runtime) -> None:
    """INM raises every daily cap and the shelters their beds, so placement does not defer."""
    now, reference = datetime.now(UTC), runtime.reference
    with EventProducer(runtime.router, client_id="load-test-inm") as producer:
        for location in reference.locations:
            status = LocationStatusChanged(
                location=location.code,
                security_level="normal",
                daily_cap=OPEN_CAP,
                effective_at=now,
                note="load test: caps lifted",
            )
            producer.publish(
                "location-status-changed",
                _envelope(status, location.code, now.isoformat()),
            )
        for shelter in reference.shelters:
            beds = CapacityUpdated(
                shelter_id=shelter.id, location=shelter.location, beds=OPEN_BEDS, effective_at=now
            )
            producer.publish("capacity-updated", _envelope(beds, shelter.id, now.isoformat()))


def _envelope(data: EventData, key: str, at: str) -> Envelope[Any]:
    return make_envelope(
        data,
        event_id=event_id_for(data.EVENT_TYPE, "load-test", key, at),
        producer="load-test/1.0",
        correlation_id=key,
        causation_id=None,
        crossing=None,
    )
