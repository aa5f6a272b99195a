"""Helpers for the placement integration tests (no tests here).

Events are built with the contract models and realistic data; reading polls the real
broker with a deadline, as an auditor would (no consumer group).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar

import httpx

from schemas.decisions import Screened, ScreenedMember
from schemas.envelope import Envelope, event_id_for, make_envelope
from schemas.status import CapacityUpdated, LocationStatusChanged, SecurityLevel, ShelterDeparted
from services.runtime.context import Runtime
from services.runtime.publishing import EventProducer
from tests.support.kafka import Record, read_topic
from tests.support.services import ServiceProcess

CHIHUAHUA = timezone(timedelta(hours=-7))  # El Paso / Ciudad Juárez in winter
COAHUILA = timezone(timedelta(hours=-6))  # Eagle Pass / Piedras Negras
TAMAULIPAS = timezone(timedelta(hours=-6))  # Laredo, Brownsville

T = TypeVar("T")


def now_in(zone: timezone) -> datetime:
    return datetime.now(UTC).astimezone(zone).replace(microsecond=0)


def accepted(
    group_id: str, crossing: str, case_ids: list[str], returned_at: datetime
) -> Envelope[Screened]:
    """An accepted `screened` decision for a group arriving together at `crossing`."""
    data = Screened(
        group_id=group_id,
        decision="accepted",
        rule_set="2021-12",
        members=[
            ScreenedMember(
                case_id=case_id, flags=[], needs=["legal_aid"], interpreter_language=None
            )
            for case_id in case_ids
        ],
        reasons=[],
        returned_at=returned_at,
        group_size=len(case_ids),
    )
    event_id = event_id_for("screened", "test", group_id)
    return make_envelope(
        data,
        event_id=event_id,
        producer="screening/0.1.0",
        correlation_id=group_id,
        causation_id=f"sha256:{group_id}",
        crossing=crossing,
    )


def status(
    location: str, level: SecurityLevel, cap: int = 30, at: datetime | None = None
) -> Envelope[LocationStatusChanged]:
    """INM sets a location's security level and daily reception cap."""
    effective = at or datetime.now(UTC)
    data = LocationStatusChanged(
        location=location, security_level=level, daily_cap=cap, effective_at=effective
    )
    return make_envelope(
        data,
        event_id=event_id_for("location-status-changed", location, effective.isoformat(), level),
        producer="inm-ops/1.0",
        correlation_id=location,
        causation_id=None,
        crossing=None,
    )


def capacity(location: str, shelter_id: str, beds: int) -> Envelope[CapacityUpdated]:
    """A shelter reports its total beds."""
    effective = datetime.now(UTC)
    data = CapacityUpdated(
        shelter_id=shelter_id, location=location, beds=beds, effective_at=effective
    )
    return make_envelope(
        data,
        event_id=event_id_for("capacity-updated", shelter_id, effective.isoformat(), str(beds)),
        producer="shelters/1.0",
        correlation_id=shelter_id,
        causation_id=None,
        crossing=None,
    )


def departed(group_id: str, location: str, shelter_id: str) -> Envelope[ShelterDeparted]:
    """A group left its shelter."""
    at = datetime.now(UTC)
    data = ShelterDeparted(
        group_id=group_id, shelter_id=shelter_id, location=location, departed_at=at
    )
    return make_envelope(
        data,
        event_id=event_id_for("shelter-departed", group_id, shelter_id),
        producer="shelters/1.0",
        correlation_id=group_id,
        causation_id=None,
        crossing=None,
    )


def publish(runtime: Runtime, topic: str, envelopes: Iterable[Envelope[Any]]) -> None:
    with EventProducer(runtime.router, client_id="placement-test") as producer:
        for envelope in envelopes:
            producer.publish(topic, envelope)


def events(
    runtime: Runtime,
    topic: str,
    until: Callable[[list[Envelope[Any]]], bool],
    timeout: float = 30.0,
    settle: float = 0.0,
) -> list[Record]:
    """Records of `topic` from the first offset, once `until` holds for their events."""
    return read_topic(
        runtime.settings,
        topic,
        until=lambda records: until([r.event() for r in records]),
        timeout=timeout,
        settle=settle,
    )


def location(service: ServiceProcess, code: str) -> dict[str, Any]:
    response = httpx.get(f"{service.url}/v1/locations/{code}", timeout=5.0)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = 30.0) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except (httpx.HTTPError, KeyError) as exc:
            last = exc
        if last:
            return last  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def same_partition_groups(runtime: Runtime, crossing: str, prefix: str, count: int) -> list[str]:
    """`count` group ids that land on one partition of the crossing's lane.

    Events of one partition keep their order, so the order in which the writer sees
    the groups (and places them) is the order in which they are published.
    """
    first = runtime.topology.lanes[crossing][0]
    found = []
    for number in range(1, 10_000):
        group_id = f"{prefix}-{number:06d}"
        if runtime.router.route("screened", group_id, crossing).partition == first:
            found.append(group_id)
            if len(found) == count:
                return found
    raise AssertionError("no such group ids")
