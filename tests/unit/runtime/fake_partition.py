"""One partition as faust hands it to an agent's stream, for the offset guard's tests
and the consuming loop's: records, seeks, acks and the consumer internals the guard reads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace

from faust.types import TP

TP0 = TP("legal-aid-requested", 3)


class FakeMessage:
    def __init__(self, offset: int) -> None:
        self.tp, self.offset, self.generation_id, self.acked = TP0, offset, 1, False
        self.topic, self.partition, self.headers = TP0.topic, TP0.partition, []
        self.key, self.value = None, b"record %d" % offset


class FakeEvent:
    def __init__(self, log: FakeLog, offset: int) -> None:
        self.log = log
        self.message = FakeMessage(offset)
        log.unacked.add(self.message)

    def ack(self) -> None:
        self.log.acked.append(self.message.offset)
        self.log.unacked.discard(self.message)


class FakeLog:
    """One partition as faust hands it to a stream: `first` records, then what a seek
    reads, up to `end`; offsets before `start` are gone."""

    def __init__(
        self, first: list[int], end: int, *, start: int = 0, committed: int | None
    ) -> None:
        self.queue: asyncio.Queue[int | None] = asyncio.Queue()
        for offset in first:
            self.queue.put_nowait(offset)
        self.end, self.start = end, start
        self.acked: list[int] = []
        self.seeks: list[int] = []
        self.read_offsets: list[int] = []
        self.unacked: set[FakeMessage] = set()  # what faust waits for on a rebalance
        self.read_offset: dict[TP, int] = {}  # the last offset faust read, per partition
        self.rebalancing = False
        self.active: set[TP] = {TP0}  # the partitions faust's fetch loop hands over
        self.resumed: list[TP] = []
        self.channel = SimpleNamespace(topics=[TP0.topic])
        self.consumer_generation_id = 1
        self.consumer = SimpleNamespace(
            _committed_offset={TP0: committed},
            seek_wait=self.seek_wait,
            seek=self.seek,
            _unacked_messages=self.unacked,
            _read_offset=self.read_offset,
            assignment=lambda: [TP0],
            highwater=lambda tp: self.end,
            resume_partitions=self.resumed.extend,
            _active_partitions=self.active,
            _paused_partitions=set(),
            _buffered_partitions=set(),
            earliest_offsets=self.earliest_offsets,
        )
        self.on_partitions_revoked = SimpleNamespace(connect=lambda handler: handler)

    async def seek_wait(self, offsets: dict[TP, int]) -> None:
        self.seeks.append(offsets[TP0])
        for offset in range(offsets[TP0], self.end):
            self.queue.put_nowait(offset)
        self.queue.put_nowait(None)

    async def seek(self, partition: TP, offset: int) -> None:
        self.read_offsets.append(offset)  # faust's own read offset, moved back

    async def earliest_offsets(self, *partitions: TP) -> dict[TP, int]:
        return dict.fromkeys(partitions, self.start)

    def noack(self) -> FakeLog:
        return self

    async def events(self) -> AsyncIterator[FakeEvent]:
        while (offset := await self.queue.get()) is not None:
            yield FakeEvent(self, offset)
