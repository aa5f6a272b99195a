"""Placement exports each location's daily cap and today's count, as ops see them."""

from __future__ import annotations

from datetime import datetime

import pytest

from services.placement.app import _export_queues
from services.placement.metrics import export_location_figures
from services.placement.ops_view import location_view
from services.runtime import metrics
from tests.unit.placement.command_factories import (
    UNITS,
    Desk,
    arrival,
    later,
    only_shelter,
    set_status,
)
from tests.unit.placement.placement_factories import AFTERNOON


def gauge(name: str, location: str) -> float | None:
    return metrics.REGISTRY.get_sample_value(name, {"location": location})


def juarez_with_a_cap_of_20_and_a_family_of_3_placed() -> Desk:
    desk = Desk()
    desk.run(*only_shelter("CJS", "CJS-S04", 5), set_status("CJS", "elevated", cap=20))
    desk.run(arrival("G-1", 3))
    return desk


def test_the_cap_and_the_count_of_today_are_exported_per_location() -> None:
    desk = juarez_with_a_cap_of_20_and_a_family_of_3_placed()
    export_location_figures(desk.view("CJS"), later(AFTERNOON, hours=1))
    assert gauge("returns_location_daily_cap", "CJS") == 20
    assert gauge("returns_location_placed_today", "CJS") == 3


def test_today_is_the_local_date_so_the_count_starts_again_at_local_midnight() -> None:
    desk = juarez_with_a_cap_of_20_and_a_family_of_3_placed()
    late_evening = AFTERNOON.replace(hour=23, minute=30)  # already the next day in UTC
    export_location_figures(desk.view("CJS"), late_evening)
    assert gauge("returns_location_placed_today", "CJS") == 3
    export_location_figures(desk.view("CJS"), later(late_evening, hours=1))
    assert gauge("returns_location_placed_today", "CJS") == 0
    assert gauge("returns_location_daily_cap", "CJS") == 20


def test_the_writer_exports_them_with_the_queues_for_every_unit_of_its_partition() -> None:
    desk = juarez_with_a_cap_of_20_and_a_family_of_3_placed()
    desk.run(set_status("MTY", "normal", cap=45))
    export_location_figures(desk.view("CJS"), AFTERNOON)  # a stale value, overwritten below
    _export_queues(desk.store, UNITS, UNITS.partition_of(UNITS.unit_of("MTY")))
    assert gauge("returns_location_daily_cap", "MTY") == 45
    _export_queues(desk.store, UNITS, UNITS.partition_of(UNITS.unit_of("CJS")))
    assert gauge("returns_location_daily_cap", "CJS") == 20
    assert gauge("returns_location_placed_today", "CJS") == 0  # placed days ago, not today


@pytest.mark.parametrize(
    "now",
    [
        later(AFTERNOON, hours=1),
        AFTERNOON.replace(hour=23, minute=59),
        later(AFTERNOON.replace(hour=23, minute=59), minutes=2),
        later(AFTERNOON, hours=10),
        later(AFTERNOON, hours=-15),
    ],
)
def test_the_gauges_agree_with_the_view_that_ops_and_the_console_read(now: datetime) -> None:
    desk = juarez_with_a_cap_of_20_and_a_family_of_3_placed()
    desk.run(arrival("G-2", 2, at=later(AFTERNOON, hours=9)))  # the next local day
    state = desk.view("CJS")
    assert sorted(state.locations["CJS"].placements_by_date.values()) == [2, 3]
    export_location_figures(state, now)
    for location in state.locations:
        view = location_view(state, location, now)
        assert gauge("returns_location_daily_cap", location) == view["daily_cap"]
        assert gauge("returns_location_placed_today", location) == view["placed_today"]
