"""A replay collects garbage less often while it runs, and leaves the collector as it was."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from services.audit.reader import YOUNG_COLLECTION_EVERY, Replay, ReplaySource
from tests.unit.audit.test_reader import FakeConsumer, as_records, busy_day


@pytest.fixture
def default_thresholds() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield gc.get_threshold()
    gc.set_threshold(*before)


def busy_day_replay() -> Replay:
    """A replay of a busy day's people and decisions, two partitions each."""
    logs = as_records(busy_day(), {"person-returned": 2, "screened": 2})
    return Replay(
        ReplaySource("fake:9092", "t1."),
        ("person-returned", "screened"),
        consumer_factory=lambda **config: FakeConsumer(logs, **config),
    )


def test_the_collector_runs_less_often_during_a_replay_only(
    default_thresholds: tuple[int, int, int],
) -> None:
    run = busy_day_replay()
    during = [gc.get_threshold() for _ in run]
    assert len(during) == 24
    assert set(during) == {(YOUNG_COLLECTION_EVERY, 10, 10)}
    assert gc.get_threshold() == default_thresholds


def test_a_replay_abandoned_half_way_restores_the_collector(
    default_thresholds: tuple[int, int, int],
) -> None:
    run = busy_day_replay()
    events = iter(run)
    next(events)
    assert gc.get_threshold()[0] == YOUNG_COLLECTION_EVERY
    events.close()  # type: ignore[attr-defined]
    assert gc.get_threshold() == default_thresholds
