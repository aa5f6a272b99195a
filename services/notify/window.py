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

The same bookkeeping also skips an event that faust never hands to the stream: killed
and restarted mid-burst, faust was seen to process offsets 10 and 12 of a partition but
never 11, and then to commit past 11. So the window expects each partition's offsets to
follow one another from the committed offset; at a hole it refuses the later events and
asks for the partition to be read again from the missing offset (`on_gap`).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

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
    `offset`, the first offset that never arrived.
    """

    def __init__(
        self,
        ack: Callable[[T], None],
        *,
        committed: Callable[[Hashable], int | None] = lambda partition: None,
        on_gap: Callable[[Hashable, int], None] = lambda partition, offset: None,
    ) -> None:
        self._ack = ack
        self._committed = committed
        self._on_gap = on_gap
        self._lanes: dict[Hashable, deque[Tracked[T]]] = {}
        self._next: dict[Hashable, int] = {}
        self._rewinding: dict[Hashable, int] = {}

    def admit(self, partition: Hashable, offset: int) -> bool:
        """Whether to process the event at `offset`: False when an earlier offset of its
        partition never arrived (the partition is then read again from there, once)."""
        expected = self._next.get(partition)
        if expected is None:
            expected = self._committed(partition)
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
