"""Percentiles, one-second buckets and the once-only count of redelivered events."""

from __future__ import annotations

import pytest

from services.observe import RecentIds, WindowedCounter, percentile


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([0.4], 95, 0.4),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.0),
        ([float(n) for n in range(1, 21)], 95, 19.0),
        ([float(n) for n in range(1, 101)], 95, 95.0),
        ([5.0, 1.0, 3.0], 100, 5.0),
        ([0.3, 0.1, 0.2], 1, 0.1),
    ],
)
def test_percentile_is_the_nearest_rank(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == expected


def test_percentile_of_nothing_is_none() -> None:
    assert percentile([], 95) is None


@pytest.mark.parametrize("q", [0, -5, 101])
def test_percentile_outside_0_to_100_is_refused(q: float) -> None:
    with pytest.raises(ValueError, match="not in"):
        percentile([1.0], q)


def test_a_rate_counts_whole_seconds_before_the_current_one() -> None:
    counter = WindowedCounter(span=60)
    for second in range(100, 110):
        counter.add("ELP", second + 0.5, count=3)
    counter.add("ELP", 110.2, count=50)  # the current second is not over yet
    assert counter.rate("ELP", now=110.7, seconds=10) == 3.0
    assert counter.rate("ELP", now=110.7, seconds=5) == 3.0
    assert counter.rate("SAN", now=110.7, seconds=5) == 0.0


def test_a_total_covers_the_window_and_what_came_since() -> None:
    counter = WindowedCounter(span=60)
    counter.add("ELP", 10.0)
    counter.add("ELP", 50.0)
    counter.add("ELP", 69.9)
    assert counter.total("ELP", now=70.0, seconds=30) == 2
    assert counter.total("ELP", now=70.0, seconds=60) == 3


def test_forgetting_drops_buckets_older_than_the_span() -> None:
    counter = WindowedCounter(span=10)
    counter.add("ELP", 100.0)
    counter.add("ELP", 125.0)
    counter.forget(now=130.0)
    assert counter.total("ELP", now=130.0, seconds=1000) == 1


def test_an_event_delivered_twice_is_counted_once() -> None:
    seen = RecentIds(span=60)
    assert seen.first("e-1", at=100.0)
    assert not seen.first("e-1", at=100.0)
    assert seen.first("e-2", at=101.0)


def test_ids_older_than_the_span_are_forgotten() -> None:
    seen = RecentIds(span=60)
    seen.first("e-old", at=100.0)
    seen.first("e-new", at=150.0)
    seen.forget(now=170.0)
    assert len(seen) == 1


def test_a_rate_counts_only_the_whole_seconds_observed() -> None:
    counter = WindowedCounter(span=60)
    for second in (103, 104):
        counter.add("ELP", second + 0.5, count=30)
    assert counter.rate("ELP", now=105.2, seconds=10, since=102.6) == 30.0
    assert counter.rate("ELP", now=103.9, seconds=10, since=103.2) == 0.0
