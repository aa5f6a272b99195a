"""The queue gauges follow the queues: how many wait at a location, and for how long the first.

A timer of the app sets them for the units of the partitions the worker owns; a command
sets none of them itself.
"""

from __future__ import annotations

from services.placement.app import _export_queues
from services.runtime import metrics
from tests.unit.placement.command_factories import (
    UNITS,
    Desk,
    arrival,
    departure,
    later,
    only_shelter,
)
from tests.unit.placement.placement_factories import AFTERNOON

JUAREZ = UNITS.partition_of(UNITS.unit_of("CJS"))


def gauge(name: str, location: str) -> float | None:
    return metrics.REGISTRY.get_sample_value(name, {"location": location})


def juarez_with_two_beds_and_three_families_of_two() -> Desk:
    """G-1 takes the two beds; G-2 and G-3 wait, from one and two minutes later."""
    desk = Desk()
    desk.run(*only_shelter("CJS", "CJS-S04", 2))
    desk.run(*(arrival(f"G-{n}", 2, at=later(AFTERNOON, minutes=n - 1)) for n in (1, 2, 3)))
    return desk


def test_the_gauges_give_the_queue_length_and_the_wait_of_its_head() -> None:
    desk = juarez_with_two_beds_and_three_families_of_two()
    _export_queues(desk.store, UNITS, JUAREZ, later(AFTERNOON, minutes=31))
    assert gauge("returns_queue_length", "CJS") == 2
    assert gauge("returns_queue_oldest_wait_seconds", "CJS") == 30 * 60


def test_the_gauges_follow_the_queue_as_groups_leave_it_down_to_zero() -> None:
    desk = juarez_with_two_beds_and_three_families_of_two()
    desk.run(departure("G-1", "CJS", "CJS-S04", at=later(AFTERNOON, minutes=10)))
    _export_queues(desk.store, UNITS, JUAREZ, later(AFTERNOON, minutes=31))
    assert gauge("returns_queue_length", "CJS") == 1  # G-2 took the beds G-1 left
    assert gauge("returns_queue_oldest_wait_seconds", "CJS") == 29 * 60
    desk.run(departure("G-2", "CJS", "CJS-S04", at=later(AFTERNOON, minutes=40)))
    _export_queues(desk.store, UNITS, JUAREZ, later(AFTERNOON, minutes=41))
    assert gauge("returns_queue_length", "CJS") == 0  # not the last length seen
    assert gauge("returns_queue_oldest_wait_seconds", "CJS") == 0


def test_a_partition_sets_only_the_gauges_of_its_own_units() -> None:
    desk = juarez_with_two_beds_and_three_families_of_two()
    other = next(p for p in sorted(UNITS.partitions) if p != JUAREZ)
    _export_queues(desk.store, UNITS, JUAREZ, later(AFTERNOON, minutes=5))
    _export_queues(desk.store, UNITS, other, later(AFTERNOON, minutes=50))
    assert gauge("returns_queue_oldest_wait_seconds", "CJS") == 4 * 60  # as Juarez's set it
