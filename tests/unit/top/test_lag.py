"""Lag per lane: end offset minus committed offset, summed over the lane's partitions."""

from __future__ import annotations

from services.observe import consumer_group, lane_lags

LANES = {"SAN": (0, 8), "ELP": (3, 9), "OLS": (2,)}


def test_lag_is_summed_over_the_lane_s_partitions() -> None:
    committed = {0: 100, 8: 90, 3: 500, 9: 480, 2: 7}
    ends = {0: 100, 8: 95, 3: 900, 9: 880, 2: 7}
    assert lane_lags(committed, ends, {}, LANES) == {"SAN": 5, "ELP": 800, "OLS": 0}


def test_a_partition_never_committed_counts_from_its_first_offset() -> None:
    committed = {0: 100, 8: -1, 3: 10, 9: 10, 2: 0}
    ends = {0: 100, 8: 40, 3: 10, 9: 10, 2: 0}
    starts = {8: 15}
    assert lane_lags(committed, ends, starts, LANES)["SAN"] == 25


def test_a_group_that_committed_nothing_has_no_lag_figure() -> None:
    assert lane_lags({0: -1, 3: -1}, {0: 10, 3: 10}, {}, LANES) == {
        "SAN": None,
        "ELP": None,
        "OLS": None,
    }
    assert lane_lags({}, {0: 10}, {}, LANES)["SAN"] is None


def test_groups_are_named_after_the_service_under_the_prefix() -> None:
    assert consumer_group("", "screening") == "returns-screening"
    assert consumer_group("t1234.", "notify") == "t1234.returns-notify"
