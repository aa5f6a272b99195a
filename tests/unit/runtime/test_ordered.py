"""The settlement window: events are acked in offset order, whatever order they settle in.

The last tests drive faust's own commit bookkeeping (`Consumer._new_offset`) to show why
notify needs the window: fed out-of-order acks, faust commits past an unacked event.
The last ones drive `contiguous`, the loop every agent uses, over a fake partition.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from types import SimpleNamespace
from typing import Any, cast

import pytest
from faust.transport.consumer import Consumer
from faust.types import TP
from hypothesis import given
from hypothesis import strategies as st
from intervaltree import IntervalTree

from services.runtime import ordered
from services.runtime.ordered import SettlementWindow, contiguous
from tests.unit.runtime.fake_partition import TP0, FakeLog

TP1 = TP("legal-aid-requested", 9)


def window() -> tuple[SettlementWindow[str], list[str]]:
    acked: list[str] = []
    return SettlementWindow(acked.append), acked


def test_an_event_with_nothing_to_deliver_is_acked_at_once() -> None:
    w, acked = window()
    w.track(TP0, 0, "e0", pending=0)
    assert acked == ["e0"]


def test_an_event_settled_early_waits_for_the_events_before_it() -> None:
    w, acked = window()
    first = w.track(TP0, 10, "e10", pending=1)
    second = w.track(TP0, 11, "e11", pending=2)
    w.settle(second)
    w.settle(second)
    assert acked == []
    assert w.oldest_unsettled() == {TP0: 10}
    w.settle(first)
    assert acked == ["e10", "e11"]
    assert w.waiting() == {}


def test_partitions_do_not_wait_for_each_other() -> None:
    w, acked = window()
    w.track(TP0, 5, "p3-5", pending=1)
    w.track(TP1, 7, "p9-7", pending=0)
    assert acked == ["p9-7"]


def test_a_held_event_blocks_its_partition_for_good() -> None:
    w, acked = window()
    stuck = w.track(TP0, 1, "e1", pending=1)
    w.hold(stuck)
    w.settle(stuck)
    w.track(TP0, 2, "e2", pending=0)
    assert acked == []
    assert w.waiting() == {TP0: 2}


def test_reading_a_partition_again_from_an_earlier_offset_drops_the_older_entries() -> None:
    w, acked = window()
    old = w.track(TP0, 20, "old-20", pending=1)
    w.track(TP0, 20, "new-20", pending=1)
    w.settle(old)  # the delivery of the dropped entry settles late: nothing to ack
    assert acked == []
    assert w.waiting() == {TP0: 1}


def test_events_let_go_are_dropped_and_never_acked() -> None:
    dropped: list[str] = []
    w: SettlementWindow[str] = SettlementWindow(lambda token: None, drop=dropped.append)
    w.track(TP0, 10, "e10", pending=1)
    w.track(TP0, 11, "e11", pending=1)
    w.track(TP0, 10, "e10 again", pending=1)  # read again from 10
    w.track(TP1, 3, "e3", pending=1)
    w.forget([TP1])
    w.refuse("e12")
    assert dropped == ["e10", "e11", "e3", "e12"]


def test_forgotten_partitions_are_never_acked() -> None:
    w, acked = window()
    entry = w.track(TP0, 3, "e3", pending=1)
    w.forget([TP0])
    w.settle(entry)
    assert (acked, w.waiting()) == ([], {})


class FaustBookkeeping:
    """faust's per-partition commit bookkeeping (its real `_new_offset`), for one partition."""

    def __init__(self) -> None:
        self.state: Any = SimpleNamespace(
            _acked=defaultdict(list),
            _acked_index=defaultdict(set),
            _gap=defaultdict(IntervalTree),
            _committed_offset=defaultdict(lambda: None),
        )

    def ack(self, offset: int) -> None:
        """What `Consumer.ack` records for an acked message."""
        committed = self.state._committed_offset[TP0]
        if committed is None or offset >= committed:
            self.state._acked[TP0].append(offset)
            self.state._acked_index[TP0].add(offset)

    def commit(self) -> int | None:
        """The offset faust would commit now, recorded as committed."""
        offset = Consumer._new_offset(self.state, TP0)
        if offset is not None:
            self.state._committed_offset[TP0] = offset
        committed: int | None = self.state._committed_offset[TP0]
        return committed


def test_faust_commits_past_an_unacked_event_when_acks_arrive_out_of_order() -> None:
    # Why the window exists: offsets 0..9 committed, 10 still being delivered, 11 acked.
    faust = FaustBookkeeping()
    for offset in range(10):
        faust.ack(offset)
    assert faust.commit() == 10
    faust.ack(11)
    assert faust.commit() == 12  # offset 10 is skipped by a crash from now on


@given(st.permutations(range(12)), st.integers(min_value=0, max_value=11))
def test_through_the_window_faust_never_commits_past_an_unsettled_event(
    settle_order: list[int], settled_before_a_crash: int
) -> None:
    faust = FaustBookkeeping()
    w: SettlementWindow[int] = SettlementWindow(faust.ack)
    entries = [w.track(TP0, offset, offset, pending=1) for offset in range(12)]
    settled = set()
    for offset in settle_order[:settled_before_a_crash]:
        w.settle(entries[offset])
        settled.add(offset)
        committed = faust.commit() or 0
        unsettled = [o for o in range(12) if o not in settled]
        assert committed <= (min(unsettled) if unsettled else 12)


