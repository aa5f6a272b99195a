"""The deadline index: the due groups, found without reading the others, across restarts."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, MutableMapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import Envelope, PersonReturned, encode
from services.runtime.due import DueIndex
from services.runtime.due_on_disk import DeadlinesOnDisk, due_index
from services.screening.deadlines import Deadlines, open_line, read_open_line
from services.screening.desk import ScreeningDesk
from services.screening.ruleset import load_rule_set
from tests.unit.screening.factories import published, returned

WINDOW = timedelta(minutes=10)
GRACE = timedelta(seconds=30)
NOON = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


class CountingTable(MutableMapping[str, bytes]):
    """A table that counts how often it is read whole, and which keys are read."""

    def __init__(self) -> None:
        self.rows: dict[str, bytes] = {}
        self.scans = 0
        self.reads: list[str] = []

    def __getitem__(self, key: str) -> bytes:
        self.reads.append(key)
        return self.rows[key]

    def __setitem__(self, key: str, value: bytes) -> None:
        self.rows[key] = value

    def __delitem__(self, key: str) -> None:
        del self.rows[key]

    def __iter__(self) -> Iterator[str]:
        self.scans += 1
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def arrival(number: int, at: datetime, size: int = 2) -> tuple[Envelope[PersonReturned], bytes]:
    record = returned(
        f"A3{number:08d}",
        group_id=f"G-2026-{number:06d}",
        group_size=size,
        submission_id=f"cbp-elp-{number:06d}",
    )
    envelope = published(record, at)
    return envelope, encode(envelope)


class Desk:
    def __init__(self, tables: dict[str, MutableMapping[str, bytes]]) -> None:
        self.sent: list[Envelope[Any]] = []
        self.desk = ScreeningDesk(load_rule_set("2021-12"), WINDOW, tables, self.emit, GRACE)

    async def emit(self, envelope: Envelope[Any]) -> None:
        self.sent.append(envelope)

    def decided(self) -> list[str]:
        return [e.data.group_id for e in self.sent]


def fresh_tables() -> dict[str, MutableMapping[str, bytes]]:
    return {"groups": CountingTable(), "open": CountingTable(), "watermarks": {}}


async def test_a_member_reads_only_the_groups_that_are_due() -> None:
    tables = fresh_tables()
    desk = Desk(tables)
    for number in range(200):  # one group opened every two seconds
        await desk.desk.take_member(*arrival(number, NOON + timedelta(seconds=2 * number)), 0, None)
    groups, open_groups = tables["groups"], tables["open"]
    assert isinstance(groups, CountingTable)
    assert isinstance(open_groups, CountingTable)
    groups.reads.clear()
    # A member arriving when the first three groups' windows (and grace) have run out.
    late = NOON + WINDOW + GRACE + timedelta(seconds=4)
    await desk.desk.take_member(*arrival(900, late), 0, None)
    assert desk.decided() == ["G-2026-000000", "G-2026-000001", "G-2026-000002"]
    # Its own group, then the three due ones: none of the other 197 open groups.
    assert groups.reads == ["G-2026-000900", "G-2026-000000", "G-2026-000001", "G-2026-000002"]
    assert open_groups.scans == 1  # the index was built once, then kept in step


async def test_a_restarted_desk_closes_the_groups_its_predecessor_left_open() -> None:
    tables = fresh_tables()
    before = Desk(tables)
    for number in (5, 3, 8):  # opened out of group-id order
        await before.desk.take_member(*arrival(number, NOON + timedelta(seconds=number)), 1, None)
    await before.desk.take_member(*arrival(7, NOON + timedelta(seconds=9)), 2, None)
    assert before.sent == []
    after = Desk(tables)  # the same tables, recovered from their changelogs
    await after.desk.close_due(1, NOON + WINDOW + GRACE + timedelta(seconds=5))
    assert after.decided() == ["G-2026-000003", "G-2026-000005"]
    await after.desk.close_due(1, NOON + timedelta(hours=1))
    assert after.decided()[2:] == ["G-2026-000008"]  # partition 2's group still waits
    assert list(tables["open"]) == ["G-2026-000007"]


async def test_after_an_assignment_the_index_is_rebuilt_from_the_table() -> None:
    tables = fresh_tables()
    desk = Desk(tables)
    await desk.desk.take_member(*arrival(1, NOON), 0, None)
    # Another worker's group, recovered into the tables when its partition was assigned.
    await Desk(tables).desk.take_member(*arrival(2, NOON - timedelta(minutes=1)), 0, None)
    desk.desk.deadlines.forget()
    await desk.desk.close_due(0, NOON + WINDOW + GRACE)
    assert desk.decided() == ["G-2026-000002", "G-2026-000001"]
    assert dict(tables["open"]) == {}


def test_a_group_whose_first_member_arrived_earlier_moves_up() -> None:
    index = Deadlines({})
    index.opened("G-late", 0, NOON + timedelta(minutes=5))
    index.opened("G-early", 0, NOON + timedelta(minutes=3))
    index.opened("G-late", 0, NOON + timedelta(minutes=1))  # an earlier member came in
    assert list(index.due(0, NOON + timedelta(minutes=2))) == ["G-late"]
    assert list(index.due(0, NOON + timedelta(minutes=9))) == ["G-early"]


def test_the_open_line_reads_back_as_written() -> None:
    due = datetime(2026, 11, 28, 12, 0, 0, 500_000, tzinfo=UTC)
    assert read_open_line(open_line(7, due)) == (7, due)


@st.composite
def operations(draw: st.DrawFn) -> list[tuple[str, str, int, int]]:
    kinds = st.sampled_from(("open", "open", "close", "due", "forget"))
    return draw(
        st.lists(
            st.tuples(kinds, st.sampled_from("ABCDEF"), st.integers(0, 2), st.integers(0, 20)),
            max_size=60,
        )
    )


# An example on disk opens a RocksDB database: its time follows the machine's load.
@settings(deadline=None)
@given(operations(), st.booleans())
def test_the_index_finds_what_scanning_the_table_finds(
    steps: list[tuple[str, str, int, int]], on_disk: bool
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        table: dict[str, bytes] = {}
        index = due_index(table, Path(scratch) / "due" if on_disk else None)
        try:
            follow(steps, table, index)
        finally:
            if isinstance(index, DeadlinesOnDisk):
                index.close()


def follow(
    steps: list[tuple[str, str, int, int]], table: dict[str, bytes], index: DueIndex
) -> None:
    """Each step on the table and the index, each read of the index checked against a scan
    of the table."""
    for kind, group_id, partition, minutes in steps:
        at = NOON + timedelta(minutes=minutes)
        if kind == "open":
            table[group_id] = open_line(partition, at)
            index.opened(group_id, partition, at)
        elif kind == "close":
            table.pop(group_id, None)
            index.closed(group_id)
        elif kind == "forget":
            index.forget()
        else:
            scanned = sorted(
                (due_at, gid)
                for gid, (owner, due_at) in ((g, read_open_line(v)) for g, v in table.items())
                if owner == partition and due_at <= at
            )
            found = []
            for due_group in index.due(partition, at):
                found.append(due_group)
                table.pop(due_group)
                index.closed(due_group)
            assert found == [gid for _, gid in scanned]
