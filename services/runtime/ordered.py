"""Acknowledge events in offset order, and never let faust skip an offset.

Used by every agent of every service (docs/adr/0011-contiguous-offsets.md).

faust commits, per partition, the offsets its streams acknowledged. Its bookkeeping
assumes acks arrive in offset order: with committed offset C, offset C still unacked and
C+1 acked, it commits C+2 and the event at C is skipped for good (see
docs/adr/0006-notify-delivery.md and `tests/unit/notify/test_window.py`). Webhook
deliveries settle in any order (a slow partner, a retry), so notify never hands faust an
out-of-order ack: this window holds each event until every delivery it caused is
settled, and acks the head of each partition's queue as soon as it and everything before
it are settled. The committed offset therefore never passes an unsettled event, while
later events keep being processed.

The same bookkeeping also skips an event that faust never hands to the stream: killed
and restarted mid-burst, faust was seen to process offsets 10 and 12 of a partition but
never 11, and then to commit past 11 (records it had prefetched before a rebalance reach
the stream after it). So the window expects each partition's offsets to
follow one another from the committed offset; at a hole it refuses the later events and
asks for the partition to be read again from the missing offset (`on_gap`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Hashable, Iterable
from typing import Any, Generic, TypeVar, cast

import faust

from services.runtime.faust_internals import ConsumerView

log = logging.getLogger(__name__)
T = TypeVar("T")


class Tracked(Generic[T]):
    """One event in the window, waiting for `pending` deliveries to settle."""

    __slots__ = ("broken", "offset", "partition", "pending", "token")

    def __init__(self, partition: Hashable, offset: int, token: T, pending: int) -> None:
        self.partition = partition
        self.offset = offset
        self.token = token
        self.pending = pending
        self.broken = False


class SettlementWindow(Generic[T]):
    """Per-partition queues of events; `ack` is called for each, strictly in offset order.

    `token` is what `ack` receives (the faust event). An event whose delivery can never
    be settled (`hold`) stays at its place for good: nothing after it in its partition is
    acked, so a restart re-delivers it and everything after it.

    `committed` tells the partition's committed offset (None when unknown), where reading
    starts; `on_gap(partition, offset)` must make the partition be read again from
    `offset`, the first offset that never arrived. `drop(token)` is called for each event
    let go without an ack (refused past a hole, or dropped for a re-read or a
    revocation): its offset must not be committed, and nothing must wait for its ack.
    """

    def __init__(
        self,
        ack: Callable[[T], None],
        *,
        committed: Callable[[Hashable], int | None] = lambda partition: None,
        on_gap: Callable[[Hashable, int], None] = lambda partition, offset: None,
        drop: Callable[[T], None] = lambda token: None,
    ) -> None:
        self._ack = ack
        self._drop = drop
        self._committed = committed
        self._on_gap = on_gap
        self._lanes: dict[Hashable, deque[Tracked[T]]] = {}
        self._next: dict[Hashable, int] = {}
        self._rewinding: dict[Hashable, int] = {}

    def admit(self, partition: Hashable, offset: int) -> bool:
        """Whether to process the event at `offset`: False when an earlier offset of its
        partition never arrived (the partition is then read again from there, once)."""
        expected = self.expected(partition)
        if expected is not None and offset > expected:
            if self._rewinding.get(partition) != expected:
                self._rewinding[partition] = expected
                log.warning(
                    "%s: offset %d arrived but %d never did; reading again from %d",
                    partition,
                    offset,
                    expected,
                    expected,
                )
                self._on_gap(partition, expected)
            return False
        self._next[partition] = offset + 1
        self._rewinding.pop(partition, None)
        return True

    def expected(self, partition: Hashable) -> int | None:
        """The offset `partition` must hand over next (None: not known)."""
        expected = self._next.get(partition)
        return expected if expected is not None else self._committed(partition)

    def suspect(self, partition: Hashable, offset: int) -> None:
        """`offset` was read by the consumer but never handed over: read it again."""
        self._next[partition] = offset
        self._rewinding[partition] = offset
        self._on_gap(partition, offset)

    def needs_start(self, partition: Hashable) -> bool:
        """Whether nothing tells where `partition` starts: no event admitted yet and no
        committed offset (the group never committed one, so reading starts at the
        first offset the log keeps; see `expect`)."""
        return partition not in self._next and self._committed(partition) is None

    def expect(self, partition: Hashable, offset: int) -> None:
        """`partition` is read from `offset` (its log start, when nothing was committed)."""
        self._next.setdefault(partition, offset)

    def resume_from(self, partition: Hashable, offset: int) -> None:
        """The offsets of `partition` before `offset` are gone (past the topic's retention):
        wait for `offset` instead of the missing one."""
        self._next[partition] = offset
        self._rewinding[partition] = offset

    def rewinding(self, partition: Hashable) -> int | None:
        """The offset `partition` waits for since a hole was found (None: no hole)."""
        return self._rewinding.get(partition)

    def track(self, partition: Hashable, offset: int, token: T, pending: int) -> Tracked[T]:
        """Add the event at `offset`, which waits for `pending` settlements (0: none).

        An offset at or below the last one tracked in `partition` means the partition is
        being consumed again from an earlier offset (a rebalance, a seek): the older
        entries are dropped without being acked.
        """
        lane = self._lanes.setdefault(partition, deque())
        if lane and offset <= lane[-1].offset:
            self._drop_all(lane)
        entry = Tracked(partition, offset, token, max(pending, 0))
        lane.append(entry)
        self._release(partition)
        return entry

    def refuse(self, token: T) -> None:
        """An event that `admit` refused is let go (see `drop`)."""
        self._drop(token)

    def _drop_all(self, lane: Iterable[Tracked[T]]) -> None:
        for entry in list(lane):
            self._drop(entry.token)
        if isinstance(lane, deque):
            lane.clear()

    def settle(self, entry: Tracked[T]) -> None:
        """One of `entry`'s deliveries is settled (delivered, or failed for good)."""
        if entry.pending > 0:
            entry.pending -= 1
        self._release(entry.partition)

    def hold(self, entry: Tracked[T]) -> None:
        """One of `entry`'s deliveries can never be settled in this process."""
        entry.broken = True

    def forget(self, partitions: Iterable[Hashable]) -> None:
        """Drop revoked partitions; their events are acked by no one here."""
        for partition in partitions:
            self._drop_all(self._lanes.pop(partition, ()))
            self._next.pop(partition, None)
            self._rewinding.pop(partition, None)

    def waiting(self) -> dict[Hashable, int]:
        """Events not yet acked, per partition."""
        return {p: len(lane) for p, lane in self._lanes.items() if lane}

    def oldest_unsettled(self) -> dict[Hashable, int]:
        """Per partition, the offset that the committed offset cannot pass."""
        return {p: lane[0].offset for p, lane in self._lanes.items() if lane}

    def _release(self, partition: Hashable) -> None:
        lane = self._lanes.get(partition)
        while lane and lane[0].pending == 0 and not lane[0].broken:
            self._ack(lane.popleft().token)


def ordered_acks(app: faust.App) -> SettlementWindow[Any]:
    """A window that acks faust events in offset order and re-reads a partition from an
    offset faust skipped. Forgets revoked partitions by itself."""
    seeks: set[asyncio.Future[None]] = set()
    consumer = _consumer(app)

    def ack(event: Any) -> None:
        # An event from before a rebalance is read again from the committed offset.
        if event.message.generation_id == app.consumer_generation_id:
            event.ack()
        else:
            drop(event)

    def drop(event: Any) -> None:
        # faust waits on a rebalance (`stream_wait_empty`) until every message handed
        # to a stream is acked: let it forget this one without recording an ack, so that
        # its offset is never committed and the rebalance does not wait for it forever.
        consumer.forget(event.message)

    async def seek_until_read(partition: Hashable, offset: int) -> None:
        # faust's fetcher may still be handing out the rest of the batch it was in, and
        # then its record of the read offset hides the records we asked for: seek again
        # (less and less often) until the missing offset arrives. A missing offset that
        # retention has deleted will never arrive: read from the first one kept.
        pause = 0.5
        while window.rewinding(partition) == offset:
            try:
                first = await consumer.earliest(partition)
                if first is not None and first > offset:
                    log.warning(
                        "%s: offsets %d to %d are past retention; reading from %d",
                        partition,
                        offset,
                        first - 1,
                        first,
                    )
                    window.resume_from(partition, first)
                    offset = first
                await consumer.seek(partition, offset)
            except Exception as exc:  # a rebalance under way: the next round retries
                log.warning("seek %s to %d failed: %s", partition, offset, type(exc).__name__)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 10.0)

    def read_again(partition: Hashable, offset: int) -> None:
        seek = asyncio.ensure_future(seek_until_read(partition, offset))
        seeks.add(seek)
        seek.add_done_callback(seeks.discard)

    window: SettlementWindow[Any] = SettlementWindow(
        ack, committed=consumer.committed, on_gap=read_again, drop=drop
    )

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def forget_revoked(sender: Any, *args: Any, signal: Any, **kwargs: Any) -> None:
        window.forget(args[0] if args else kwargs.get("revoked", ()))

    return window


