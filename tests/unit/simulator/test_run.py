"""A paced run on a fake clock: every step at its time, and it stops by itself."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from schemas.envelope import Envelope
from services.reference import Reference
from services.simulator import (
    Plan,
    Profile,
    SendGroup,
    Simulation,
    SimulationAborted,
    SimulationConfig,
    parse_surge,
)
from services.simulator.plan import group_sizes
from services.simulator.timing import timing_from
from services.upstream import SubmissionRejected

START = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds


def config(profile: Profile, **overrides: Any) -> SimulationConfig:
    values: dict[str, Any] = {
        "rate": 5.0,
        "duration": 120.0,
        "crossings": ("ELP", "SAN", "LRD"),
        "profile": profile,
        "seed": 42,
    }
    values.update(overrides)
    return SimulationConfig(**values)


def test_each_group_is_submitted_when_due_and_the_run_ends_after_its_duration(
    profile: Profile, reference: Reference
) -> None:
    clock, sent = FakeClock(), []
    simulation = Simulation(
        config(profile), reference, lambda r: sent.append((clock.now, r)), clock=clock, start=START
    )
    stats = simulation.run()
    steps = list(Plan(config(profile), reference, START).steps())
    assert [r for _, r in sent] == [r for s in steps if isinstance(s, SendGroup) for r in s.records]
    assert stats.sent == len(sent)
    assert clock.now - 1000.0 < 120.0
    assert not stats.cut_short
    assert stats.sent == pytest.approx(5.0 * 120, rel=0.05)


def test_the_same_seed_and_start_give_the_same_run(profile: Profile, reference: Reference) -> None:
    one = list(Plan(config(profile), reference, START).steps())
    two = list(Plan(config(profile), reference, START).steps())
    assert one == two


def test_a_surge_brings_about_ten_times_the_people_at_its_crossing(
    profile: Profile, reference: Reference
) -> None:
    surge = parse_surge("ELP:10x@60s+60s")
    plain = group_sizes(list(Plan(config(profile), reference, START).steps()))
    surged = group_sizes(list(Plan(config(profile, surges=(surge,)), reference, START).steps()))
    assert surged["ELP"] == pytest.approx(plain["ELP"] * 5.5, rel=0.1)  # half the run at 10x
    assert surged["SAN"] == plain["SAN"]


def test_a_slow_channel_is_cut_off_when_the_time_is_up(
    profile: Profile, reference: Reference
) -> None:
    clock = FakeClock()

    def slow(record: dict[str, Any]) -> None:
        clock.now += 0.5  # two a second, while ten a second are due

    stats = Simulation(
        config(profile, rate=10.0, duration=30.0), reference, slow, clock=clock, start=START
    ).run()
    assert stats.cut_short
    assert clock.now - 1000.0 < 31.0
    assert stats.max_lag > 1.0


def test_rejections_are_counted_and_the_run_goes_on(profile: Profile, reference: Reference) -> None:
    calls = []

    def picky(record: dict[str, Any]) -> None:
        calls.append(record)
        if len(calls) % 2:
            raise SubmissionRejected(422, [{"field": "crossing", "message": "no"}])

    stats = Simulation(config(profile), reference, picky, clock=FakeClock(), start=START).run()
    assert stats.rejected == (len(calls) + 1) // 2
    assert stats.sent + stats.rejected == len(calls)


def test_a_channel_that_keeps_failing_aborts_the_run(
    profile: Profile, reference: Reference
) -> None:
    def down(record: dict[str, Any]) -> None:
        raise ConnectionRefusedError("connection refused")

    simulation = Simulation(config(profile), reference, down, clock=FakeClock(), start=START)
    with pytest.raises(SimulationAborted, match="ConnectionRefusedError"):
        simulation.run()


def test_with_inm_status_capacity_and_departures_are_published(
    profile: Profile, reference: Reference
) -> None:
    published: list[tuple[str, Envelope[Any]]] = []
    submitted: list[dict[str, Any]] = []
    stats = Simulation(
        config(profile, duration=600.0, inm=True),
        reference,
        submitted.append,
        publish=lambda topic, envelope: published.append((topic, envelope)),
        clock=FakeClock(),
        start=START,
    ).run()
    topics = {topic for topic, _ in published}
    assert topics == {"location-status-changed", "capacity-updated", "shelter-departed"}
    sent_groups = {r["group_id"] for r in submitted}
    departed = [e.data.group_id for t, e in published if t == "shelter-departed"]
    assert set(departed) <= sent_groups
    assert len(departed) == len(set(departed))
    assert stats.inm["shelter-departed"] == len(departed)


def test_an_inm_run_needs_a_publish_channel(profile: Profile, reference: Reference) -> None:
    with pytest.raises(ValueError, match="publish"):
        Simulation(config(profile, inm=True), reference, lambda r: None)


def test_a_family_sent_apart_counts_as_one_group(profile: Profile, reference: Reference) -> None:
    timing = timing_from(profile, spread_share=1.0)
    clock, sent = FakeClock(), []
    stats = Simulation(
        config(profile, timing=timing), reference, sent.append, clock=clock, start=START
    ).run()
    groups = {r["group_id"] for r in sent}
    assert sum(c.groups for c in stats.crossings.values()) == len(groups)
    assert sum(stats.sources.values()) == stats.sent == len(sent)
    assert len(stats.sources) == 9  # three kinds of source at three crossings
