"""Placement on the real broker: queues in arrival order, departures, rerouting, bad input.

Each test has its own topics and runs the placement worker as a real process; it
drives it only through the contract topics and checks what a user sees: the events on
``placed`` and ``placement-deferred`` and the ops view.
"""

from __future__ import annotations

import json

import httpx

from services.runtime.context import Runtime
from services.runtime.publishing import EventProducer
from tests.conftest import StartService
from tests.integration.test_placement_support import (
    CHIHUAHUA,
    COAHUILA,
    TAMAULIPAS,
    accepted,
    capacity,
    departed,
    events,
    location,
    now_in,
    publish,
    same_partition_groups,
    status,
    wait_for,
)
from tests.support.services import ServiceProcess


def test_groups_waiting_for_a_suspended_location_are_placed_in_arrival_order_when_it_reopens(
    runtime: Runtime, start_service: StartService
) -> None:
    placement = start_service("placement")
    publish(runtime, "location-status-changed", [status("CJS", "suspended")])
    wait_for(lambda: location(placement, "CJS")["security_level"] == "suspended", "CJS suspended")

    # Three families returned at El Paso, one after the other.
    arrived = same_partition_groups(runtime, "ELP", "G-2026-ELP", 3)
    returned_at = now_in(CHIHUAHUA)
    sizes = {arrived[0]: 3, arrived[1]: 1, arrived[2]: 2}
    publish(
        runtime,
        "screened",
        [
            accepted(gid, "ELP", [f"A2123{n}{i:03d}" for i in range(size)], returned_at)
            for n, (gid, size) in enumerate(sizes.items(), start=1)
        ],
    )
    deferred = [r.event() for r in events(runtime, "placement-deferred", lambda e: len(e) >= 3)]
    assert [e.data.group_id for e in deferred] == arrived
    assert {e.data.reason for e in deferred} == {"LOCATION_SUSPENDED"}
    assert [e.data.queue_position for e in deferred] == [1, 2, 3]
    view = location(placement, "CJS")
    assert view["queue_length"] == 3
    assert view["oldest_waiting_age_seconds"] is not None
    assert [w["group_id"] for w in view["waiting"]] == arrived
    wait_for(lambda: queue_gauge(placement, "CJS") == 3, "the queue gauge at 3")

    publish(runtime, "location-status-changed", [status("CJS", "normal")])
    placed = [r.event() for r in events(runtime, "placed", lambda e: len(e) >= 3)]

    assert [e.data.group_id for e in placed] == arrived
    since = {e.data.group_id: e.data.deferred_since for e in deferred}
    for event in placed:
        assert event.data.location == "CJS"
        assert event.data.shelter_id.startswith("CJS-S")
        assert event.data.beds == sizes[event.data.group_id]
        assert event.data.deferred_since == since[event.data.group_id]
        assert event.data.transport_required is False
        assert event.data.rerouted_from is None
    view = location(placement, "CJS")
    assert (view["queue_length"], view["placed_today"]) == (0, 6)
    wait_for(lambda: queue_gauge(placement, "CJS") == 0, "the queue gauge back at 0")


def queue_gauge(service: ServiceProcess, code: str) -> float | None:
    """``returns_queue_length`` of location `code` as the worker's ``/metrics`` shows it."""
    sample = f'returns_queue_length{{location="{code}"}} '
    for line in httpx.get(f"{service.url}/metrics", timeout=5.0).text.splitlines():
        if line.startswith(sample):
            return float(line.removeprefix(sample))
    return None


