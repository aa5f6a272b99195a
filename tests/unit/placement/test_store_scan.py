"""A worker's unit queues are built from its RocksDB table by a seek to the unit's records.

Iterating the whole table for each unit, as a dict is, cost a restarted worker a walk of
every record per unit; the seek must find exactly the records the walk found.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faust
import pytest
from faust.types import TP

from services.placement.records import group_prefix
from services.placement.store import UnitStore
from services.runtime.stores import store_url, values_with_prefix
from tests.unit.placement.command_factories import (
    REFERENCE,
    UNITS,
    Desk,
    arrival,
    departure,
    later,
    only_shelter,
)
from tests.unit.placement.placement_factories import AFTERNOON

PARTITIONS = 4


@pytest.fixture
def table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    app = faust.App("returns-test", store=store_url({}), datadir=str(tmp_path))
    table = app.Table("placement-state", key_type=str, value_type=bytes, partitions=PARTITIONS)
    actives = {TP(table.changelog_topic.get_topic_name(), p) for p in range(PARTITIONS - 1)}
    monkeypatch.setattr(app.assignor, "assigned_actives", lambda: actives)
    return table


def put(table: Any, partition: int, key: str, value: bytes) -> None:
    """As the writer's table stores it: the key in the table's codec, the value raw."""
    store = table.data
    store._db_for_partition(partition).put(store._encode_key(key), value)


def test_the_seek_finds_the_records_of_the_unit_that_the_walk_finds(table: Any) -> None:
    put(table, 0, "group/CJS/G-2", b"2")
    put(table, 0, "group/CJS/G-1", b"1")
    put(table, 0, "group/CJSX/G-9", b"another unit, whose code starts alike")
    put(table, 0, "unit/CJS", b"the unit value")
    put(table, 1, "group/CJS/G-3", b"3")  # a record on another active partition
    put(table, 1, "group/MTY/G-4", b"4")
    put(table, PARTITIONS - 1, "group/CJS/G-5", b"a partition not assigned here")
    walked = sorted(v for k, v in table.items() if k.startswith("group/CJS/"))
    assert sorted(values_with_prefix(table, "group/CJS/")) == walked == [b"1", b"2", b"3"]


def test_a_dict_is_walked_and_filtered() -> None:
    records = {"group/CJS/G-1": b"1", "group/MTY/G-2": b"2", "unit/CJS": b"u"}
    assert list(values_with_prefix(records, "group/CJS/")) == [b"1"]


def test_queues_built_from_the_rocksdb_table_are_those_of_the_same_records_in_a_dict(
    table: Any,
) -> None:
    desk = Desk()
    desk.run(*only_shelter("CJS", "CJS-S04", 4))
    desk.run(*(arrival(f"G-{n}", 1 + n % 3, at=later(AFTERNOON, minutes=n)) for n in range(12)))
    desk.run(departure("G-0", "CJS", "CJS-S04", at=later(AFTERNOON, minutes=30)))
    for key, value in desk.table.items():
        put(table, UNITS.partition_of(key.split("/")[1]) % (PARTITIONS - 1), key, value)
    seeking = UnitStore(table, REFERENCE, UNITS)  # the table's store seeks
    walking = UnitStore(dict(desk.table), REFERENCE, UNITS)
    queue = [record.group_id for record in seeking.view("CJS").queue("CJS")]
    assert queue == [record.group_id for record in walking.view("CJS").queue("CJS")]
    assert len(queue) > 3  # some wait: the comparison is not of two empty queues
    assert len(list(values_with_prefix(table, group_prefix("CJS")))) == 12
