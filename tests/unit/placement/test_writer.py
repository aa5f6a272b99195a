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
from services.runtime.consume import InvalidEvent
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
    with pytest.raises(InvalidEvent, match="INVALID_COMMAND"):
        await writer.handle(b"{not a command", CJS, 0)
    with pytest.raises(InvalidEvent, match="WRONG_PARTITION"):
        await writer.handle(encode_command(arrival("G-1", 2)), CJS + 1, 0)
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


class CountingTable(dict[str, bytes]):
    """A table that remembers which keys each command wrote, and how many bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[tuple[str, int]] = []

    def __setitem__(self, key: str, value: bytes) -> None:
        self.written.append((key, len(value)))
        super().__setitem__(key, value)


async def juarez_with_a_queue(harness: Harness, waiting: int) -> int:
    """Casa Kolping full (5 beds, a family of 5 placed) and `waiting` families behind it."""
    offset = await setup(harness)
    await harness.handle(arrival("G-0", 5), offset)
    for n in range(1, waiting + 1):
        await harness.handle(arrival(f"G-{n}", 2), offset + n)
    harness.sent.clear()
    return offset + waiting + 1


async def test_a_command_at_a_long_queue_writes_only_the_unit_and_the_groups_it_changed() -> None:
    table = CountingTable()
    harness = Harness(table=table)
    offset = await juarez_with_a_queue(harness, 300)
    table.written.clear()
    await harness.handle(arrival("G-301", 2), offset)
    keys = [key for key, _ in table.written]
    assert keys == ["group/CJS/G-301", "unit/CJS"]
    assert sum(size for _, size in table.written) < 4_000  # not the 300 waiting groups


async def test_a_departure_that_lets_the_queue_in_is_redone_identically_after_any_crash() -> None:
    table = CountingTable()
    clean = Harness(table=table)
    offset = await juarez_with_a_queue(clean, 4)
    table.written.clear()
    await clean.handle(departure("G-0", "CJS", "CJS-S04"), offset)
    expected = [encode(e.envelope) for e in clean.sent]
    assert [e.topic for e in clean.sent] == ["placed", "placed"]  # 2 + 2 of the 5 beds
    assert [key for key, _ in table.written] == [
        "group/CJS/G-0",
        "group/CJS/G-1",
        "group/CJS/G-2",
        "unit/CJS",
    ]
    for persisted in range(len(table.written)):
        harness = Harness()
        await juarez_with_a_queue(harness, 4)
        await harness.crash_after(persisted, departure("G-0", "CJS", "CJS-S04"), offset)
        harness.sent.clear()
        await harness.handle(departure("G-0", "CJS", "CJS-S04"), offset)  # a fresh writer
        assert [encode(e.envelope) for e in harness.sent] == expected
        assert harness.table == clean.table


class FailingTable(dict[str, bytes]):
    """A table whose writes fail after `left` more, until `left` is set to None again."""

    left: int | None = None

    def __setitem__(self, key: str, value: bytes) -> None:
        if self.left is not None:
            if self.left == 0:
                raise Crash(key)
            self.left -= 1
        super().__setitem__(key, value)


async def test_a_writer_whose_write_failed_redoes_the_command_from_its_queues_as_they_were() -> (
    None
):
    clean = Harness()
    offset = await juarez_with_a_queue(clean, 4)
    await clean.handle(departure("G-0", "CJS", "CJS-S04"), offset)

    table = FailingTable()
    harness = Harness(table=table)
    writer = harness.writer()  # one writer throughout: its queues stay in memory
    for n, command in enumerate([*only_shelter("CJS", "CJS-S04", 5), arrival("G-0", 5)]):
        await writer.handle(encode_command(command), CJS, n)
    for n in range(1, 5):
        await writer.handle(encode_command(arrival(f"G-{n}", 2)), CJS, offset - 5 + n)
    harness.sent.clear()
    table.left = 2
    with pytest.raises(Crash):
        await writer.handle(encode_command(departure("G-0", "CJS", "CJS-S04")), CJS, offset)
    table.left = None
    await writer.handle(encode_command(departure("G-0", "CJS", "CJS-S04")), CJS, offset)
    placed = [encode(e.envelope) for e in harness.sent if e.topic == "placed"]
    assert placed[:2] == placed[2:] == [encode(e.envelope) for e in clean.sent[-2:]]
    assert dict(table) == clean.table
