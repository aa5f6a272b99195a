"""Given events whose work (sends, deliveries) completes, fails or is abandoned, then each
is acked in offset order once its work is done, and never when it failed or was
abandoned; a failure stops the worker."""

from __future__ import annotations

import asyncio

from services.notify.settling import Settler
from services.runtime.ordered import SettlementWindow


class Acks:
    def __init__(self) -> None:
        self.acked: list[str] = []
        self.stuck: list[BaseException] = []
        self.settler: Settler[str] = Settler(SettlementWindow(self.acked.append), self.stuck.append)


async def settled() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_an_event_without_work_is_acked_at_once_and_others_wait_for_theirs() -> None:
    acks = Acks()
    sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    first = acks.settler.track("p0", 1, "e1")
    acks.settler.settle_when(first, [sent])
    second = acks.settler.track("p0", 2, "e2")
    acks.settler.settle_when(second, [])
    await settled()
    assert acks.acked == []  # e2 has nothing to do, but waits for e1 before it

    sent.set_result(None)
    await settled()
    assert acks.acked == ["e1", "e2"]


async def test_an_event_waits_for_all_of_its_work() -> None:
    acks = Acks()
    loop = asyncio.get_running_loop()
    one, two = loop.create_future(), loop.create_future()
    acks.settler.settle_when(acks.settler.track("p0", 1, "e1"), [one, two])
    one.set_result(None)
    await settled()
    assert acks.acked == []
    two.set_result(None)
    await settled()
    assert acks.acked == ["e1"]


async def test_failed_work_holds_the_event_and_those_after_it_and_stops_the_worker() -> None:
    acks = Acks()
    loop = asyncio.get_running_loop()
    failed, fine = loop.create_future(), loop.create_future()
    acks.settler.settle_when(acks.settler.track("p0", 1, "e1"), [failed])
    acks.settler.settle_when(acks.settler.track("p0", 2, "e2"), [fine])
    failed.set_exception(ConnectionError("broker gone"))
    fine.set_result(None)
    await settled()
    assert acks.acked == []
    assert [type(e) for e in acks.stuck] == [ConnectionError]


async def test_abandoned_work_holds_the_event_without_stopping_the_worker() -> None:
    acks = Acks()
    abandoned: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    acks.settler.settle_when(acks.settler.track("p0", 1, "e1"), [abandoned])
    acks.settler.settle_when(acks.settler.track("p1", 1, "other partition"), [])
    abandoned.cancel()
    await settled()
    assert acks.acked == ["other partition"]
    assert acks.stuck == []