def _consumer(app: faust.App) -> ConsumerView:
    """faust's consumer, through the one module that reads its internals."""
    return ConsumerView(app)


async def learn_start(app: faust.App, window: SettlementWindow[Any], partition: Any) -> None:
    """Before the first event of a partition with no committed offset: tell `window`
    the partition's first offset, where faust must start (`auto_offset_reset` is
    earliest), so that a first event past it is caught as a hole too."""
    if not window.needs_start(partition):
        return
    try:
        first = await _consumer(app).earliest(partition)
    except Exception as exc:  # a rebalance under way: the event is judged without it
        log.warning("no first offset for %s: %s", partition, type(exc).__name__)
        return
    if first is not None:
        window.expect(partition, first)


WATCH_SECONDS = 1.0
PATIENCE = 5  # checks in a row with the agent idle and its next offset on the broker


async def watch_for_lost_tails(
    app: faust.App, window: SettlementWindow[Any], topics: Iterable[str]
) -> None:
    """Catch the holes that no later record reveals.

    faust drops records in two more places: its streams drop those read while a
    rebalance is under way (of an older generation, or with flow control off), and its
    fetch loop drops those of a partition it no longer counts as active (paused, or
    taken out while a stream's buffer was full and never put back). When they were the
    last records of their partition, or nothing was committed, no later event shows the
    hole and the agent would wait for them for ever.

    Every second, for each assigned partition of `topics`: if the offset the agent
    expects next exists (below the partition's end as last fetched) and has not reached
    the agent, which sits idle, for `PATIENCE` checks in a row, the partition is made
    active again if faust had left it out, and read again from that offset. A false
    alarm (records merely queued behind another agent) costs a re-fetch.
    """
    names = set(topics)
    consumer = _consumer(app)
    still: dict[Any, tuple[int, int]] = {}  # partition -> (expected offset, checks)
    while True:
        await asyncio.sleep(WATCH_SECONDS)
        if app.rebalancing or window.waiting():
            still.clear()  # a rebalance, or the agent busy: nothing can be concluded
            continue
        for partition in consumer.assigned(names):
            await learn_start(app, window, partition)
            expected = window.expected(partition)
            if (
                expected is None
                or not expected < consumer.end(partition)  # no record there (yet)
                or window.rewinding(partition) is not None
            ):
                still.pop(partition, None)
                continue
            previous = still.get(partition)
            checks = previous[1] + 1 if previous and previous[0] == expected else 1
            still[partition] = (expected, checks)
            if checks >= PATIENCE:
                del still[partition]
                _read_again(consumer, window, partition, expected)


