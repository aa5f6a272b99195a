"""The observer's figures per crossing over the last window, and its bounded memory."""

from __future__ import annotations

import pytest

from services.observe import Observer
from tests.unit.top.factories import T0, reached, returned, screened


def steady_elp(observer: Observer, seconds: int, per_second: int) -> None:
    """Lone adults at El Paso, each screened 0.5 s and placed 1 s after intake."""
    for second in range(seconds):
        for n in range(per_second):
            group, at = f"G-ELP-{second}-{n}", T0 + second + n / per_second
            observer.add(returned(group, 0, at))
            observer.add(screened(group, at + 0.5))
            observer.add(reached("placed", group, at + 1.0))


def test_a_steady_crossing_shows_its_rate_decisions_and_p95() -> None:
    observer = Observer(["SAN", "ELP"], window=60, rate_seconds=10)
    steady_elp(observer, seconds=30, per_second=4)
    snapshot = observer.snapshot(now=T0 + 30.5)
    elp = {row.crossing: row for row in snapshot.crossings}["ELP"]
    assert elp.per_second == 4.0
    assert elp.people == 120
    assert elp.decisions["accepted"] == 120
    assert elp.placed == 120
    assert elp.p95["screened"] == pytest.approx(0.5)
    assert elp.p95["placement"] == pytest.approx(1.0)
    assert elp.measured["screened"] == 120
    assert elp.p95["legal_aid"] is None


def test_a_quiet_crossing_is_still_shown_with_nothing() -> None:
    observer = Observer(["SAN", "ELP"], window=60)
    steady_elp(observer, seconds=5, per_second=1)
    san = observer.snapshot(now=T0 + 6).crossings[0]
    assert (san.crossing, san.per_second, san.people, san.p95["screened"]) == ("SAN", 0, 0, None)


def test_a_crossing_seen_but_not_listed_gets_a_row() -> None:
    observer = Observer(["ELP"], window=60)
    observer.add(returned("G-BRO-1", 0, T0, crossing="BRO"))
    assert [row.crossing for row in observer.snapshot(now=T0 + 1).crossings] == ["ELP", "BRO"]


def test_an_event_delivered_twice_is_counted_once() -> None:
    observer = Observer(["ELP"], window=60)
    observer.add(screened("G-ELP-1", T0, decision="referred"))
    observer.add(screened("G-ELP-1", T0, decision="referred"))
    assert observer.snapshot(now=T0 + 1).crossings[0].decisions["referred"] == 1


def test_what_is_older_than_the_window_is_forgotten_and_then_ignored() -> None:
    observer = Observer(["ELP"], window=60)
    steady_elp(observer, seconds=10, per_second=2)
    snapshot = observer.snapshot(now=T0 + 200)
    assert snapshot.crossings[0].people == 0
    assert snapshot.groups == 0
    observer.add(returned("G-LATE", 0, T0 + 5))  # older than the last window: ignored
    assert observer.snapshot(now=T0 + 201).groups == 0


def test_an_observer_started_now_ignores_history_older_than_its_window() -> None:
    observer = Observer(["ELP"], window=60, now=T0 + 1000)
    observer.add(returned("G-OLD", 0, T0))
    observer.add(returned("G-NEW", 0, T0 + 990))
    assert observer.snapshot(now=T0 + 1000).crossings[0].people == 1


def test_the_rate_window_never_exceeds_the_window() -> None:
    assert Observer(["ELP"], window=5, rate_seconds=10).rate_seconds == 5


def test_a_reader_started_from_the_end_rates_only_the_seconds_it_saw() -> None:
    observer = Observer(["ELP"], window=60, rate_seconds=10, now=T0, observed_from=T0)
    for n in range(60):  # 30 people a second for two seconds
        observer.add(returned(f"G-ELP-{n}", 0, T0 + n / 30))
    assert observer.snapshot(now=T0 + 2.1).crossings[0].per_second == 30.0
