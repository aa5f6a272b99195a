"""The screening desk with in-memory tables: what the agent does, without Kafka.

Arrival times are the `person-returned` envelopes' `occurred_at`: when intake accepted
each record. The records themselves say the people were returned hours earlier.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from schemas import Envelope, PersonReturned, Screened, encode
from services.screening.deadlines import open_line
from services.screening.desk import ScreeningDesk
from services.screening.ruleset import load_rule_set
from tests.unit.screening.factories import published, returned

WINDOW = timedelta(minutes=10)
GRACE = timedelta(seconds=30)
NOON = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # arrivals; returns were on the 27th


class Desk:
    def __init__(self) -> None:
        self.tables: dict[str, dict[str, bytes]] = {"groups": {}, "open": {}, "watermarks": {}}
        self.sent: list[Envelope[Any]] = []
        self.desk = ScreeningDesk(
            load_rule_set("2021-12"),
            WINDOW,
            self.tables,  # type: ignore[arg-type]
            self.emit,
            GRACE,
        )

    async def emit(self, envelope: Envelope[Any]) -> None:
        self.sent.append(envelope)

    async def take(
        self, record: PersonReturned, at: datetime = NOON, partition: int = 3
    ) -> Envelope[PersonReturned]:
        envelope = published(record, at)
        await self.desk.take_member(envelope, encode(envelope), partition, None)
        return envelope

    def decisions(self) -> list[Screened]:
        return [e.data for e in self.sent]


def family(size: int = 3, **overrides: Any) -> list[PersonReturned]:
    kids = [("A212345672", "2015-05-04", "child"), ("A212345673", "2019-01-20", "child")]
    people = [returned("A212345671", group_size=size, **overrides)]
    for case, born, role in kids[: size - 1]:
        people.append(returned(case, born=born, role=role, group_size=size, **overrides))
    return people


def stranger(case_id: str = "A300000001", **overrides: Any) -> PersonReturned:
    return returned(case_id, group_id=f"G-{case_id}", **overrides)


@pytest.fixture
def desk() -> Desk:
    return Desk()


async def test_a_complete_family_is_decided_once_when_its_last_member_arrives(desk: Desk) -> None:
    members = family()
    for member in members[:2]:
        await desk.take(member)
    assert desk.sent == []
    await desk.take(members[2], at=NOON + timedelta(seconds=4))
    [decision] = desk.decisions()
    assert decision.decision == "accepted"
    assert [m.case_id for m in decision.members] == ["A212345671", "A212345672", "A212345673"]
    assert (decision.revision, decision.supersedes) == (1, None)
    assert decision.window is not None
    assert (decision.window.opened_at, decision.window.closed_by) == (NOON, "complete")
    assert decision.window.closed_at == NOON + timedelta(seconds=4)
    assert desk.tables["open"] == {}


async def test_a_repeated_member_does_not_complete_a_group(desk: Desk) -> None:
    first = family()[0]
    for _ in range(3):
        await desk.take(first)
    assert desk.sent == []


async def test_a_recent_return_does_not_close_a_family_submitted_hours_late(desk: Desk) -> None:
    # The family was returned on the 27th, its records reach us at noon on the 28th;
    # a person returned minutes ago arrives between the family's members.
    members = family()
    await desk.take(members[0])
    await desk.take(stranger(returned_at="2026-11-28T04:55:00-07:00"), at=NOON)
    for member in members[1:]:
        await desk.take(member, at=NOON + timedelta(seconds=2))
    family_decisions = [d for d in desk.decisions() if d.group_id == "G-2026-000123"]
    assert [d.decision for d in family_decisions] == ["accepted"]


async def test_the_arrival_watermark_closes_a_group_its_members_left_waiting(desk: Desk) -> None:
    await desk.take(family()[0])
    await desk.take(stranger(), at=NOON + WINDOW + GRACE)
    decided = {d.group_id: d for d in desk.decisions()}
    incomplete = decided["G-2026-000123"]
    assert incomplete.decision == "referred"
    assert [(r.case_id, r.code) for r in incomplete.reasons] == [(None, "GROUP_INCOMPLETE")]
    assert incomplete.window is not None
    assert incomplete.window.closed_by == "window"
    assert incomplete.window.closed_at == NOON + WINDOW + GRACE


async def test_the_window_waits_out_its_grace_for_skewed_intake_clocks(desk: Desk) -> None:
    await desk.take(family()[0])
    await desk.take(stranger(), at=NOON + WINDOW + GRACE - timedelta(seconds=1))
    assert "G-2026-000123" not in {d.group_id for d in desk.decisions()}


async def test_a_clock_tick_closes_a_stalled_partition(desk: Desk) -> None:
    await desk.take(family()[0], partition=9)
    await desk.desk.close_due(9, NOON + WINDOW + GRACE)
    [decision] = desk.decisions()
    assert decision.decision == "referred"


async def test_other_partitions_are_not_closed_by_this_one(desk: Desk) -> None:
    await desk.take(family()[0], partition=9)
    await desk.desk.close_due(3, NOON + WINDOW * 2)
    assert desk.sent == []


async def test_a_late_member_re_decides_the_whole_group(desk: Desk) -> None:
    members = family()
    for member in members[:2]:
        await desk.take(member)
    await desk.desk.close_due(3, NOON + WINDOW * 2)
    [incomplete] = desk.sent
    await desk.take(members[2], at=NOON + WINDOW * 3)
    await desk.take(members[2], at=NOON + WINDOW * 3)  # a redelivered copy changes nothing
    assert len(desk.sent) == 2
    whole = desk.sent[1].data
    assert whole.decision == "accepted"
    assert (whole.supersedes, whole.revision) == (incomplete.event_id, 2)
    assert [m.case_id for m in whole.members] == ["A212345671", "A212345672", "A212345673"]
    assert whole.window == incomplete.data.window  # the first decision's window stands


async def test_a_correction_re_decides_the_group_with_the_corrected_record(desk: Desk) -> None:
    members = family()
    for member in members:
        await desk.take(member)
    [placed_ready] = desk.sent
    mother = members[0]
    correction = returned(
        "A212345671",
        group_size=3,
        pregnant=True,
        submission_id="cbp-elp-2026-11-27-A212345671-fix1",
    ).model_copy(update={"corrects": mother.submission_id})
    await desk.take(correction, at=NOON + timedelta(hours=2))
    corrected = desk.sent[-1].data
    assert corrected.decision == "declined"
    assert corrected.supersedes == placed_ready.event_id
    assert [(r.case_id, r.code) for r in corrected.reasons] == [("A212345671", "PREGNANT")]
    assert len(corrected.members) == 3


async def test_an_original_arriving_after_its_correction_changes_nothing(desk: Desk) -> None:
    [alone] = family(size=1)
    correction = returned("A212345671", submission_id="fix-1", disability=True).model_copy(
        update={"corrects": alone.submission_id}
    )
    await desk.take(correction)
    await desk.take(alone, at=NOON + timedelta(minutes=1))
    assert [d.decision for d in desk.decisions()] == ["declined"]


async def test_a_second_record_of_a_counted_member_does_not_re_decide(desk: Desk) -> None:
    for member in family():
        await desk.take(member)
    other_source = returned(
        "A212345672", born="2015-05-04", role="child", group_size=3, source="inm-desk-cjs"
    )
    await desk.take(other_source, at=NOON + timedelta(minutes=1))
    assert len(desk.sent) == 1


async def test_the_same_members_always_give_the_same_event(desk: Desk) -> None:
    other = Desk()
    for member in family():
        await desk.take(member)
    for member in reversed(family()):
        await other.take(member)
    assert desk.sent[0].event_id == other.sent[0].event_id
    assert desk.sent[0].data == other.sent[0].data


class CountingTable(dict[str, bytes]):
    """A table that counts its writes: each one is a changelog record in the service."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def __setitem__(self, key: str, value: bytes) -> None:
        self.writes += 1
        super().__setitem__(key, value)


