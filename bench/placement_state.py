"""What one placement command costs as the state grows: CPU time and bytes written to the table.

    .venv/bin/python bench/placement_state.py                  # 1,000 / 10,000 / 100,000 groups
    .venv/bin/python bench/placement_state.py --sizes 1000 10000 --budget 300 --json out.json

No broker: the writer's loop body (`CommandWriter.handle`, as the app runs it) over a
dict for its table that counts the bytes of every value written (what faust would send
to the changelog). Two locations:

- ``capped``: Ciudad Juárez with a daily cap of 30 and beds to spare, one family every
  second: nearly everybody waits (``DAILY_CAP_REACHED``), so the queue grows with the
  groups;
- ``room``: Tijuana with beds and a cap far above demand: everybody is placed.

The groups are added one command at a time; at each size the figures of the last
``--window`` commands are taken: commands per second of CPU time, bytes written per
command. A scenario stops once its CPU time passes ``--budget`` seconds (the sizes not
reached are shown as such). Then, where the writer keeps its queues in memory, how long
building them from the table takes (a worker taking the unit over).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.placement.commands import (
    Command,
    PlaceGroup,
    SetLocationStatus,
    SetShelterCapacity,
    encode_command,
)
from services.placement.metrics import PlacementCounters
from services.placement.routing import placement_units
from services.placement.store import UnitStore
from services.placement.writer import CommandWriter
from services.reference import load_reference
from services.runtime.settings import Settings
from services.runtime.topology import load_topology

START = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
LOCAL = {"CJS": timezone(timedelta(hours=-7)), "TIJ": timezone(timedelta(hours=-8))}
CROSSING = {"CJS": "ELP", "TIJ": "SAN"}


class CountingTable(dict[str, bytes]):
    """The table, counting the bytes of each value written."""

    def __init__(self) -> None:
        super().__init__()
        self.bytes_written = 0
        self.values_written = 0

    def __setitem__(self, key: str, value: bytes) -> None:
        self.bytes_written += len(value)
        self.values_written += 1
        super().__setitem__(key, value)


@dataclass
class Point:
    groups: int
    commands_per_cpu_second: float
    bytes_per_command: float
    values_per_command: float
    build_cpu_seconds: float
    waiting: int | None = None


@dataclass
class Scenario:
    name: str
    points: list[Point] = field(default_factory=list)
    not_reached: list[int] = field(default_factory=list)
    rebuild_seconds: float | None = None
    rebuilt_waiting: int | None = None


def setup(location: str) -> list[Command]:
    reference = load_reference()
    unit = location
    at = START - timedelta(hours=1)
    cap = 30 if location == "CJS" else 10_000_000
    commands: list[Command] = [
        SetLocationStatus(
            unit=unit,
            issued_at=at,
            location=location,
            security_level="normal",
            daily_cap=cap,
            effective_at=at,
            event_id=f"status-{location}",
        )
    ]
    for shelter in reference.shelters_at(location):
        commands.append(
            SetShelterCapacity(
                unit=unit,
                issued_at=at,
                location=location,
                shelter_id=shelter.id,
                beds=1_000_000,
                effective_at=at,
                event_id=f"capacity-{shelter.id}",
            )
        )
    return commands


def arrivals(location: str) -> Iterator[PlaceGroup]:
    zone = LOCAL[location]
    n = 0
    while True:
        at = START + timedelta(seconds=n)
        size = 1 + n % 4
        yield PlaceGroup(
            unit=location,
            issued_at=at,
            group_id=f"G-{n:07d}",
            crossing=CROSSING[location],
            location=location,
            members=tuple(f"A{n:07d}{i:02d}" for i in range(size)),
            beds=size,
            returned_at=at.astimezone(zone),
            screened_event_id=f"screened-{n:07d}",
        )
        n += 1


async def run(location: str, sizes: list[int], window: int, budget: float) -> Scenario:
    reference = load_reference()
    units = placement_units(reference, load_topology(Settings().topology_file))
    table = CountingTable()
    store = UnitStore(table, reference, units)

    async def emit(emission: Any) -> None:
        return None

    async def flush() -> None:
        return None

    writer = CommandWriter(store, units, PlacementCounters(), emit, flush, "bench/0")
    partition = units.partition_for(location)
    offset = 0
    for command in setup(location):
        await writer.handle(encode_command(command), partition, offset)
        offset += 1
    scenario = Scenario("capped" if location == "CJS" else "room")
    groups = arrivals(location)
    built = 0
    cpu_total = 0.0
    for size in sorted(sizes):
        while built < size - window:
            started = time.process_time()
            await writer.handle(encode_command(next(groups)), partition, offset)
            cpu_total += time.process_time() - started
            offset += 1
            built += 1
            if cpu_total > budget:
                break
        if cpu_total > budget:
            scenario.not_reached += [s for s in sizes if s >= size]
            break
        bytes_before, values_before = table.bytes_written, table.values_written
        started = time.process_time()
        for _ in range(window):
            await writer.handle(encode_command(next(groups)), partition, offset)
            offset += 1
            built += 1
        spent = time.process_time() - started
        cpu_total += spent
        scenario.points.append(
            Point(
                groups=built,
                commands_per_cpu_second=round(window / spent, 1),
                bytes_per_command=round((table.bytes_written - bytes_before) / window),
                values_per_command=round((table.values_written - values_before) / window, 2),
                build_cpu_seconds=round(cpu_total, 1),
                waiting=_waiting(store, location),
            )
        )
        print(f"  {scenario.name} {built}: {scenario.points[-1]}", file=sys.stderr, flush=True)
    if hasattr(store, "queues"):  # the writer keeps its queues in memory: build them anew
        fresh = UnitStore(table, reference, units)
        state = fresh.load(location)
        started = time.process_time()
        queues = fresh.queues(state)
        scenario.rebuild_seconds = round(time.process_time() - started, 2)
        scenario.rebuilt_waiting = sum(len(q) for q in queues.locations.values())
    return scenario


def _waiting(store: UnitStore, location: str) -> int | None:
    state = store.load(location)
    counts = getattr(state, "waiting", None)
    if isinstance(counts, dict):
        return int(counts.get(location, 0))
    queues = getattr(state, "queues", None)
    return None if queues is None else len(queues.get(location, ()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--window", type=int, default=200)
    parser.add_argument("--budget", type=float, default=900.0, help="CPU seconds per scenario")
    parser.add_argument("--only", choices=["capped", "room"])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = []
    for location in ("CJS", "TIJ"):
        if args.only and args.only != ("capped" if location == "CJS" else "room"):
            continue
        results.append(asyncio.run(run(location, args.sizes, args.window, args.budget)))
    print(f"{'scenario':8} {'groups':>8} {'waiting':>8} {'cmd/s':>9} {'B/cmd':>10} {'build s':>8}")
    for scenario in results:
        for p in scenario.points:
            print(
                f"{scenario.name:8} {p.groups:>8} {p.waiting!s:>8} "
                f"{p.commands_per_cpu_second:>9} {p.bytes_per_command:>10} {p.build_cpu_seconds:>8}"
            )
        for size in scenario.not_reached:
            print(f"{scenario.name:8} {size:>8} not reached within {args.budget:.0f} CPU s")
        if scenario.rebuild_seconds is not None:
            print(
                f"{scenario.name:8} queues rebuilt from the table: {scenario.rebuilt_waiting} "
                f"waiting in {scenario.rebuild_seconds} CPU s"
            )
    if args.json:
        args.json.write_text(json.dumps([asdict(s) for s in results], indent=2))


if __name__ == "__main__":
    main()
