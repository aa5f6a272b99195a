"""The screening desk with in-memory tables: what the agent does, without Kafka."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from schemas import Envelope, PersonReturned, Screened, encode, event_id_for, make_envelope
from services.screening.desk import ScreeningDesk
from services.screening.ruleset import load_rule_set
from tests.unit.screening.factories import returned

WINDOW = timedelta(minutes=10)


class Desk:
    def __init__(self) -> None:
        self.tables: dict[str, dict[str, bytes]] = {"pending": {}, "decided": {}, "watermarks": {}}
        self.sent: list[Envelope[Any]] = []
        self.desk = ScreeningDesk(load_rule_set("2021-12"), WINDOW, self.tables, self.emit)  # type: ignore[arg-type]

    async def emit(self, envelope: Envelope[Any]) -> None:
        self.sent.append(envelope)

    async def take(self, record: PersonReturned, partition: int = 3) -> Envelope[PersonReturned]:
        envelope = make_envelope(
            record,
            event_id=event_id_for("person-returned", record.source, record.submission_id),
            producer="intake/0.1.0",
            correlation_id=record.group_id,
            causation_id=None,
            crossing=record.crossing,
        )
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


@pytest.fixture
def desk() -> Desk:
    return Desk()


async def test_a_complete_family_is_decided_once_when_its_last_member_arrives(desk: Desk) -> None:
    members = family()
    for member in members[:2]:
        await desk.take(member)
    assert desk.sent == []
    await desk.take(members[2])
    [decision] = desk.decisions()
    assert decision.decision == "accepted"
    assert [m.case_id for m in decision.members] == ["A212345671", "A212345672", "A212345673"]
    assert desk.tables["pending"] == {}


async def test_a_repeated_member_does_not_complete_a_group(desk: Desk) -> None:
    first = family()[0]
    for _ in range(3):
        await desk.take(first)
    assert desk.sent == []


async def test_the_event_time_watermark_closes_a_group_its_members_left_waiting(desk: Desk) -> None:
    await desk.take(family()[0])
    later = returned("A300000001", group_id="G-LATER", returned_at="2026-11-27T16:09:00-07:00")
    await desk.take(later)
    decided = {d.group_id: d for d in desk.decisions()}
    assert decided["G-2026-000123"].decision == "referred"
    assert [(r.case_id, r.code) for r in decided["G-2026-000123"].reasons] == [
        (None, "GROUP_INCOMPLETE")
    ]


async def test_the_wall_clock_closes_a_stalled_partition(desk: Desk) -> None:
    await desk.take(family()[0], partition=9)
    await desk.desk.close_due(9, None, datetime.now(UTC) + WINDOW + timedelta(seconds=1))
    [decision] = desk.decisions()
    assert decision.decision == "referred"


async def test_other_partitions_are_not_closed_by_this_one(desk: Desk) -> None:
    await desk.take(family()[0], partition=9)
    await desk.desk.close_due(3, None, datetime.now(UTC) + WINDOW * 2)
    assert desk.sent == []


async def test_a_late_member_gets_its_own_decision_pointing_at_the_group(desk: Desk) -> None:
    members = family()
    for member in members[:2]:
        await desk.take(member)
    await desk.desk.close_due(3, None, datetime.now(UTC) + WINDOW * 2)
    [group] = desk.sent
    await desk.take(members[2])
    await desk.take(members[2])  # a redelivered copy is not decided again
    assert len(desk.sent) == 2
    late = desk.sent[1].data
    assert late.decided_after == group.event_id
    assert [m.case_id for m in late.members] == ["A212345673"]


async def test_the_same_members_always_give_the_same_event(desk: Desk) -> None:
    other = Desk()
    for member in family():
        await desk.take(member)
    for member in reversed(family()):
        await other.take(member)
    assert desk.sent[0].event_id == other.sent[0].event_id
    assert desk.sent[0].data == other.sent[0].data
