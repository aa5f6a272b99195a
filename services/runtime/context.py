"""Everything a service needs besides Kafka, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from services.reference import Reference, load_reference
from services.runtime.publishing import Router
from services.runtime.settings import Settings
from services.runtime.topology import Topology, load_topology


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    topology: Topology
    reference: Reference
    router: Router


def location_lanes(reference: Reference) -> dict[str, str]:
    """Location code -> lane: a return point's crossing, or the location itself (MTY)."""
    lanes = {location.code: location.code for location in reference.locations}
    for crossing in reference.crossings:
        lanes[crossing.location] = crossing.code
    return lanes


def build_runtime(settings: Settings | None = None) -> Runtime:
    """Load settings, topology and reference data; raises with a clear message on errors."""
    settings = settings or Settings.from_env()
    topology = load_topology(settings.topology_file)
    reference = load_reference(settings.reference_dir)
    router = Router(settings, topology, location_lanes(reference))
    return Runtime(settings, topology, reference, router)
