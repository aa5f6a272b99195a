"""Rates, surges and send times: computed, so counted without a clock."""

from __future__ import annotations

import pytest

from services.simulator.schedule import (
    ScheduleError,
    Surge,
    count_between,
    merged_sends,
    parse_duration,
    parse_surge,
    parse_weights,
    send_times,
    split_rate,
)


@pytest.mark.parametrize(
    ("text", "surge"),
    [
        ("ELP:10x@60s", Surge("ELP", 10.0, 60.0, None)),
        ("ELP:10x@60s+30s", Surge("ELP", 10.0, 60.0, 30.0)),
        ("san:0.5x@2m+1m", Surge("SAN", 0.5, 120.0, 60.0)),
        ("BRO:3@90", Surge("BRO", 3.0, 90.0, None)),
        ("LRD:2x@1h+0.5h", Surge("LRD", 2.0, 3600.0, 1800.0)),
    ],
)
def test_surges_are_parsed(text: str, surge: Surge) -> None:
    assert parse_surge(text) == surge


@pytest.mark.parametrize(
    "text", ["ELP", "ELP:10x", "ELP@60s", "EL:10x@60s", "ELP:x@60s", "ELP:10x@soon"]
)
def test_a_malformed_surge_is_refused_with_the_syntax(text: str) -> None:
    with pytest.raises(ScheduleError, match="CODE:FACTORx@START"):
        parse_surge(text)


def test_durations_take_seconds_minutes_and_hours() -> None:
    assert [parse_duration(t) for t in ("90", "90s", "1.5m", "2h")] == [90, 90, 90, 7200]
    with pytest.raises(ScheduleError):
        parse_duration("ninety")


def test_the_total_rate_is_split_by_weight_among_the_chosen_crossings() -> None:
    rates = split_rate(10.0, {"ELP": 3.0, "SAN": 1.0, "BRO": 1.0}, ["ELP", "SAN"])
    assert rates == {"ELP": 7.5, "SAN": 2.5}
    with pytest.raises(ScheduleError):
        split_rate(1.0, {"ELP": 0.0}, ["ELP"])


def test_weights_are_parsed_from_code_equals_weight() -> None:
    assert parse_weights(["elp=3", "SAN=0.5"]) == {"ELP": 3.0, "SAN": 0.5}
    with pytest.raises(ScheduleError):
        parse_weights(["ELP:3"])


def test_sends_are_due_at_exact_multiples_without_drift() -> None:
    times = list(send_times(3.0, [], 1000.0))
    assert len(times) == 3000
    assert times[0] == pytest.approx(0.5 / 3)
    assert times[-1] == pytest.approx(2999.5 / 3, abs=1e-9)


def test_a_ten_times_surge_schedules_ten_times_the_sends_in_its_window() -> None:
    surge = parse_surge("ELP:10x@60s+30s")
    times = list(send_times(2.0, [surge], 180.0))
    before = count_between(times, 0, 30)
    during = count_between(times, 60, 90)
    after = count_between(times, 120, 150)
    assert before == after == 60
    assert during == pytest.approx(10 * before, abs=1)


def test_a_surge_without_length_lasts_to_the_end_and_overlapping_surges_multiply() -> None:
    times = list(send_times(1.0, [parse_surge("ELP:4x@10s"), parse_surge("ELP:2x@20s+5s")], 30))
    assert count_between(times, 10, 20) == pytest.approx(40, abs=1)
    assert count_between(times, 20, 25) == pytest.approx(40, abs=1)
    assert count_between(times, 25, 30) == pytest.approx(20, abs=1)


def test_a_surge_at_one_crossing_leaves_the_others_alone() -> None:
    sends = list(merged_sends({"ELP": 1.0, "SAN": 1.0}, [parse_surge("ELP:10x@0s")], 60.0))
    assert [at for at, _ in sends] == sorted(at for at, _ in sends)
    assert sum(1 for _, code in sends if code == "ELP") == 600
    assert sum(1 for _, code in sends if code == "SAN") == 60


def test_tiny_rates_still_send_and_a_zero_factor_pauses() -> None:
    assert list(send_times(0.01, [], 100.0)) == [50.0]
    paused = list(send_times(1.0, [parse_surge("ELP:0x@10s+10s")], 30.0))
    assert count_between(paused, 10, 20) == 0
    assert len(paused) == 20
