"""Realistic timing (ADR 16): records come late, from several sources, families spread."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, datetime
from statistics import median
from typing import Any

import pytest

from services.reference import Reference
from services.simulator import Plan, Profile, SendGroup, SimulationConfig
from services.simulator.schedule import ScheduleError
from services.simulator.timing import parse_spread, timing_from

START = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
HOUR = 3600.0
Sent = list[tuple[float, dict[str, Any]]]  # (seconds into the run, record), in send order


def plan(profile: Profile, reference: Reference, seed: int = 7, **timing: Any) -> Plan:
    config = SimulationConfig(
        rate=5.0,
        duration=600.0,
        crossings=("ELP", "SAN", "LRD"),
        profile=profile,
        seed=seed,
        timing=timing_from(profile, **timing),
    )
    return Plan(config, reference, START)


def sent(profile: Profile, reference: Reference, **timing: Any) -> Sent:
    steps = plan(profile, reference, **timing).steps()
    return [(s.at, r) for s in steps if isinstance(s, SendGroup) for r in s.records]


def delay(at: float, record: dict[str, Any]) -> float:
    """Seconds from the record's returned_at to its submission."""
    return START.timestamp() + at - datetime.fromisoformat(record["returned_at"]).timestamp()


def group_delays(records: Sent) -> dict[str, list[float]]:
    """Per source: seconds from each group's return (its earliest) to its first send."""
    delays: dict[str, list[float]] = defaultdict(list)
    for family in by_group(records).values():
        returned = min(datetime.fromisoformat(r["returned_at"]) for _, r in family)
        first = START.timestamp() + min(at for at, _ in family)
        delays[family[0][1]["source"]].append(first - returned.timestamp())
    return delays


def by_group(records: Sent) -> dict[str, Sent]:
    groups: dict[str, Sent] = defaultdict(list)
    for at, record in records:
        groups[record["group_id"]].append((at, record))
    return groups


def test_by_default_records_are_submitted_hours_after_their_return(
    profile: Profile, reference: Reference
) -> None:
    records = sent(profile, reference)
    assert len(records) > 2500
    assert min(delay(at, r) for at, r in records) > -1e-6  # never before its own return
    delays = [d for per_source in group_delays(records).values() for d in per_source]
    assert max(delays) <= 48 * HOUR + 1
    assert median(delays) > 2 * HOUR
    within_ten_minutes = sum(d <= 600 + 60 for d in delays) / len(delays)
    over_twenty_hours = sum(d > 20 * HOUR + 1 for d in delays) / len(delays)
    assert within_ten_minutes == pytest.approx(0.25 + 0.10 * 9 / 29, abs=0.05)  # the desks
    assert over_twenty_hours == pytest.approx(0.10, abs=0.04)  # the late tail


def test_sources_are_interleaved_each_with_its_own_rising_sequence(
    profile: Profile, reference: Reference
) -> None:
    records = sent(profile, reference)
    at_elp = [r for _, r in records if r["crossing"] == "ELP"]
    sources = [r["source"] for r in at_elp]
    assert set(sources) == {"cbp-elp", "cbp-elp-batch", "inm-desk-cjs"}
    assert sum(a != b for a, b in itertools.pairwise(sources)) > 50
    for source in set(sources):
        ids = [r["submission_id"] for r in at_elp if r["source"] == source]
        assert [int(i.rsplit("-", 1)[1]) for i in ids] == list(range(1, len(ids) + 1))
    delays = group_delays(records)
    bounds = {
        "cbp-elp": (5, 600 + 60),  # a member may wait up to a minute for its own return
        "inm-desk-cjs": (60, 1800 + 1),
        "cbp-elp-batch": (720, 48 * HOUR + 1),
    }
    for source, (low, high) in bounds.items():
        assert low <= min(delays[source])
        assert max(delays[source]) <= high


def test_a_family_comes_from_one_source_within_the_spread_in_random_order(
    profile: Profile, reference: Reference
) -> None:
    families = [g for g in by_group(sent(profile, reference)).values() if len(g) > 1]
    assert len({r["source"] for _, r in families[0]}) == 1
    assert all(len({r["source"] for _, r in family}) == 1 for family in families)
    spreads = [max(at for at, _ in f) - min(at for at, _ in f) for f in families]
    assert max(spreads) <= 5 * 60
    assert sum(s > 1 for s in spreads) / len(spreads) == pytest.approx(0.3, abs=0.1)
    first_roles = {family[0][1]["person"]["role_in_group"] for family in families}
    assert first_roles > {"head"}


def test_the_command_line_can_narrow_the_spread_and_cap_the_delays(
    profile: Profile, reference: Reference
) -> None:
    records = sent(
        profile, reference, max_delay=24 * HOUR, member_spread=(60.0, 120.0), spread_share=1.0
    )
    assert max(d for per in group_delays(records).values() for d in per) <= 24 * HOUR + 1
    families = [f for f in by_group(records).values() if len(f) > 1]
    assert all(f[-1][0] - f[0][0] <= 120.0 for f in families)
    # Batches come hours late, so no member waits for its own return; none is near the end.
    batched = [f for f in families if f[0][1]["source"].endswith("-batch") and f[0][0] < 480]
    assert len(batched) > 20
    for family in batched:
        assert all(60.0 <= at - family[0][0] <= 120.0 for at, _ in family[1:])


def test_named_delay_profiles(profile: Profile, reference: Reference) -> None:
    realtime = sent(profile, reference, delays="realtime")
    assert {r["source"] for _, r in realtime} == {"cbp-elp", "cbp-san", "cbp-lrd"}
    assert max(d for per in group_delays(realtime).values() for d in per) <= 120 + 60
    immediate = sent(profile, reference, delays="immediate", spread_share=0.0)
    heads = [(at, r) for at, r in immediate if r["person"]["role_in_group"] == "head"]
    assert max(abs(delay(at, r)) for at, r in heads) < 1.0  # returned_at keeps whole seconds
    with pytest.raises(ScheduleError, match="realistic"):
        timing_from(profile, delays="overnight")


def test_the_same_seed_gives_the_same_plan(profile: Profile, reference: Reference) -> None:
    one = list(plan(profile, reference, seed=11).steps())
    assert one == list(plan(profile, reference, seed=11).steps())
    assert one != list(plan(profile, reference, seed=12).steps())


@pytest.mark.parametrize(
    ("text", "spread"),
    [("0s..5m", (0.0, 300.0)), ("1m .. 2m", (60.0, 120.0)), ("90s", (0.0, 90.0)), ("0", (0, 0))],
)
def test_spreads_are_parsed(text: str, spread: tuple[float, float]) -> None:
    assert parse_spread(text) == spread


@pytest.mark.parametrize("text", ["5m..1m", "soon", "1m..", "..2m"])
def test_a_bad_spread_is_refused_with_the_syntax(text: str) -> None:
    with pytest.raises(ScheduleError, match=r"LOW\.\.HIGH"):
        parse_spread(text)
