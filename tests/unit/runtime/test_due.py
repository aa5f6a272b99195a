"""The due-time index: exact to the microsecond, per partition, rebuilt as it was kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from services.runtime.due import Deadlines, open_line

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
