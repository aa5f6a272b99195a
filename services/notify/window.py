"""Acknowledge events in offset order although their deliveries settle in any order.

faust commits, per partition, the offsets its streams acknowledged. Its bookkeeping
assumes acks arrive in offset order: with committed offset C, offset C still unacked and
C+1 acked, it commits C+2 and the event at C is skipped for good (see
docs/adr/0006-notify-delivery.md and `tests/unit/notify/test_window.py`). Webhook
deliveries settle in any order (a slow partner, a retry), so notify never hands faust an
out-of-order ack: this window holds each event until every delivery it caused is
settled, and acks the head of each partition's queue as soon as it and everything before
it are settled. The committed offset therefore never passes an unsettled event, while
later events keep being processed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

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
    """

    def __init__(self, ack: Callable[[T], None]) -> None:
        self._ack = ack
        self._lanes: dict[Hashable, deque[Tracked[T]]] = {}

    def track(self, partition: Hashable, offset: int, token: T, pending: int) -> Tracked[T]:
        """Add the event at `offset`, which waits for `pending` settlements (0: none).

        An offset at or below the last one tracked in `partition` means the partition is
        being consumed again from an earlier offset (a rebalance, a seek): the older
        entries are dropped without being acked.
        """
        lane = self._lanes.setdefault(partition, deque())
        if lane and offset <= lane[-1].offset:
            lane.clear()
        entry = Tracked(partition, offset, token, max(pending, 0))
        lane.append(entry)
        self._release(partition)
        return entry

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
            self._lanes.pop(partition, None)

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
