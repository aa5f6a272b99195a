"""Placement's retention: which group records are deleted, when, and what an old input does then.

The writer runs over a plain dict as the app runs it (one store kept between commands,
as the app keeps its in-memory indexes); time is each command's `issued_at`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.placement.commands import Command, PlaceGroup, encode_command
from services.placement.handlers import Emission
from services.placement.metrics import PlacementCounters
from services.placement.records import GROUP_CODEC, GroupRecord, group_key
from services.placement.retention import EXPIRED_PER_COMMAND, UNSTAMPED, Retention
from services.placement.store import UnitStore
from services.placement.writer import CommandWriter
from services.runtime.settings import ConfigurationError
from tests.support.heap import peak_of
from tests.unit.placement.command_factories import (
    PRODUCER,
    REFERENCE,
    UNITS,
    arrival,
    departure,
    only_shelter,
    tick,
)
from tests.unit.placement.placement_factories import AFTERNOON

CJS = UNITS.partition_for("CJS")
KEEP = timedelta(days=35)


def days(n: float) -> datetime:
    return AFTERNOON + timedelta(days=n)


@dataclass
class Writer:
    """Casa Kolping (CJS-S04) with `beds` beds, the other shelters of Ciudad Juárez closed."""

    beds: int = 5
    table: dict[str, bytes] = field(default_factory=dict)
    sent: list[Emission] = field(default_factory=list)
    counters: PlacementCounters = field(default_factory=PlacementCounters)
    offset: int = 0
    stores: list[UnitStore] = field(default_factory=list)

    def __post_init__(self) -> None:
        for command in only_shelter("CJS", "CJS-S04", self.beds):
            self.run(command)
        self.sent.clear()

    @property
    def store(self) -> UnitStore:
        if not self.stores:
            self.stores.append(UnitStore(self.table, REFERENCE, UNITS, Retention(KEEP)))
        return self.stores[0]

    def restart(self) -> None:
        """A new worker: the indexes are built again from the table."""
        self.stores.clear()

    def run(self, command: Command) -> list[Emission]:
        async def emit(emission: Emission) -> None:
            self.sent.append(emission)

        async def flush() -> None:
            return None

        before = len(self.sent)
        writer = CommandWriter(self.store, UNITS, self.counters, emit, flush, PRODUCER)
        asyncio.run(writer.handle(encode_command(command), CJS, self.offset))
        self.offset += 1
        return self.sent[before:]

    def record(self, group_id: str) -> GroupRecord | None:
        raw = self.table.get(group_key("CJS", group_id))
        return None if raw is None else GROUP_CODEC.validate_json(raw)

    def occupied(self) -> int:
        return self.store.load("CJS").locations["CJS"].shelters["CJS-S04"].occupied


def placed_by(emissions: list[Emission]) -> list[str]:
    return [e.envelope.data.group_id for e in emissions if e.topic == "placed"]


def family(group_id: str, size: int = 3, at: datetime = AFTERNOON) -> PlaceGroup:
    return arrival(group_id, size, at=at, decided_at=at - timedelta(seconds=5))


# The rule


def test_waiting_and_placed_records_never_expire_and_ended_ones_a_retention_after() -> None:
    writer = Writer(beds=3)
    writer.run(family("G-1"))  # placed
    writer.run(family("G-2", at=days(1)))  # waits: the beds are taken
    writer.run(departure("G-1", "CJS", "CJS-S04", at=days(2)))  # G-2 placed in its turn
    retention = Retention(KEEP)

    departed, placed = writer.record("G-1"), writer.record("G-2")
    assert departed is not None
    assert placed is not None
    assert (departed.status, placed.status) == ("departed", "placed")
    assert retention.expires_at(departed) == days(2) + KEEP
    assert retention.expires_at(placed) is None
    writer.run(family("G-3", at=days(3)))
    waiting = writer.record("G-3")
    assert waiting is not None
    assert waiting.status == "waiting"
    assert retention.expires_at(waiting) is None


def test_a_record_without_a_change_time_is_due_at_once_to_be_stamped() -> None:
    writer = Writer()
    writer.run(family("G-1"))
    writer.run(departure("G-1", "CJS", "CJS-S04", at=days(1)))
    record = writer.record("G-1")
    assert record is not None
    old = GroupRecord(**{**record.__dict__, "changed_at": None})
    assert Retention(KEEP).expires_at(old) == UNSTAMPED


def test_a_decision_is_forgotten_exactly_a_retention_after_it_was_made() -> None:
    retention = Retention(KEEP)
    assert retention.forgotten(AFTERNOON, AFTERNOON + KEEP)
    assert not retention.forgotten(AFTERNOON, AFTERNOON + KEEP - timedelta(seconds=1))
    assert not retention.forgotten(None, AFTERNOON + 10 * KEEP)  # an older command


def test_the_setting_is_read_and_checked_against_screenings() -> None:
    assert Retention.from_env({}).keep == timedelta(days=35)
    assert Retention.from_env({"RETURNS_PLACEMENT_RETAIN_DAYS": "60"}).keep == timedelta(days=60)
    with pytest.raises(ConfigurationError, match="RETURNS_PLACEMENT_RETAIN_DAYS"):
        Retention.from_env({"RETURNS_PLACEMENT_RETAIN_DAYS": "-1"})
    with pytest.raises(ConfigurationError, match="at least RETURNS_SCREENING_RETAIN_DAYS"):
        Retention.from_env(
            {"RETURNS_PLACEMENT_RETAIN_DAYS": "20", "RETURNS_SCREENING_RETAIN_DAYS": "30"}
        )


# Expiry by the writer


def test_a_departed_groups_record_is_deleted_by_the_first_command_a_retention_after() -> None:
    writer = Writer()
    writer.run(family("G-1"))
    writer.run(departure("G-1", "CJS", "CJS-S04", at=days(1)))

    writer.run(tick("CJS", days(1) + KEEP - timedelta(seconds=1)))
    assert writer.record("G-1") is not None
    writer.run(tick("CJS", days(1) + KEEP))
    assert group_key("CJS", "G-1") not in writer.table


def test_a_waiting_group_is_never_deleted_and_a_placed_one_keeps_its_beds() -> None:
    writer = Writer(beds=3)
    writer.run(family("G-1"))
    writer.run(family("G-2", at=days(1)))  # waits behind G-1's beds
    writer.run(tick("CJS", days(400)))

    waiting, placed = writer.record("G-2"), writer.record("G-1")
    assert waiting is not None
    assert waiting.status == "waiting"
    assert placed is not None
    assert placed.status == "placed"
    assert writer.occupied() == 3
    sent = writer.run(departure("G-1", "CJS", "CJS-S04", at=days(401)))
    assert placed_by(sent) == ["G-2"]  # G-1's beds freed, a year on, and given in turn


def test_expiry_survives_a_restart_the_index_is_built_again_from_the_table() -> None:
    writer = Writer()
    writer.run(family("G-1"))
    writer.run(departure("G-1", "CJS", "CJS-S04", at=days(1)))
    writer.restart()
    writer.run(tick("CJS", days(1) + KEEP))
    assert writer.record("G-1") is None


def test_building_the_indexes_after_a_restart_holds_no_list_of_the_units_records() -> None:
    """A unit of 100,000 groups has about 63,000 records: built from a list of them all,
    the indexes held every record at once (34 MiB of heap for these 20,000)."""
    writer = Writer()
    writer.run(family("G-1"))
    writer.run(departure("G-1", "CJS", "CJS-S04", at=days(1)))
    ended = GROUP_CODEC.validate_json(writer.table[group_key("CJS", "G-1")])
    for n in range(2, 20_002):
        copy = replace(ended, group_id=f"G-{n}")
        writer.table[group_key("CJS", copy.group_id)] = GROUP_CODEC.dump_json(copy)
    writer.restart()
    peak = peak_of(lambda: writer.store.queues(writer.store.load("CJS")))
    assert peak < 8 * 2**20, f"{peak / 2**20:.1f} MiB at the peak"
    writer.run(tick("CJS", days(1) + KEEP))  # and the index found them all
    assert sum(key.startswith("group/CJS/") for key in writer.table) == 20_001 - EXPIRED_PER_COMMAND


def test_a_backlog_is_deleted_a_bounded_number_per_command() -> None:
    writer = Writer(beds=1)
    groups = EXPIRED_PER_COMMAND + 20
    for n in range(groups):  # one an hour, under the daily cap
        writer.run(family(f"G-{n}", size=1, at=days(n / 24)))
        writer.run(departure(f"G-{n}", "CJS", "CJS-S04", at=days(n / 24)))
    ended = sum(key.startswith("group/CJS/") for key in writer.table)
    assert ended == groups

    writer.run(tick("CJS", days(50)))
    assert sum(key.startswith("group/CJS/") for key in writer.table) == 20
    writer.run(tick("CJS", days(50)))
    assert sum(key.startswith("group/CJS/") for key in writer.table) == 0


def test_an_old_record_is_stamped_first_then_deleted_a_retention_later() -> None:
    writer = Writer()
    writer.run(family("G-1"))
    writer.run(departure("G-1", "CJS", "CJS-S04", at=days(1)))
    record = writer.record("G-1")
    assert record is not None
    unstamped = GroupRecord(**{**record.__dict__, "changed_at": None})
    writer.table[group_key("CJS", "G-1")] = GROUP_CODEC.dump_json(unstamped)
    writer.restart()

    writer.run(tick("CJS", days(2)))
    stamped = writer.record("G-1")
    assert stamped is not None
    assert stamped.changed_at == days(2)
    writer.run(tick("CJS", days(2) + KEEP))
    assert writer.record("G-1") is None


# An old input read again


def test_a_decision_read_again_within_the_retention_is_a_duplicate() -> None:
    writer = Writer()
    decision = family("G-1")
    writer.run(decision)
    writer.run(departure("G-1", "CJS", "CJS-S04", at=days(1)))
    writer.run(tick("CJS", days(30)))

    again = writer.run(decision.at(days(30)))  # re-read a month on (a replay)
    assert placed_by(again) == []
    assert writer.occupied() == 0


def test_a_decision_read_again_after_its_record_expired_is_refused_not_placed() -> None:
    writer = Writer()
    decision = family("G-1")
    writer.run(decision)
    writer.run(departure("G-1", "CJS", "CJS-S04", at=days(1)))
    writer.run(tick("CJS", days(1) + KEEP))
    assert writer.record("G-1") is None

    again = writer.run(decision.at(days(1) + KEEP))
    assert placed_by(again) == []
    assert writer.occupied() == 0
    assert writer.counters.rejected["DECISION_BEYOND_RETENTION"] == 1
    assert writer.record("G-1") is None


def test_a_decision_younger_than_the_retention_of_an_unknown_group_is_placed() -> None:
    writer = Writer()
    late = arrival("G-9", 2, at=days(50), decided_at=days(50) - KEEP + timedelta(minutes=1))
    assert placed_by(writer.run(late)) == ["G-9"]


def test_a_departure_read_again_after_expiry_frees_nothing() -> None:
    writer = Writer(beds=3)
    writer.run(family("G-1"))
    left = departure("G-1", "CJS", "CJS-S04", at=days(1))
    writer.run(left)
    writer.run(family("G-2", at=days(2)))  # takes the 3 beds
    writer.run(tick("CJS", days(1) + KEEP))
    assert writer.record("G-1") is None

    writer.run(left.at(days(1) + KEEP))
    assert writer.occupied() == 3  # G-2's beds stay taken
    assert writer.counters.rejected["DEPARTURE_OF_UNPLACED_GROUP"] == 1


# Any history: arrivals, departures, replays of old decisions, time passing


ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["arrive", "depart", "replay"]), st.integers(0, 2)),
        st.tuples(st.just("wait"), st.sampled_from([1, 30, 36])),
    ),
    max_size=30,
)


@settings(max_examples=100, deadline=None)
@given(ACTIONS)
def test_no_decision_is_ever_placed_twice_and_beds_add_up(actions: list[tuple[str, int]]) -> None:
    writer = Writer(beds=4)
    now = AFTERNOON
    decisions: dict[str, PlaceGroup] = {}
    placed: dict[str, list[str]] = {}  # group -> shelters it was placed in, in order
    departed: set[str] = set()
    for action, n in actions:
        group_id = f"G-{n}"
        if action == "wait":
            now += timedelta(days=n)
            writer.run(tick("CJS", now))
            continue
        now += timedelta(minutes=1)
        if action == "arrive" and group_id not in decisions:
            decisions[group_id] = arrival(group_id, 1 + n % 3, at=now, decided_at=now)
            sent = writer.run(decisions[group_id])
        elif action == "replay" and group_id in decisions:
            sent = writer.run(decisions[group_id].at(now))
        elif action == "depart" and group_id in placed and group_id not in departed:
            departed.add(group_id)
            sent = writer.run(departure(group_id, "CJS", placed[group_id][-1], at=now))
        else:
            continue
        for emission in sent:
            if emission.topic == "placed":
                data = emission.envelope.data
                placed.setdefault(data.group_id, []).append(data.shelter_id)

    assert all(len(shelters) == 1 for shelters in placed.values())
    holding = sum(1 + int(g[2:]) % 3 for g in placed if g not in departed)
    assert writer.occupied() == holding
