"""Family unity over any interleaving and timing that real upstreams produce.

Many families, their members submitted from several sources hours after their return,
spread over partitions, seconds or minutes apart, with intake workers' clocks a little
apart (less than the grace). Whatever the order:
- every family's live decision (the end of its chain) is `decide_group` over the whole
  family, and every later decision supersedes the one before;
- a family whose members all arrived within its window gets exactly one decision.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import Envelope, PersonReturned, Screened, encode
from services.screening.desk import ScreeningDesk
from services.screening.rules import decide_group
from services.screening.ruleset import load_rule_set
from tests.unit.screening.factories import published, returned

RULES = load_rule_set("2021-12")
WINDOW = timedelta(minutes=10)
GRACE = timedelta(seconds=30)
START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SOURCES = ("cbp-elp", "cbp-elp-batch", "inm-desk-cjs")
BIRTHS = ("1990-04-02", "1958-01-09", "2016-07-30", "2011-03-15", "1987-12-24")
MARKS = ("none", "none", "none", "pregnant", "fear_of_return_to_mexico", "disability")


@dataclass(frozen=True)
class Arrival:
    record: PersonReturned
    arrived_at: datetime
    written_at: datetime  # the intake worker's clock may be behind or ahead, within grace
    partition: int


@st.composite
def family(draw: st.DrawFn, number: int) -> list[Arrival]:
    size = draw(st.integers(1, 4))
    group_id = f"G-2026-{number:06d}"
    source = draw(st.sampled_from(SOURCES))
    partition = draw(st.integers(0, 2))
    hours_late = draw(st.integers(0, 48))
    returned_at = (START - timedelta(hours=hours_late, minutes=7)).isoformat()
    first = START + timedelta(seconds=draw(st.integers(0, 3600)))
    # Most families arrive within seconds; some members straggle in minutes later.
    gaps = draw(
        st.lists(
            st.one_of(st.integers(0, 5), st.integers(0, 25 * 60)),
            min_size=size,
            max_size=size,
        )
    )
    members = []
    at = first
    for index, gap in enumerate(gaps):
        at = at + timedelta(seconds=gap if index else 0)
        mark = draw(st.sampled_from(MARKS))
        record = returned(
            f"A2026{number:03d}{index:02d}",
            born=BIRTHS[index % len(BIRTHS)] if index else "1990-04-02",
            role="head" if index == 0 else "child",
            group_id=group_id,
            group_size=size,
            returned_at=returned_at,
            source=source,
        )
        if mark != "none":
            declared = record.declared.model_copy(update={mark: True})
            record = record.model_copy(update={"declared": declared})
        skew = timedelta(seconds=draw(st.integers(0, int(GRACE.total_seconds()) - 1)))
        members.append(Arrival(record, at, at + skew, partition))
    return members


@st.composite
def traffic(draw: st.DrawFn) -> tuple[list[list[Arrival]], list[Arrival]]:
    families = [draw(family(n)) for n in range(draw(st.integers(1, 8)))]
    by_partition: dict[int, list[Arrival]] = {}
    for arrival in (a for members in families for a in members):
        by_partition.setdefault(arrival.partition, []).append(arrival)
    lanes = [
        sorted(lane, key=lambda a: (a.written_at, a.record.case_id))
        for lane in by_partition.values()
    ]
    # Partitions are read in any interleaving; each one in its own order.
    order = draw(st.permutations([i for i, lane in enumerate(lanes) for _ in lane]))
    cursors = [0] * len(lanes)
    merged = []
    for lane_index in order:
        merged.append(lanes[lane_index][cursors[lane_index]])
        cursors[lane_index] += 1
    return families, merged


def envelope_of(arrival: Arrival) -> Envelope[PersonReturned]:
    record = arrival.record
    return published(record, arrival.arrived_at)


async def screen(merged: list[Arrival]) -> list[Envelope[Any]]:
    sent: list[Envelope[Any]] = []

    async def emit(envelope: Envelope[Any]) -> None:
        sent.append(envelope)

    tables: dict[str, dict[str, bytes]] = {"groups": {}, "open": {}, "watermarks": {}}
    desk = ScreeningDesk(RULES, WINDOW, tables, emit, GRACE)  # type: ignore[arg-type]
    for arrival in merged:
        envelope = envelope_of(arrival)
        await desk.take_member(envelope, encode(envelope), arrival.partition, None)
    for partition in range(3):  # the stream stalls: the clock closes what is left
        await desk.close_due(partition, START + timedelta(days=1))
    return sent


@settings(max_examples=150, deadline=None)
@given(traffic())
def test_every_family_ends_with_one_live_decision_over_all_its_members(
    case: tuple[list[list[Arrival]], list[Arrival]],
) -> None:
    families, merged = case
    sent = asyncio.run(screen(merged))
    for members in families:
        group_id = members[0].record.group_id
        chain = [e for e in sent if e.data.group_id == group_id]
        assert chain, f"{group_id} was never decided"
        for number, (before, after) in enumerate(pairwise(chain), start=2):
            assert after.data.supersedes == before.event_id
            assert after.data.revision == number
        live: Screened = chain[-1].data
        whole = decide_group([m.record for m in members], RULES)
        assert (live.decision, live.members, live.reasons) == (
            whole.decision,
            whole.members,
            whole.reasons,
        )
        opened = min(m.arrived_at for m in members)
        if all(m.arrived_at < opened + WINDOW for m in members):
            assert len(chain) == 1, f"{group_id} arrived within its window but was split"