async def test_a_member_who_moves_nothing_writes_no_open_line_and_no_watermark() -> None:
    desk = Desk()
    counted = {name: CountingTable() for name in ("groups", "open", "watermarks")}
    desk.tables = counted  # type: ignore[assignment]
    desk.desk = ScreeningDesk(load_rule_set("2021-12"), WINDOW, counted, desk.emit, GRACE)  # type: ignore[arg-type]
    first, second, third = family(size=4)  # three of four: the group stays open
    await desk.take(first, at=NOON + timedelta(minutes=1))
    await desk.take(second, at=NOON + timedelta(minutes=2))  # same window, a later arrival
    assert [counted[name].writes for name in ("groups", "open", "watermarks")] == [2, 1, 2]
    # Read after the others but accepted earlier (another intake worker's clock): the
    # window opens earlier, and the partition's watermark stays where it was.
    await desk.take(third, at=NOON)
    assert [counted[name].writes for name in ("groups", "open", "watermarks")] == [3, 2, 2]
    [(group_id, line)] = counted["open"].items()
    assert line == open_line(3, NOON + WINDOW)
    assert counted["watermarks"]["p3"] == (NOON + timedelta(minutes=2)).isoformat().encode()
    assert desk.sent == []
    # The index follows the line that moved: the group is due a window after NOON, not
    # a window after its first member was read.
    await desk.take(stranger(), at=NOON + WINDOW + GRACE)
    assert sorted(d.group_id for d in desk.decisions()) == sorted([group_id, "G-A300000001"])
