"""The queues the writer keeps in memory are the ones its records describe.

The table lists no queue: each waiting group's record holds its place in line. A worker
that starts, or takes a unit over, builds the unit's queues from the records; one that
keeps running keeps them in step with its writes. Both must be the same queues.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.placement import queues
from services.placement.commands import WithdrawGroup
from services.placement.queues import Line
from services.placement.records import GroupRecord, Wait
from services.placement.store import UnitStore
from tests.unit.placement.command_factories import (
    REFERENCE,
    UNITS,
    Desk,
    arrival,
    departure,
    later,
    only_shelter,
    set_status,
    tick,
)
from tests.unit.placement.placement_factories import AFTERNOON


def queue_as_kept(desk: Desk) -> list[tuple[str, str, int, tuple[str, ...]]]:
    return [
        (e.group_id, e.waits.reason, e.waits.bypassed, e.waits.reported)
        for e in desk.view("CJS").queue("CJS")
    ]


def queue_as_rebuilt(desk: Desk) -> list[tuple[str, str, int, tuple[str, ...]]]:
    view = UnitStore(dict(desk.table), REFERENCE, UNITS).view("CJS")
    return [
        (e.group_id, e.waits.reason, e.waits.bypassed, e.waits.reported) for e in view.queue("CJS")
    ]


def withdrawal(group_id: str, at: int) -> WithdrawGroup:
    return WithdrawGroup(
        unit="CJS",
        issued_at=later(AFTERNOON, minutes=at),
        group_id=group_id,
        crossing="ELP",
        location="CJS",
        screened_event_id=f"screened-{group_id}-declined",
        supersedes=f"screened-{group_id}",
    )


@pytest.mark.parametrize("chunk", [3, queues.CHUNK])
def test_the_queues_kept_in_memory_are_those_the_records_rebuild(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queues, "CHUNK", chunk)
    desk = Desk()
    desk.run(*only_shelter("CJS", "CJS-S04", 6), set_status("CJS", "elevated", cap=10))
    sizes = [5, 4, 1, 6, 2, 1, 3, 1, 9, 2]
    desk.run(
        *(arrival(f"G-{n}", size, at=later(AFTERNOON, minutes=n)) for n, size in enumerate(sizes))
    )
    assert queue_as_kept(desk) == queue_as_rebuilt(desk)
    desk.run(departure("G-0", "CJS", "CJS-S04", at=later(AFTERNOON, minutes=20)))
    desk.run(withdrawal("G-3", 21), withdrawal("G-8", 22))
    assert queue_as_kept(desk) == queue_as_rebuilt(desk)
    desk.run(tick("CJS", later(AFTERNOON, days=1)))  # a new local day: the cap starts again
    kept = queue_as_kept(desk)
    assert kept == queue_as_rebuilt(desk)
    assert any(bypassed for _, _, bypassed, _ in kept)  # one was passed for beds
    assert [group for group, *_ in kept] == [
        g for g in [f"G-{n}" for n in range(10)] if g in {k[0] for k in kept}
    ]  # arrival order


def test_the_unit_value_counts_who_waits_so_ticks_skip_idle_units() -> None:
    desk = Desk()
    desk.run(*only_shelter("CJS", "CJS-S04", 2))
    desk.run(arrival("G-1", 2), arrival("G-2", 2, at=later(AFTERNOON, minutes=1)))
    assert desk.store.load("CJS").waiting == {"CJS": 1}
    desk.run(departure("G-1", "CJS", "CJS-S04", at=later(AFTERNOON, minutes=2)))
    assert desk.store.load("CJS").waiting == {}


def waiting_record(sequence: int, version: int = 0) -> GroupRecord:
    wait = Wait(sequence, "ELP", AFTERNOON, AFTERNOON, "DAILY_CAP_REACHED", bypassed=version)
    return GroupRecord(
        group_id=f"G-{sequence}",
        unit="CJS",
        status="waiting",
        home="CJS",
        beds=2,
        screened_event_id=f"screened-G-{sequence}",
        written_offset=sequence,
        wait=wait,
    )


line_ops = st.lists(
    st.tuples(st.sampled_from(["append", "put", "pop", "copy"]), st.integers(0, 10_000)),
    max_size=80,
)


@given(st.integers(0, 12), line_ops)
def test_a_line_in_chunks_behaves_as_a_list_and_its_copies_leave_it_alone(
    start: int, ops: list[tuple[str, int]]
) -> None:
    original = [waiting_record(n) for n in range(start)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(queues, "CHUNK", 3)
        line = Line(original)
        kept = Line(original)
        model = list(original)
        following = start
        for op, n in ops:
            if op == "append":
                line.append(waiting_record(following))
                model.append(waiting_record(following))
                following += 1
            elif op == "copy":
                kept, line = line, line.copy()
                original = list(model)
            elif model and op == "put":
                at = n % len(model)
                model[at] = replace(model[at], written_offset=-1)
                line.put(at, model[at])
            elif model and op == "pop":
                at = n % len(model)
                assert line.pop(at) == model.pop(at)
            assert list(line) == model
            assert len(line) == len(model)
            assert [line[i] for i in range(len(line))] == model
            assert all(
                line.position(r.group_id, r.waits.sequence) == i for i, r in enumerate(model)
            )
            assert list(kept) == original  # the line it was copied from is untouched