def test_a_departure_frees_beds_for_the_group_waiting_for_them(
    runtime: Runtime, start_service: StartService
) -> None:
    placement = start_service("placement")
    # Piedras Negras after a cut: only 4 beds left, all at Casa del Migrante Frontera Digna.
    publish(
        runtime,
        "capacity-updated",
        [
            capacity("PDS", "PDS-S01", 4),
            capacity("PDS", "PDS-S02", 0),
            capacity("PDS", "PDS-S03", 0),
        ],
    )
    wait_for(lambda: location(placement, "PDS")["free_beds"] == 4, "PDS down to 4 beds")
    returned_at = now_in(COAHUILA)
    family = accepted(
        "G-2026-EGP-000101", "EGP", ["A312000101", "A312000102", "A312000103"], returned_at
    )
    couple = accepted("G-2026-EGP-000102", "EGP", ["A312000201", "A312000202"], returned_at)
    publish(runtime, "screened", [family, couple])

    first = events(runtime, "placed", lambda e: len(e) >= 1)[0].event()
    assert (first.data.group_id, first.data.shelter_id, first.data.beds) == (
        family.data.group_id,
        "PDS-S01",
        3,
    )
    waiting = events(runtime, "placement-deferred", lambda e: len(e) >= 1)[0].event()
    assert (waiting.data.group_id, waiting.data.reason) == (
        couple.data.group_id,
        "NO_SHELTER_CAPACITY",
    )

    _publish_bad_inputs(runtime)
    publish(runtime, "shelter-departed", [departed(family.data.group_id, "PDS", "PDS-S01")])
    placed = [r.event() for r in events(runtime, "placed", lambda e: len(e) >= 2)]
    second = placed[1]
    assert (second.data.group_id, second.data.shelter_id) == (couple.data.group_id, "PDS-S01")
    assert second.data.deferred_since == waiting.data.deferred_since
    rejected = _counters(placement)["rejected"]
    assert rejected["DEPARTURE_OF_UNPLACED_GROUP"] >= 1
    assert rejected["UNKNOWN_SHELTER"] >= 1
    assert rejected["NEGATIVE_BEDS"] >= 1
    shelter = next(
        s for s in location(placement, "PDS")["shelters"] if s["shelter_id"] == "PDS-S01"
    )
    assert (shelter["beds"], shelter["occupied"]) == (4, 2)


def _publish_bad_inputs(runtime: Runtime) -> None:
    """A departure of a group never placed, a shelter that does not exist, negative beds."""
    publish(runtime, "shelter-departed", [departed("G-2026-EGP-999999", "PDS", "PDS-S01")])
    publish(runtime, "capacity-updated", [capacity("PDS", "PDS-S99", 40)])
    negative = capacity("PDS", "PDS-S02", 10).model_dump(mode="json")
    negative["data"]["beds"] = -10
    with EventProducer(runtime.router) as producer:
        producer.publish_bytes("capacity-updated", json.dumps(negative).encode(), "PDS-S02", None)


def _counters(service: ServiceProcess) -> dict[str, object]:
    def rejections_seen() -> dict[str, object] | None:
        body: dict[str, object] = httpx.get(f"{service.url}/v1/placement/counters").json()
        rejected = body["rejected"]
        return body if isinstance(rejected, dict) and len(rejected) >= 3 else None

    return wait_for(rejections_seen, "the three bad inputs to be recorded")


def test_a_group_for_suspended_nuevo_laredo_is_rerouted_to_monterrey_with_transport(
    runtime: Runtime, start_service: StartService
) -> None:
    placement = start_service("placement")
    publish(runtime, "location-status-changed", [status("NLD", "suspended")])
    wait_for(lambda: location(placement, "NLD")["security_level"] == "suspended", "NLD suspended")
    returned_at = now_in(TAMAULIPAS)
    laredo = accepted("G-2026-LRD-000311", "LRD", ["A400311001", "A400311002"], returned_at)
    brownsville = accepted("G-2026-BRO-000312", "BRO", ["A400312001"], returned_at)
    publish(runtime, "screened", [laredo, brownsville])

    placed = {
        r.event().data.group_id: r.event().data
        for r in events(runtime, "placed", lambda e: len(e) >= 2)
    }
    rerouted = placed[laredo.data.group_id]
    assert (rerouted.location, rerouted.rerouted_from, rerouted.transport_required) == (
        "MTY",
        "NLD",
        True,
    )
    assert rerouted.shelter_id == "MTY-S01"  # Casa INDI: the most free beds in Monterrey
    assert (
        placed[brownsville.data.group_id].location,
        placed[brownsville.data.group_id].rerouted_from,
    ) == ("MAM", None)
    monterrey = location(placement, "MTY")
    assert monterrey["placed_today"] == 2
    # Laredo and Brownsville share Monterrey, so one writer holds all three.
    assert {location(placement, code)["unit"] for code in ("NLD", "MAM", "MTY")} == {"MTY"}
    assert httpx.get(f"{placement.url}/v1/locations/XYZ").status_code == 404
