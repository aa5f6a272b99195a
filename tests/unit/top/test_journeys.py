"""A group's latency runs from its first person-returned to each stage, complete groups only."""

from __future__ import annotations

import pytest

from services.observe import Journeys
from tests.unit.top.factories import T0, reached, returned, screened


def family_of_three(journeys: Journeys, group: str = "G-ELP-1", start: float = T0) -> None:
    for member, delay in enumerate((0.0, 0.2, 0.4)):
        journeys.add(returned(group, member, start + delay, size=3))


def test_a_family_is_timed_from_its_first_member_to_each_stage() -> None:
    journeys = Journeys(keep=None)
    family_of_three(journeys)
    journeys.add(screened("G-ELP-1", T0 + 0.9))
    journeys.add(reached("placed", "G-ELP-1", T0 + 1.5))
    journeys.add(reached("legal-aid-requested", "G-ELP-1", T0 + 2.0))
    assert journeys.latencies("screened") == {"ELP": [pytest.approx(0.9)]}
    assert journeys.latencies("placement") == {"ELP": [pytest.approx(1.5)]}
    assert journeys.latencies("placed") == {"ELP": [pytest.approx(1.5)]}
    assert journeys.latencies("legal_aid") == {"ELP": [pytest.approx(2.0)]}


def test_events_read_out_of_order_join_the_same() -> None:
    journeys = Journeys(keep=None)
    journeys.add(screened("G-ELP-1", T0 + 0.9))
    family_of_three(journeys)
    assert journeys.latencies("screened") == {"ELP": [pytest.approx(0.9)]}


def test_a_deferral_is_placement_s_decision_and_a_later_placement_does_not_replace_it() -> None:
    journeys = Journeys(keep=None)
    journeys.add(returned("G-CJS-9", 0, T0))
    journeys.add(reached("placement-deferred", "G-CJS-9", T0 + 1.0))
    journeys.add(reached("placed", "G-CJS-9", T0 + 300.0))
    assert journeys.latencies("placement") == {"ELP": [1.0]}
    assert journeys.latencies("placed") == {"ELP": [300.0]}


def test_a_group_with_a_member_not_seen_is_not_measured() -> None:
    journeys = Journeys(keep=None)
    journeys.add(returned("G-ELP-2", 1, T0, size=2))
    journeys.add(screened("G-ELP-2", T0 + 0.5))
    assert journeys.latencies("screened") == {}


def test_a_group_screening_closed_as_incomplete_is_not_measured() -> None:
    journeys = Journeys(keep=None)
    journeys.add(returned("G-ELP-3", 0, T0, size=2))
    journeys.add(screened("G-ELP-3", T0 + 600, decision="referred", incomplete=True))
    journeys.add(returned("G-ELP-3", 1, T0 + 700, size=2))  # arrived after the window
    assert journeys.latencies("screened") == {}


def test_latencies_can_be_chosen_by_when_the_group_started_or_reached_the_stage() -> None:
    journeys = Journeys(keep=None)
    journeys.add(returned("G-SAN-1", 0, T0, crossing="SAN"))
    journeys.add(screened("G-SAN-1", T0 + 1, crossing="SAN"))
    journeys.add(returned("G-SAN-2", 0, T0 + 50, crossing="SAN"))
    journeys.add(screened("G-SAN-2", T0 + 53, crossing="SAN"))
    assert journeys.latencies("screened", started_in=(T0 + 40, T0 + 60)) == {"SAN": [3.0]}
    assert journeys.latencies("screened", reached_since=T0 + 10) == {"SAN": [3.0]}
    assert sorted(journeys.latencies("screened")["SAN"]) == [1.0, 3.0]


def test_idle_groups_are_forgotten_after_keep_seconds() -> None:
    journeys = Journeys(keep=60)
    journeys.add(returned("G-OLD", 0, T0))
    journeys.add(returned("G-NEW", 0, T0 + 100))
    assert journeys.forget(now=T0 + 120) == 1
    assert journeys.get("G-OLD") is None
    assert journeys.get("G-NEW") is not None
    assert len(journeys) == 1


def test_a_bounded_run_keeps_every_group() -> None:
    journeys = Journeys(keep=None)
    journeys.add(returned("G-OLD", 0, T0))
    assert journeys.forget(now=T0 + 10_000) == 0
    assert len(journeys) == 1
