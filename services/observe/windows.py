"""Sliding windows over event time: counts in one-second buckets, percentiles, dedupe."""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0 < q <= 100) by nearest rank; None for no values.

    Nearest rank returns an observed value (the smallest one with at least ``q`` % of
    the values at or below it), so a p95 of 20 latencies is the 19th smallest.
    """
    if not 0 < q <= 100:
        raise ValueError(f"percentile {q} is not in (0, 100]")
    if not values:
        return None
    ordered = sorted(values)
    rank = math.ceil(q / 100 * len(ordered))
    return ordered[max(rank, 1) - 1]


class WindowedCounter:
    """Counts per key in one-second buckets of event time, kept for ``span`` seconds."""

    def __init__(self, span: float) -> None:
        self.span = span
        self._buckets: dict[Hashable, dict[int, int]] = {}

    def add(self, key: Hashable, at: float, count: int = 1) -> None:
        """Count ``count`` for ``key`` at ``at`` (seconds since the epoch)."""
        buckets = self._buckets.setdefault(key, {})
        second = math.floor(at)
        buckets[second] = buckets.get(second, 0) + count

    def total(self, key: Hashable, now: float, seconds: float) -> int:
        """Counted for ``key`` from ``seconds`` before ``now`` on (later events included)."""
        since = math.floor(now - seconds)
        return sum(n for at, n in self._buckets.get(key, {}).items() if at >= since)

    def rate(self, key: Hashable, now: float, seconds: int, since: float | None = None) -> float:
        """Per second over the ``seconds`` whole seconds before the current one.

        ``since``: nothing before it was observed, so only the whole seconds after it
        count (0.0 before one whole second was observed).
        """
        current = math.floor(now)
        first = current - seconds if since is None else max(current - seconds, math.ceil(since))
        if first >= current:
            return 0.0
        buckets = self._buckets.get(key, {})
        done = sum(buckets.get(second, 0) for second in range(first, current))
        return done / (current - first)

    def forget(self, now: float) -> None:
        """Drop the buckets older than ``span`` seconds before ``now``."""
        since = math.floor(now - self.span) - 1
        for key in list(self._buckets):
            kept = {at: n for at, n in self._buckets[key].items() if at >= since}
            if kept:
                self._buckets[key] = kept
            else:
                del self._buckets[key]


class RecentIds:
    """Event ids seen in the last ``span`` seconds of event time, to count each event once.

    At-least-once delivery means an event may be written twice after a crash or a
    rebalance, with the same ``event_id``.
    """

    def __init__(self, span: float) -> None:
        self.span = span
        self._seen: dict[str, float] = {}

    def first(self, event_id: str, at: float) -> bool:
        """True the first time ``event_id`` is offered (within the span), False after."""
        if event_id in self._seen:
            return False
        self._seen[event_id] = at
        return True

    def forget(self, now: float) -> None:
        """Drop the ids of events older than ``span`` seconds before ``now``."""
        since = now - self.span
        self._seen = {event_id: at for event_id, at in self._seen.items() if at >= since}

    def __len__(self) -> int:
        return len(self._seen)
