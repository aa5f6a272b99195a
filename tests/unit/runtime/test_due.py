"""The due-time index: exact to the microsecond, per partition, rebuilt as it was kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from services.runtime.due import Deadlines, DueHeap, open_line

NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
US = timedelta(microseconds=1)


def test_a_key_is_due_at_its_time_to_the_microsecond() -> None:
    index = Deadlines({})
    index.opened("sub-1", 0, NOON + 500_000 * US)
    assert list(index.due(0, NOON + 499_999 * US)) == []
    assert list(index.due(0, NOON + 500_000 * US)) == ["sub-1"]


def test_a_time_in_another_zone_is_the_same_instant() -> None:
    index = Deadlines({})
    index.opened("sub-1", 0, NOON.astimezone(timezone(timedelta(hours=-7))))
    assert list(index.due(0, NOON - US)) == []
    assert list(index.due(0, NOON)) == ["sub-1"]


def test_keys_due_together_come_by_key() -> None:
    index = Deadlines({})
    for key in ("sub-c", "sub-a", "sub-b"):
        index.opened(key, 4, NOON)
    found = []
    for key in index.due(4, NOON):
        found.append(key)
        index.closed(key)
    assert found == ["sub-a", "sub-b", "sub-c"]


def test_a_key_that_moved_to_another_partition_is_due_only_there() -> None:
    index = Deadlines({})
    index.opened("sub-1", 1, NOON)
    index.opened("sub-1", 2, NOON)  # same time, another partition
    assert list(index.due(1, NOON)) == []
    assert list(index.due(2, NOON)) == ["sub-1"]


def test_an_index_built_from_the_table_finds_what_was_kept_in_step() -> None:
    table: dict[str, bytes] = {}
    kept = Deadlines(table)
    for n, partition in enumerate((0, 1, 0, 1, 0)):
        at = NOON + n * timedelta(minutes=1) + n * US
        table[f"sub-{n}"] = open_line(partition, at)
        kept.opened(f"sub-{n}", partition, at)
    built = Deadlines(table)
    by = NOON + timedelta(minutes=3, microseconds=3)
    assert list(built.due(0, by)) == list(kept.due(0, by)) == ["sub-0", "sub-2"]
    assert list(built.due(1, by)) == list(kept.due(1, by)) == ["sub-1", "sub-3"]


def test_a_key_left_open_by_the_caller_is_not_due_again_until_a_rebuild() -> None:
    table = {"sub-1": open_line(0, NOON)}
    index = Deadlines(table)
    assert list(index.due(0, NOON)) == ["sub-1"]
    assert list(index.due(0, NOON)) == []
    index.forget()
    assert list(index.due(0, NOON)) == ["sub-1"]


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
