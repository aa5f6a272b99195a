"""A crashed placement worker recovers its state exactly, and how long that takes.

Re-run to measure (the figures are printed; ``-s`` shows them):

    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092 PLACEMENT_RECOVERY_GROUPS=1000 \\
        .venv/bin/pytest tests/integration/test_placement_recovery.py -p no:cacheprovider -q -s
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from kafka import KafkaConsumer, TopicPartition

from services.runtime.context import Runtime
from tests.conftest import StartService
from tests.integration.test_placement_support import (
    accepted,
    departed,
    events,
    now_in,
    publish,
    wait_for,
)
from tests.support.kafka import Record, read_topic
from tests.support.services import ServiceProcess

GROUPS = int(os.environ.get("PLACEMENT_RECOVERY_GROUPS", "200"))
CROSSINGS = {
    "SAN": timezone(timedelta(hours=-8)),
    "ELP": timezone(timedelta(hours=-7)),
    "LRD": timezone(timedelta(hours=-6)),
    "BRO": timezone(timedelta(hours=-6)),
}
CHANGELOG = "returns-placement-placement-state-changelog"
VOLATILE = {"as_of", "served_by", "oldest_waiting_age_seconds"}


def test_a_killed_worker_recovers_exactly_the_state_it_had(
    runtime: Runtime, start_service: StartService
) -> None:
    placement = start_service("placement")
    groups = [_group(n) for n in range(1, GROUPS + 1)]
    publish(runtime, "screened", groups)
    placed = _wait_until_answered(runtime, {g.data.group_id for g in groups})
    # Every tenth placed group leaves again, freeing beds for those waiting.
    leaving = placed[::10]
    publish(runtime, "shelter-departed", [departed(g, loc, s) for g, loc, s in leaving])
    wait_for(lambda: _total_departures_applied(placement, len(leaving)), "departures applied")
    before = _stable(_all_locations(placement))

    placement.kill()
    started = time.monotonic()
    placement.start()
    recovered_after = time.monotonic() - started

    assert _stable(_all_locations(placement)) == before
    changelog = _whole_changelog(runtime)
    keys = {record.key for record in changelog}
    size = sum(len(record.value) for record in changelog)
    print(
        f"\nrecovery: {GROUPS} groups, {len(changelog)} changelog records "
        f"({size / 1024:.0f} KiB), {len(keys)} table keys; killed worker ready again after "
        f"{recovered_after:.2f} s (process start and group rejoin included), of which "
        f"{_changelog_read_seconds(placement):.2f} s reading the changelog"
    )


def _whole_changelog(runtime: Runtime) -> list[Record]:
    """Every record of the state table's changelog, up to its end offsets now."""
    consumer = KafkaConsumer(bootstrap_servers=runtime.settings.bootstrap_servers)
    try:
        partitions = consumer.partitions_for_topic(runtime.settings.topic(CHANGELOG)) or set()
        ends = consumer.end_offsets(
            [TopicPartition(runtime.settings.topic(CHANGELOG), p) for p in partitions]
        )
    finally:
        consumer.close()
    total = sum(ends.values())
    return read_topic(runtime.settings, CHANGELOG, until=lambda r: len(r) >= total, timeout=60)


def _changelog_read_seconds(worker: ServiceProcess) -> float:
    """From faust's log: the last table recovery, from reading highwaters to completion."""
    stamps: dict[str, datetime] = {}
    for line in worker.log_path.read_text(errors="replace").splitlines():
        for mark in ("Highwater for active changelog partitions", "Recovery complete"):
            if mark in line and line.startswith("{"):
                stamps[mark] = datetime.fromisoformat(json.loads(line)["ts"])
    done, start = stamps["Recovery complete"], stamps["Highwater for active changelog partitions"]
    return (done - start).total_seconds()


def _group(n: int) -> Any:
    crossing = list(CROSSINGS)[n % len(CROSSINGS)]
    size = (1, 2, 3, 4)[n % 4]
    case_ids = [f"A6{n:05d}{i:02d}" for i in range(size)]
    return accepted(f"G-2026-{crossing}-{n:06d}", crossing, case_ids, now_in(CROSSINGS[crossing]))


def _wait_until_answered(runtime: Runtime, groups: set[str]) -> list[tuple[str, str, str]]:
    """(group, location, shelter) of each placed group, once every group has an answer."""

    def answered() -> list[tuple[str, str, str]] | None:
        placed = [r.event().data for r in events(runtime, "placed", lambda e: False, timeout=1.0)]
        waiting = events(runtime, "placement-deferred", lambda e: False, timeout=1.0)
        seen = {p.group_id for p in placed} | {r.event().data.group_id for r in waiting}
        return [(p.group_id, p.location, p.shelter_id) for p in placed] if groups <= seen else None

    return wait_for(answered, "every group placed or deferred", timeout=60)


def _all_locations(worker: ServiceProcess) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(f"{worker.url}/v1/locations", timeout=10.0).json()
    assert body["complete"], body
    return body


def _total_departures_applied(worker: ServiceProcess, count: int) -> bool:
    body = httpx.get(f"{worker.url}/v1/placement/counters", timeout=5.0).json()
    return bool(body["commands"].get("release-beds", 0) >= count)


def _stable(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The ops view without what changes with the clock or the worker's address."""
    return [
        {key: value for key, value in view.items() if key not in VOLATILE}
        for view in body["locations"]
    ]