def _read_again(
    consumer: ConsumerView, window: SettlementWindow[Any], partition: Any, offset: int
) -> None:
    inactive = consumer.left_out(partition)
    log.warning(
        "%s: offset %d is on the broker but never reached the agent (faust read up to "
        "%s%s); reading again from %d",
        partition,
        offset,
        consumer.read_up_to(partition),
        ", the partition was left out of fetching" if inactive else "",
        offset,
    )
    if inactive:
        consumer.resume(partition)
    window.suspect(partition, offset)


def read_to_end(app: faust.App, window: SettlementWindow[Any], partition: Any) -> bool:
    """Whether the agent reading through `window` has handled every record of `partition`
    up to its end as last fetched (an empty partition counts as read)."""
    end = _consumer(app).end(partition)
    expected = window.expected(partition)
    return end == 0 if expected is None else expected >= end and not window.waiting()


def topic_names(stream: faust.StreamT[Any]) -> list[str]:
    """The physical topics a stream reads."""
    return list(cast(Any, stream).channel.topics)


async def admitted(
    app: faust.App, window: SettlementWindow[Any], stream: faust.StreamT[Any]
) -> AsyncIterator[Any]:
    """The events of `stream` that `window` admits, for an agent that tracks and settles
    them itself: the stream acks nothing by itself, a refused event is let go, and the
    watchdog (`watch_for_lost_tails`) runs while the agent reads."""
    watch = asyncio.ensure_future(watch_for_lost_tails(app, window, topic_names(stream)))
    try:
        async for event in cast(Any, stream).noack().events():
            message = event.message
            await learn_start(app, window, message.tp)
            if window.admit(message.tp, message.offset):
                yield event
            else:
                window.refuse(event)
    finally:
        watch.cancel()


async def contiguous(
    app: faust.App, stream: faust.StreamT[Any], window: SettlementWindow[Any] | None = None
) -> AsyncIterator[Any]:
    """The events of `stream`, each partition's offsets one after another, for an agent
    that handles one event at a time.

    An event is acked once the agent's body has finished with it and asks for the next;
    if the body raises, that event and everything after it stay unacked, to be read
    again. A partition whose next offset never arrived is read again from that offset
    (`watch_for_lost_tails` catches the holes no later record shows). Pass `window`
    to ask it later how far the agent has read (`read_to_end`).
    """
    window = window or ordered_acks(app)
    async for event in admitted(app, window, stream):
        message = event.message
        entry = window.track(message.tp, message.offset, event, pending=1)
        yield event
        window.settle(entry)
