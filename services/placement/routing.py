"""Which placement writer owns a location: placement units and their partitions.

A placement unit is a set of locations whose state one writer must change together: a
location and its alternate share a unit (NLD, MAM and MTY form one, because a group
rerouted from NLD or MAM takes beds at MTY). Every other location is a unit by itself.
Each unit has one fixed partition of ``placement-commands``: the first partition of the
lane of its anchor, the location that names the unit (the shared alternate, or the
location itself). Kafka gives a partition to one consumer of the group at a time, so
each unit has exactly one writer. See docs/adr/0005-placement-single-writer.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.reference import Reference
from services.runtime.context import location_lanes
from services.runtime.topology import Topology, TopologyError


def anchor_of(reference: Reference, code: str) -> str:
    """The location that names `code`'s unit: its alternate's anchor, or `code` itself."""
    seen = [code]
    current = reference.location(code)
    while current.alternate is not None:
        if current.alternate in seen:
            raise ValueError(f"alternates of {code} form a cycle: {seen}")
        seen.append(current.alternate)
        current = reference.location(current.alternate)
    return current.code


@dataclass(frozen=True)
class PlacementUnits:
    """Location -> unit, unit -> partition of ``placement-commands``, and back."""

    unit_by_location: Mapping[str, str]
    partition_by_unit: Mapping[str, int]

    def unit_of(self, location: str) -> str:
        """The unit of a known location; `KeyError` for any other code."""
        return self.unit_by_location[location]

    def partition_of(self, unit: str) -> int:
        """The one partition whose consumer is the unit's single writer."""
        return self.partition_by_unit[unit]

    def partition_for(self, location: str) -> int:
        return self.partition_of(self.unit_of(location))

    def locations_of(self, unit: str) -> tuple[str, ...]:
        """The unit's locations, sorted by code."""
        return tuple(sorted(code for code, u in self.unit_by_location.items() if u == unit))

    def units_on(self, partition: int) -> tuple[str, ...]:
        """The units written by the consumer of `partition` (none for most partitions)."""
        return tuple(sorted(u for u, p in self.partition_by_unit.items() if p == partition))

    @property
    def partitions(self) -> frozenset[int]:
        return frozenset(self.partition_by_unit.values())


def placement_units(reference: Reference, topology: Topology) -> PlacementUnits:
    """Derive the units and their partitions from the reference data and the lanes.

    Raises `TopologyError` when an anchor has no lane in the topic layout.
    """
    lanes = location_lanes(reference)
    unit_by_location = {loc.code: anchor_of(reference, loc.code) for loc in reference.locations}
    partition_by_unit: dict[str, int] = {}
    for unit in sorted(set(unit_by_location.values())):
        lane = lanes.get(unit)
        if lane is None or lane not in topology.lanes:
            raise TopologyError(f"placement unit {unit} has no lane in the topic layout")
        partition_by_unit[unit] = topology.lanes[lane][0]
    return PlacementUnits(unit_by_location, partition_by_unit)
