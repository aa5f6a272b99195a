"""Commands, a unit writer over a plain dict, and the shipped reference data, for the unit tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from schemas.envelope import Envelope
from services.placement.commands import (
    CheckLocalDay,
    Command,
    PlaceGroup,
    ReleaseBeds,
    SetLocationStatus,
    SetShelterCapacity,
)
from services.placement.handlers import Emission, Outcome, decide
from services.placement.routing import PlacementUnits, placement_units
from services.placement.store import UnitStore, UnitView
from services.reference import Reference, load_reference
from services.runtime.settings import Settings
from services.runtime.topology import Topology, load_topology
from tests.unit.placement.placement_factories import AFTERNOON, CHIHUAHUA, TAMAULIPAS

REFERENCE: Reference = load_reference()
TOPOLOGY: Topology = load_topology(Settings().topology_file)
UNITS: PlacementUnits = placement_units(REFERENCE, TOPOLOGY)
PRODUCER = "placement/0.1.0"
HOME_OF = {"ELP": "CJS", "LRD": "NLD", "BRO": "MAM", "EGP": "PDS", "SAN": "TIJ"}
ZONE_OF = {"ELP": CHIHUAHUA, "LRD": TAMAULIPAS, "BRO": TAMAULIPAS, "EGP": TAMAULIPAS}


def arrival(
    group_id: str,
    size: int,
    crossing: str = "ELP",
    at: datetime = AFTERNOON,
    returned_at: datetime | None = None,
    decided_at: datetime | None = None,
) -> PlaceGroup:
    """An accepted group of `size` returned at `crossing`, routed to its home's unit
    (decided at `decided_at`, when given)."""
    home = HOME_OF[crossing]
    number = int("".join(ch for ch in group_id if ch.isdigit()) or "0")
    return PlaceGroup(
        unit=UNITS.unit_of(home),
        issued_at=at,
        group_id=group_id,
        crossing=crossing,
        location=home,
        members=tuple(f"A3{number % 100_000:05d}{i:02d}" for i in range(size)),
        beds=size,
        returned_at=returned_at or at.astimezone(ZONE_OF.get(crossing, CHIHUAHUA)),
        screened_event_id=f"screened-{group_id}",
        decided_at=decided_at,
    )


def set_status(
    location: str, level: Any, cap: int = 30, at: datetime = AFTERNOON
) -> SetLocationStatus:
    return SetLocationStatus(
        unit=UNITS.unit_of(location),
        issued_at=at,
        location=location,
        security_level=level,
        daily_cap=cap,
        effective_at=at,
        event_id=f"status-{location}-{level}-{at.isoformat()}",
    )


def set_beds(
    location: str, shelter_id: str, beds: int, at: datetime = AFTERNOON
) -> SetShelterCapacity:
    return SetShelterCapacity(
        unit=UNITS.unit_of(location),
        issued_at=at,
        location=location,
        shelter_id=shelter_id,
        beds=beds,
        effective_at=at,
        event_id=f"capacity-{shelter_id}-{beds}",
    )


def departure(
    group_id: str, location: str, shelter_id: str, at: datetime = AFTERNOON
) -> ReleaseBeds:
    return ReleaseBeds(
        unit=UNITS.unit_of(location),
        issued_at=at,
        group_id=group_id,
        location=location,
        shelter_id=shelter_id,
        event_id=f"departed-{group_id}",
    )


def tick(unit: str, at: datetime) -> CheckLocalDay:
    return CheckLocalDay(unit=unit, issued_at=at)


def only_shelter(location: str, shelter_id: str, beds: int) -> list[SetShelterCapacity]:
    """Capacity updates that leave `shelter_id` with `beds` beds and every other shelter empty."""
    return [
        set_beds(location, s.id, beds if s.id == shelter_id else 0)
        for s in REFERENCE.shelters_at(location)
    ]


@dataclass
class Desk:
    """One writer's decisions over a plain dict, as the app runs them, minus Kafka."""

    table: dict[str, bytes] = field(default_factory=dict)
    offsets: dict[str, int] = field(default_factory=dict)

    stores: list[UnitStore] = field(default_factory=list)

    @property
    def store(self) -> UnitStore:
        """One store for the desk's life: its queues are kept in memory, as the app's are."""
        if not self.stores:
            self.stores.append(UnitStore(self.table, REFERENCE, UNITS))
        return self.stores[0]

    def run(self, *commands: Command) -> list[Emission]:
        emitted: list[Emission] = []
        for command in commands:
            emitted.extend(self.apply(command).emissions)
        return emitted

    def apply(self, command: Command) -> Outcome:
        offset = self.offsets.get(command.unit, -1) + 1
        self.offsets[command.unit] = offset
        store = self.store
        state = store.load(command.unit)
        queues = store.queues(state).locations
        outcome = decide(command, state, queues, offset, store.lookup(state), PRODUCER)
        store.save(outcome, state)
        return outcome

    def view(self, location: str) -> UnitView:
        return self.store.view(UNITS.unit_of(location))


def data(emissions: list[Emission], topic: str) -> list[Any]:
    return [e.envelope.data for e in emissions if e.topic == topic]


def envelopes(emissions: list[Emission]) -> list[Envelope[Any]]:
    return [e.envelope for e in emissions]


def later(moment: datetime, **delta: float) -> datetime:
    return moment + timedelta(**delta)
