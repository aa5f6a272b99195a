"""The due-time indexes, in the heap and on disk: exact to the microsecond, per partition,
rebuilt as they were kept, and the plain heap."""

from __future__ import annotations

import gc
import tracemalloc
import uuid
from collections.abc import Callable, Iterator, MutableMapping
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from services.runtime.due import Deadlines, DueHeap, DueIndex, open_line
from services.runtime.due_on_disk import DeadlinesOnDisk

NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
US = timedelta(microseconds=1)
Table = MutableMapping[str, bytes]
MakeIndex = Callable[[Table], DueIndex]


@pytest.fixture(params=["heap", "disk"])
def make_index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeIndex]:
    made: list[DeadlinesOnDisk] = []

    def make(table: Table) -> DueIndex:
        if request.param == "heap":
            return Deadlines(table)
        made.append(DeadlinesOnDisk(table, tmp_path / f"due-{len(made)}"))
        return made[-1]

    yield make
    for index in made:
        index.close()


def opened(table: Table, index: DueIndex, key: str, partition: int, at: datetime) -> None:
    """What an owner does: the line in the table, then the index told."""
    table[key] = open_line(partition, at)
    index.opened(key, partition, at)


def test_a_key_is_due_at_its_time_to_the_microsecond(make_index: MakeIndex) -> None:
    table: Table = {}
    index = make_index(table)
    opened(table, index, "sub-1", 0, NOON + 500_000 * US)
    assert list(index.due(0, NOON + 499_999 * US)) == []
    assert list(index.due(0, NOON + 500_000 * US)) == ["sub-1"]


def test_a_time_in_another_zone_is_the_same_instant(make_index: MakeIndex) -> None:
    table: Table = {}
    index = make_index(table)
    opened(table, index, "sub-1", 0, NOON.astimezone(timezone(timedelta(hours=-7))))
    assert list(index.due(0, NOON - US)) == []
    assert list(index.due(0, NOON)) == ["sub-1"]


def test_keys_due_together_come_by_key(make_index: MakeIndex) -> None:
    table: Table = {}
    index = make_index(table)
    for key in ("sub-c", "sub-a", "sub-b"):
        opened(table, index, key, 4, NOON)
    found = []
    for key in index.due(4, NOON):
        found.append(key)
        del table[key]
        index.closed(key)
    assert found == ["sub-a", "sub-b", "sub-c"]


def test_a_key_that_moved_to_another_partition_is_due_only_there(make_index: MakeIndex) -> None:
    table: Table = {}
    index = make_index(table)
    opened(table, index, "sub-1", 1, NOON)
    opened(table, index, "sub-1", 2, NOON)  # same time, another partition
    assert list(index.due(1, NOON)) == []
    assert list(index.due(2, NOON)) == ["sub-1"]


def test_an_index_built_from_the_table_finds_what_was_kept_in_step(
    make_index: MakeIndex,
) -> None:
    table: Table = {}
    kept = make_index(table)
    for n, partition in enumerate((0, 1, 0, 1, 0)):
        opened(table, kept, f"sub-{n}", partition, NOON + n * timedelta(minutes=1) + n * US)
    built = make_index(table)
    by = NOON + timedelta(minutes=3, microseconds=3)
    assert list(built.due(0, by)) == list(kept.due(0, by)) == ["sub-0", "sub-2"]
    assert list(built.due(1, by)) == list(kept.due(1, by)) == ["sub-1", "sub-3"]


def test_a_key_left_open_by_the_caller_is_not_due_again_until_a_rebuild(
    make_index: MakeIndex,
) -> None:
    table = {"sub-1": open_line(0, NOON)}
    index = make_index(table)
    assert list(index.due(0, NOON)) == ["sub-1"]
    assert list(index.due(0, NOON)) == []
    index.forget()
    assert list(index.due(0, NOON)) == ["sub-1"]


def test_a_caller_that_stops_early_gets_the_rest_on_its_next_call(make_index: MakeIndex) -> None:
    table: Table = {}
    index = make_index(table)
    for n in range(5):
        opened(table, index, f"sub-{n}", 0, NOON + n * US)
    taken: list[str] = []
    for key in index.due(0, NOON + timedelta(seconds=1)):
        if len(taken) == 2:
            break  # a bounded expiry: the third is not acted on
        taken.append(key)
        del table[key]
        index.closed(key)
    assert taken == ["sub-0", "sub-1"]
    assert list(index.due(0, NOON + timedelta(seconds=1))) == ["sub-2", "sub-3", "sub-4"]


def test_a_key_opened_earlier_than_what_was_already_read_is_still_found(
    make_index: MakeIndex,
) -> None:
    table: Table = {}
    index = make_index(table)
    opened(table, index, "sub-late", 0, NOON + timedelta(minutes=5))
    assert list(index.due(0, NOON + timedelta(minutes=5))) == ["sub-late"]
    del table["sub-late"]
    index.closed("sub-late")
    opened(table, index, "sub-early", 0, NOON)  # before where the last read stopped
    assert list(index.due(0, NOON)) == ["sub-early"]


def test_on_disk_the_index_keeps_nothing_per_key_in_the_heap(tmp_path: Path) -> None:
    table = {str(uuid.uuid4()): open_line(n % 12, NOON + n * US) for n in range(20_000)}
    heap, disk = Deadlines(table), DeadlinesOnDisk(table, tmp_path / "due")
    try:
        kept = {}
        for name, index in (("heap", heap), ("disk", disk)):
            gc.collect()
            tracemalloc.start()
            assert next(iter(index.due(0, NOON))) == next(iter(table))  # built, then used
            gc.collect()
            kept[name] = tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()
    finally:
        disk.close()
    assert kept["heap"] > 2_000_000  # about 100 bytes a key, keys shared with the table
    assert kept["disk"] < 200_000


def test_a_heap_gives_its_keys_back_in_time_order_then_by_key_each_once() -> None:
    heap = DueHeap([(NOON + 2 * US, "late"), (NOON, "b"), (NOON, "a")])
    heap.add("zone", (NOON + US).astimezone(timezone(timedelta(hours=-6))))
    assert heap.pop_due(NOON - US) is None
    assert [heap.pop_due(NOON + 2 * US) for _ in range(4)] == ["a", "b", "zone", "late"]
    assert heap.pop_due(NOON + timedelta(days=1)) is None
    assert heap.next_at() is None


def test_a_heap_hands_out_what_is_due_and_keeps_the_rest_with_its_exact_time() -> None:
    heap = DueHeap()
    for key, minutes in (("m3", 3), ("m1", 1), ("m2", 2)):
        heap.add(key, NOON + timedelta(minutes=minutes) + US)
    due = list(heap.popped_due(NOON + timedelta(minutes=2, microseconds=1)))
    assert due == [(NOON + timedelta(minutes=m) + US, f"m{m}") for m in (1, 2)]
    assert (len(heap), heap.next_at()) == (1, NOON + timedelta(minutes=3) + US)


def test_a_key_added_twice_is_due_twice_for_its_owner_to_tell_apart() -> None:
    heap = DueHeap()
    heap.add("group", NOON)
    heap.add("group", NOON + US)
    assert [key for _, key in heap.popped_due(NOON + US)] == ["group", "group"]
