"""Placement units and their partitions, derived from the shipped reference data and lanes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.placement.routing import anchor_of, placement_units
from services.runtime.topology import TopologyError
from tests.unit.placement.command_factories import REFERENCE, TOPOLOGY, UNITS


def test_nuevo_laredo_matamoros_and_monterrey_share_one_unit_named_after_monterrey() -> None:
    assert {UNITS.unit_of(code) for code in ("NLD", "MAM", "MTY")} == {"MTY"}
    assert UNITS.locations_of("MTY") == ("MAM", "MTY", "NLD")


@pytest.mark.parametrize("code", ["TIJ", "MXL", "NOG", "CJS", "PDS"])
def test_a_location_without_an_alternate_is_a_unit_by_itself(code: str) -> None:
    assert UNITS.unit_of(code) == code
    assert UNITS.locations_of(code) == (code,)


@pytest.mark.parametrize(
    ("location", "lane"),
    [
        ("TIJ", "SAN"),
        ("MXL", "CXL"),
        ("NOG", "OLS"),
        ("CJS", "ELP"),
        ("PDS", "EGP"),
        ("MTY", "MTY"),
    ],
)
def test_a_unit_is_written_on_the_first_partition_of_its_anchor_lane(
    location: str, lane: str
) -> None:
    assert UNITS.partition_of(UNITS.unit_of(location)) == TOPOLOGY.lanes[lane][0]


def test_ciudad_juarez_uses_one_partition_although_el_paso_has_two() -> None:
    assert len(TOPOLOGY.lanes["ELP"]) == 2
    assert UNITS.partition_for("CJS") == TOPOLOGY.lanes["ELP"][0]


def test_laredo_and_brownsville_returns_meet_at_one_writer() -> None:
    assert UNITS.partition_for("NLD") == UNITS.partition_for("MAM") == UNITS.partition_for("MTY")


def test_every_unit_has_its_own_partition() -> None:
    assert len(UNITS.partitions) == len(UNITS.partition_by_unit) == 6
    for partition in UNITS.partitions:
        assert len(UNITS.units_on(partition)) == 1


def test_partitions_follow_the_lanes_when_the_layout_changes() -> None:
    lanes = {**TOPOLOGY.lanes, "ELP": (9, 3), "MTY": (5,), "LRD": (7,)}
    units = placement_units(REFERENCE, replace(TOPOLOGY, lanes=lanes))
    assert (units.partition_for("CJS"), units.partition_for("NLD")) == (9, 5)


def test_a_unit_without_a_lane_stops_the_service_at_start() -> None:
    lanes = {lane: parts for lane, parts in TOPOLOGY.lanes.items() if lane != "MTY"}
    with pytest.raises(TopologyError, match="MTY"):
        placement_units(REFERENCE, replace(TOPOLOGY, lanes=lanes))


def test_an_alternate_anchors_its_own_unit() -> None:
    assert anchor_of(REFERENCE, "MAM") == "MTY"
    assert anchor_of(REFERENCE, "MTY") == "MTY"


def test_an_unknown_location_has_no_unit() -> None:
    with pytest.raises(KeyError):
        UNITS.unit_of("XYZ")
