"""Two placement workers, one killed with SIGKILL in the middle of a burst, then restarted.

What an auditor checks, replaying ``placed`` from the first offset: no shelter ever holds
more people than its beds, no location receives more than its daily cap on any local
date, no group has two different placements, and every group got an answer. Identical
duplicates (same ``event_id``) are allowed by the contract: they are counted and printed.

Every group of the burst must get an answer: faust can drop records read while a
rebalance is under way, and the agents read them again (docs/adr/0011). When one is
missing, the failure names each unanswered group, its ``screened`` record and its
placement command, if any.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta, timezone
from typing import Any

import httpx

from schemas.envelope import Envelope
from services.placement.commands import PlaceGroup, decode_command
from services.placement.state import local_date
from services.runtime.context import Runtime
from tests.conftest import StartService
from tests.integration.test_placement_support import (
    accepted,
    capacity,
    events,
    now_in,
    publish,
    status,
    wait_for,
)
from tests.support.kafka import Record, read_topic
from tests.support.services import ServiceProcess

ZONES = {
    "SAN": timezone(timedelta(hours=-8)),
    "CXL": timezone(timedelta(hours=-8)),
    "OLS": timezone(timedelta(hours=-7)),
    "ELP": timezone(timedelta(hours=-7)),
    "EGP": timezone(timedelta(hours=-6)),
    "LRD": timezone(timedelta(hours=-6)),
    "BRO": timezone(timedelta(hours=-6)),
}
# Tight limits, so that the burst runs into caps and full shelters everywhere.
CAPS = {"TIJ": 12, "MXL": 12, "CJS": 12, "MAM": 10, "MTY": 8}
BEDS = {
    "NOG-S01": 5,
    "NOG-S02": 3,
    "NOG-S03": 0,
    "NOG-S04": 0,
    "PDS-S01": 6,
    "PDS-S02": 2,
    "PDS-S03": 0,
}
GROUPS = 60


def test_a_killed_worker_never_overfills_a_shelter_or_a_cap_nor_places_a_group_twice(
    runtime: Runtime, start_service: StartService
) -> None:
    workers = {name: start_service("placement", worker=name) for name in ("1", "2")}
    _tighten_limits(runtime, workers["2"])
    victim = _owner_of(workers, "CJS")

    burst = [_group(n) for n in range(1, GROUPS + 1)]
    publish(runtime, "screened", burst[: GROUPS // 2])
    seen = events(runtime, "placed", lambda e: len(e) >= 3, timeout=30)
    victim.kill()
    publish(runtime, "screened", burst[GROUPS // 2 :])
    victim.start()

    answered = {g.data.group_id for g in burst}
    try:
        outcomes = wait_for(
            lambda: _outcomes_once_all_answered(runtime, answered), "every group", 60
        )
    except AssertionError as exc:
        where = _where_unanswered_groups_stopped(runtime, answered)
        raise AssertionError(f"{exc}\n{where}") from None
    placed, deferred = outcomes
    duplicates = _check_invariants(runtime, placed)
    print(
        f"\nfailover: killed worker {victim.worker_name} after {len(seen)} placements; "
        f"{len(placed)} placed records, {len(deferred)} deferred records, "
        f"identical duplicates: placed {duplicates}, "
        f"deferred {len(deferred) - len({e.event_id for e in deferred})}"
    )
    _check_ops_view_matches_replay(workers["1"], placed)


def _tighten_limits(runtime: Runtime, worker: ServiceProcess) -> None:
    publish(
        runtime,
        "location-status-changed",
        [status(code, "normal", cap) for code, cap in CAPS.items()],
    )
    publish(runtime, "location-status-changed", [status("NLD", "suspended")])
    publish(runtime, "capacity-updated", [capacity(s[:3], s, beds) for s, beds in BEDS.items()])

    def applied() -> bool:
        view = _all_locations(worker)
        if view is None:
            return False
        caps_ok = all(view[code]["daily_cap"] == cap for code, cap in CAPS.items())
        beds = {s["shelter_id"]: s["beds"] for v in view.values() for s in v["shelters"]}
        return (
            caps_ok
            and view["NLD"]["security_level"] == "suspended"
            and all(beds[s] == b for s, b in BEDS.items())
        )

    wait_for(applied, "the new caps, beds and NLD's suspension in the ops view")


def _all_locations(worker: ServiceProcess) -> dict[str, dict[str, Any]] | None:
    """Every location as `worker`'s ops view shows it; None while the view is incomplete
    (a peer's lanes not answering yet, as while two workers share out the lanes)."""
    body = httpx.get(f"{worker.url}/v1/locations", timeout=10.0).json()
    if not body["complete"]:
        return None
    return {view["location"]: view for view in body["locations"]}


def _owner_of(workers: dict[str, ServiceProcess], code: str) -> ServiceProcess:
    view = wait_for(lambda: _all_locations(workers["1"]), "a complete ops view")
    served_by = view[code]["served_by"]
    return next(w for w in workers.values() if served_by.rstrip("/") == w.url)


def _group(n: int) -> Envelope[Any]:
    crossing = list(ZONES)[n % len(ZONES)]
    size = (1, 2, 3, 1, 4, 2)[n % 6]
    case_ids = [f"A5{n:05d}{i:02d}" for i in range(size)]
    return accepted(f"G-2026-{crossing}-{n:06d}", crossing, case_ids, now_in(ZONES[crossing]))


def _outcomes_once_all_answered(
    runtime: Runtime, groups: set[str]
) -> tuple[list[Envelope[Any]], list[Envelope[Any]]] | None:
    placed = [r.event() for r in events(runtime, "placed", lambda e: False, timeout=1.0)]
    deferred = [
        r.event() for r in events(runtime, "placement-deferred", lambda e: False, timeout=1.0)
    ]
    answered = {e.data.group_id for e in placed} | {e.data.group_id for e in deferred}
    return (placed, deferred) if groups <= answered else None


def _where_unanswered_groups_stopped(runtime: Runtime, groups: set[str]) -> str:
    """For each group with no answer: its `screened` record and its placement command."""
    answered = {
        r.event().data.group_id
        for topic in ("placed", "placement-deferred")
        for r in events(runtime, topic, lambda e: False, timeout=1.0)
    }
    screened = {
        r.event().data.group_id: r for r in events(runtime, "screened", lambda e: False, 1.0)
    }
    commands: dict[str, Record] = {}
    for record in read_topic(runtime.settings, "placement-commands", timeout=1.0):
        command = decode_command(record.value)
        if isinstance(command, PlaceGroup):
            commands.setdefault(command.group_id, record)
    lines = []
    for group in sorted(groups - answered):
        source, command_at = screened.get(group), commands.get(group)
        lines.append(
            f"{group}: screened at "
            f"{f'{source.partition}@{source.offset}' if source else 'none'}, command at "
            f"{f'{command_at.partition}@{command_at.offset}' if command_at else 'none'}"
        )
    return "groups with no answer:\n" + "\n".join(lines)


def _check_invariants(runtime: Runtime, placed: list[Envelope[Any]]) -> int:
    """Replay `placed` against beds and caps; returns the number of identical duplicates."""
    by_id: dict[str, Envelope[Any]] = {}
    for event in placed:
        if event.event_id in by_id:
            assert by_id[event.event_id].data == event.data, "same event_id, different placement"
        by_id[event.event_id] = event
    per_group = Counter(e.data.group_id for e in by_id.values())
    assert max(per_group.values()) == 1, f"groups placed twice: {per_group.most_common(3)}"

    beds = {s.id: s.beds for s in runtime.reference.shelters} | BEDS
    caps = {loc.code: loc.daily_reception_cap for loc in runtime.reference.locations} | CAPS
    for shelter_id, occupied in _occupancy(by_id.values()).items():
        assert occupied <= beds[shelter_id], (
            f"{shelter_id}: {occupied} people, {beds[shelter_id]} beds"
        )
    for (code, day), received in _received(by_id.values()).items():
        assert received <= caps[code], f"{code} received {received} on {day}, cap {caps[code]}"
    return len(placed) - len(by_id)


def _occupancy(placed: Any) -> dict[str, int]:
    occupied: dict[str, int] = defaultdict(int)
    for event in placed:
        occupied[event.data.shelter_id] += event.data.beds
    return occupied


def _received(placed: Any) -> dict[tuple[str, date], int]:
    """People received per location and local date: the day of return, or of the retry."""
    received: dict[tuple[str, date], int] = defaultdict(int)
    for event in placed:
        data = event.data
        day = (
            local_date(data.returned_at)
            if data.deferred_since is None
            else local_date(event.occurred_at, offset_of=data.returned_at)
        )
        received[(data.location, day)] += data.beds
    return received


def _check_ops_view_matches_replay(worker: ServiceProcess, placed: list[Envelope[Any]]) -> None:
    """The recovered state is exactly what the placements on the log add up to."""
    replayed = _occupancy({e.event_id: e for e in placed}.values())

    def matches() -> bool:
        view = _all_locations(worker)
        if view is None:
            return False
        occupied = {s["shelter_id"]: s["occupied"] for v in view.values() for s in v["shelters"]}
        return all(occupied[s] == replayed.get(s, 0) for s in occupied)

    wait_for(matches, "the ops view to show the replayed occupancy", timeout=20)