def gapped_window(committed: int | None) -> tuple[SettlementWindow[str], list[tuple[Any, int]]]:
    rereads: list[tuple[Any, int]] = []
    w: SettlementWindow[str] = SettlementWindow(
        lambda token: None,
        committed=lambda partition: committed,
        on_gap=lambda partition, offset: rereads.append((partition, offset)),
    )
    return w, rereads


def test_offsets_that_follow_the_committed_one_are_admitted() -> None:
    w, rereads = gapped_window(committed=10)
    assert [w.admit(TP0, offset) for offset in (10, 11, 12)] == [True, True, True]
    assert rereads == []


def test_a_skipped_offset_stops_the_partition_and_has_it_read_again_once() -> None:
    w, rereads = gapped_window(committed=10)
    assert w.admit(TP0, 10)
    assert [w.admit(TP0, offset) for offset in (12, 13)] == [False, False]
    assert rereads == [(TP0, 11)]
    assert [w.admit(TP0, offset) for offset in (11, 12, 13)] == [True, True, True]


def test_a_first_event_past_the_committed_offset_is_a_gap_too() -> None:
    w, rereads = gapped_window(committed=10)
    assert not w.admit(TP0, 11)
    assert rereads == [(TP0, 10)]


def test_without_a_known_committed_offset_the_first_event_starts_the_count() -> None:
    w, rereads = gapped_window(committed=None)
    assert w.admit(TP0, 7)
    assert w.admit(TP0, 8)
    assert (w.admit(TP1, 0), rereads) == (True, [])


def test_reading_again_from_an_earlier_offset_is_admitted() -> None:
    w, rereads = gapped_window(committed=None)
    assert w.admit(TP0, 20)
    assert w.admit(TP0, 21)
    assert w.admit(TP0, 20)  # a rebalance or our own re-read
    assert rereads == []


def test_offsets_deleted_by_retention_are_not_waited_for() -> None:
    w, rereads = gapped_window(committed=10)
    assert not w.admit(TP0, 50)
    w.resume_from(TP0, 40)  # the log now starts at 40
    assert (w.rewinding(TP0), w.admit(TP0, 50)) == (40, False)
    assert [w.admit(TP0, offset) for offset in (40, 41)] == [True, True]
    assert (w.rewinding(TP0), rereads) == (None, [(TP0, 10)])


async def consume_async(log: FakeLog) -> None:
    async for _ in contiguous(cast(Any, log), cast(Any, log)):
        pass


def consume(log: FakeLog, fail_at: int | None = None) -> list[int]:
    handled: list[int] = []

    async def agent() -> None:
        async for event in contiguous(cast(Any, log), cast(Any, log)):
            if event.message.offset == fail_at:
                raise RuntimeError("the agent's body failed")
            handled.append(event.message.offset)

    async def run() -> None:
        with contextlib.suppress(RuntimeError):
            await asyncio.wait_for(agent(), timeout=5)

    asyncio.run(run())
    return handled


def test_an_agent_never_handles_an_offset_past_one_faust_skipped() -> None:
    log = FakeLog([0, 1, 3], end=5, committed=0)
    assert consume(log) == [0, 1, 2, 3, 4]
    assert (log.seeks, log.read_offsets, log.acked) == ([2], [2], [0, 1, 2, 3, 4])
    assert not log.unacked  # the refused copy of 3 is let go: a rebalance need not wait


def test_an_event_whose_handling_failed_is_not_acked_nor_anything_after_it() -> None:
    log = FakeLog([0, 1, 2], end=3, committed=0)
    log.queue.put_nowait(None)
    assert consume(log, fail_at=1) == [0]
    assert log.acked == [0]


def test_a_partition_whose_committed_offset_retention_deleted_goes_on_from_its_start() -> None:
    log = FakeLog([8, 9], end=10, start=8, committed=5)  # down longer than the retention
    assert consume(log) == [8, 9]
    assert (log.seeks, log.acked) == ([8], [8, 9])


def test_with_nothing_committed_a_partition_is_read_from_its_first_offset() -> None:
    # A worker killed before its first commit: its successor must start at the log's
    # start, and faust handing it the partition from further on is a hole.
    log = FakeLog([5, 6], end=7, start=0, committed=None)
    assert consume(log) == [0, 1, 2, 3, 4, 5, 6]
    assert (log.seeks, log.acked) == ([0], [0, 1, 2, 3, 4, 5, 6])


def test_records_faust_read_but_never_handed_over_are_read_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The last records of a partition dropped during a rebalance: no later record shows
    # the hole, but faust's read offset is past what the agent expects.
    monkeypatch.setattr(ordered, "WATCH_SECONDS", 0.01)
    log = FakeLog([], end=2, start=0, committed=None)
    log.read_offset[TP0] = 1
    assert consume(log) == [0, 1]
    assert log.seeks == [0]


def test_an_idle_partition_read_up_to_its_end_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # After a rebalance faust's read offset is the committed offset: nothing is lost.
    monkeypatch.setattr(ordered, "WATCH_SECONDS", 0.01)
    log = FakeLog([], end=2, start=0, committed=2)
    log.read_offset[TP0] = 2

    async def run() -> None:
        agent = asyncio.ensure_future(consume_async(log))
        await asyncio.sleep(0.2)
        agent.cancel()

    asyncio.run(run())
    assert log.seeks == []


def test_a_partition_faust_left_out_of_fetching_is_put_back_and_read_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ordered, "WATCH_SECONDS", 0.01)
    log = FakeLog([], end=3, start=0, committed=1)
    log.active.clear()  # taken out while a buffer was full, never put back
    assert consume(log) == [1, 2]
    assert (log.resumed, log.seeks) == ([TP0], [1])
