"""The writer's loop body with a plain dict for its table: crashes, redelivery, bad commands.

A crash is simulated by a table that accepts only the first writes of a command, as a
SIGKILL leaves a prefix of one changelog partition's writes; the command is then
processed again by a fresh writer over what was persisted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from schemas.codec import encode
from services.placement.commands import Command, encode_command
from services.placement.handlers import Emission
from services.placement.metrics import PlacementCounters
from services.placement.store import UnitStore
from services.placement.writer import CommandWriter
from tests.unit.placement.command_factories import (
    PRODUCER,
    REFERENCE,
    UNITS,
    arrival,
    departure,
    only_shelter,
)

CJS = UNITS.partition_for("CJS")


class Crash(Exception):
    pass


class PrefixTable(dict[str, bytes]):
    """A table that 'crashes' once `writes` more values have been written."""

    def __init__(self, contents: dict[str, bytes], writes: int) -> None:
        super().__init__(contents)
        self.left = writes

    def __setitem__(self, key: str, value: bytes) -> None:
        if self.left == 0:
            raise Crash(key)
        self.left -= 1
        super().__setitem__(key, value)


@dataclass
class Harness:
    table: dict[str, bytes] = field(default_factory=dict)
    sent: list[Emission] = field(default_factory=list)
    counters: PlacementCounters = field(default_factory=PlacementCounters)

    def writer(self, table: dict[str, bytes] | None = None) -> CommandWriter:
        async def emit(emission: Emission) -> None:
            self.sent.append(emission)

        async def flush() -> None:
            return None

        store = UnitStore(self.table if table is None else table, REFERENCE, UNITS)
        return CommandWriter(store, UNITS, self.counters, emit, flush, PRODUCER)

    async def handle(
        self, command: Command, offset: int, table: dict[str, bytes] | None = None
    ) -> None:
        await self.writer(table).handle(encode_command(command), CJS, offset)

    async def crash_after(self, writes: int, command: Command, offset: int) -> None:
        """Process `command`, keeping only its first `writes` table writes."""
        partial = PrefixTable(self.table, writes)
        with pytest.raises(Crash):
            await self.handle(command, offset, partial)
        self.table = dict(partial)

    def occupied(self, shelter_id: str) -> int:
        state = UnitStore(self.table, REFERENCE, UNITS).load("CJS")
        return state.locations["CJS"].shelters[shelter_id].occupied


async def setup(harness: Harness) -> int:
    """Casa Kolping with 5 beds, every other shelter of Ciudad Juárez closed; next offset."""
    commands = only_shelter("CJS", "CJS-S04", 5)
    for offset, command in enumerate(commands):
        await harness.handle(command, offset)
    harness.sent.clear()
    return len(commands)


@pytest.mark.parametrize("persisted", [0, 1])
async def test_a_placement_interrupted_before_its_unit_state_is_redone_identically(
    persisted: int,
) -> None:
    harness = Harness()
    offset = await setup(harness)
    family = arrival("G-1", 3)
    await harness.crash_after(persisted, family, offset)
    await harness.handle(family, offset)

    first, again = harness.sent
    assert encode(first.envelope) == encode(again.envelope)  # an identical duplicate
    assert harness.occupied("CJS-S04") == 3


async def test_a_departure_interrupted_after_its_record_still_frees_the_beds_when_redone() -> None:
    harness = Harness()
    offset = await setup(harness)
    await harness.handle(arrival("G-1", 3), offset)
    await harness.crash_after(1, departure("G-1", "CJS", "CJS-S04"), offset + 1)
    await harness.handle(departure("G-1", "CJS", "CJS-S04"), offset + 1)
    assert harness.occupied("CJS-S04") == 0
    assert dict(harness.counters.rejected) == {}


async def test_a_command_redelivered_after_it_was_applied_is_skipped() -> None:
    harness = Harness()
    offset = await setup(harness)
    await harness.handle(arrival("G-1", 3), offset)
    await harness.handle(arrival("G-1", 3), offset)
    assert [e.topic for e in harness.sent] == ["placed"]
    assert harness.counters.duplicates_skipped == 1
    assert harness.occupied("CJS-S04") == 3


async def test_a_reissued_command_for_a_placed_group_emits_nothing() -> None:
    harness = Harness()
    offset = await setup(harness)
    await harness.handle(arrival("G-1", 3), offset)
    await harness.handle(arrival("G-1", 3), offset + 1)  # the input agent forwarded it twice
    assert [e.topic for e in harness.sent] == ["placed"]
    assert harness.occupied("CJS-S04") == 3


async def test_unreadable_or_misaddressed_commands_are_recorded_and_skipped() -> None:
    harness = Harness()
    writer = harness.writer()
    assert await writer.handle(b"{not a command", CJS, 0) is None
    assert await writer.handle(encode_command(arrival("G-1", 2)), CJS + 1, 0) is None
    assert dict(harness.counters.rejected) == {"INVALID_COMMAND": 1, "WRONG_PARTITION": 1}
    assert harness.table == {}


async def test_the_counters_add_up_placements_deferrals_and_groups_that_cannot_be_placed() -> None:
    harness = Harness()
    offset = await setup(harness)
    for n, size in enumerate([3, 3, 9], start=1):
        await harness.handle(arrival(f"G-{n}", size), offset + n)
    counters = harness.counters.snapshot()
    assert counters["placed"] == 1
    assert counters["deferred"] == {"GROUP_EXCEEDS_LARGEST_SHELTER": 1, "NO_SHELTER_CAPACITY": 1}
    assert counters["unplaceable"] == 1
