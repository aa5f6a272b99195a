"""The batched publisher: table writes flushed once per batch, before any of its sends."""

from __future__ import annotations

import asyncio

import pytest

from services.notify.publisher import BatchedPublisher


class Broker:
    """Records flushes and sends in order; a flush takes `flush_seconds`."""

    def __init__(self, flush_seconds: float = 0.0, fail: bool = False) -> None:
        self.log: list[str] = []
        self.flush_seconds = flush_seconds
        self.fail = fail

    async def flush(self) -> None:
        self.log.append("flush")
        await asyncio.sleep(self.flush_seconds)
        if self.fail:
            raise ConnectionError("broker gone")

    async def send(self, item: str) -> None:
        self.log.append(item)


def test_hand_overs_made_during_a_flush_share_the_next_one_and_keep_their_order() -> None:
    broker = Broker(flush_seconds=0.05)

    async def run() -> list[asyncio.Future[None]]:
        publisher = BatchedPublisher(broker.flush, broker.send)
        first = await publisher.publish(["a1", "a2"])
        await asyncio.sleep(0.01)  # the first flush is under way
        later = [await publisher.publish([f"{n}"]) for n in "bcd"]
        await asyncio.gather(first, *later)
        await publisher.stop()
        return [first, *later]

    futures = asyncio.run(run())
    assert broker.log == ["flush", "a1", "a2", "flush", "b", "c", "d"]
    assert all(f.done() and f.exception() is None for f in futures)


def test_nothing_to_send_is_done_at_once_without_a_flush() -> None:
    broker = Broker()

    async def run() -> bool:
        publisher = BatchedPublisher(broker.flush, broker.send)
        return (await publisher.publish([])).done()

    assert asyncio.run(run())
    assert broker.log == []


def test_a_failed_flush_fails_its_batch_and_sends_nothing() -> None:
    broker = Broker(fail=True)

    async def run() -> None:
        publisher = BatchedPublisher(broker.flush, broker.send)
        sent = await publisher.publish(["a"])
        try:
            await sent
        finally:
            await publisher.stop()

    with pytest.raises(ConnectionError):
        asyncio.run(run())
    assert broker.log == ["flush"]
