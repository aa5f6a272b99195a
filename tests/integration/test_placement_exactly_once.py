"""Placement killed with SIGKILL mid-burst, with and without faust's exactly-once mode.

Counts what an auditor reading with ``read_committed`` sees: identical duplicates of
``placed`` and ``placement-deferred`` (same ``event_id``), groups with no answer, and
how long the burst took to be answered. docs/adr/0025-placement-exactly-once.md gives
the figures. At-least-once must lose nothing and repeat nothing but identical events;
exactly-once, which stalls placement, is reported as an expected failure with its count.
Run with ``RETURNS_MEASURE_EXACTLY_ONCE=1``.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from datetime import timedelta, timezone
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition

from schemas.codec import decode
from schemas.decisions import Placed, PlacementDeferred
from schemas.envelope import Envelope
from services.runtime.context import Runtime
from tests.conftest import StartService
from tests.integration.test_placement_support import accepted, now_in, publish, wait_for

ZONES = {"SAN": timezone(timedelta(hours=-8)), "ELP": timezone(timedelta(hours=-7))}
GROUPS = 120
# A measurement, not part of `make test` (test_placement_failover covers the kill itself).
pytestmark = pytest.mark.skipif(
    os.environ.get("RETURNS_MEASURE_EXACTLY_ONCE") != "1",
    reason="a measurement (ADR 25): RETURNS_MEASURE_EXACTLY_ONCE=1 runs it",
)


def committed_records(runtime: Runtime, topic: str) -> list[Any]:
    """Every committed record of `topic`, read as an auditor reads with read_committed."""
    settings = runtime.settings
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    try:
        name = settings.topic(topic)
        tps = [TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name) or [])]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        records: list[Any] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=300).values():
                records.extend(batch)
            if all(consumer.position(tp) >= ends[tp] for tp in tps):
                break
        return records
    finally:
        consumer.close()


def outcomes(runtime: Runtime) -> dict[str, list[Envelope[Any]]]:
    return {
        topic: [decode(r.value, model) for r in committed_records(runtime, topic)]
        for topic, model in (("placed", Placed), ("placement-deferred", PlacementDeferred))
    }


@pytest.mark.parametrize("exactly_once", ["0", "1"])
def test_placement_killed_mid_burst_repeats_only_identical_events(
    runtime: Runtime, start_service: StartService, exactly_once: str
) -> None:
    worker = start_service("placement", RETURNS_EXACTLY_ONCE=exactly_once)
    burst = [_group(n) for n in range(1, GROUPS + 1)]
    started = time.monotonic()
    publish(runtime, "screened", burst[: GROUPS // 2])
    wait_for(lambda: len(outcomes(runtime)["placed"]) >= 5, "the first placements", 60)
    worker.kill()
    publish(runtime, "screened", burst[GROUPS // 2 :])
    worker.start()
    groups = {g.data.group_id for g in burst}

    def answered() -> dict[str, list[Envelope[Any]]] | None:
        seen = outcomes(runtime)
        return seen if groups <= _answered(seen) else None

    try:
        seen = wait_for(answered, "an answer for every group", 60)
    except AssertionError:
        if exactly_once == "0":
            raise
        got = len(_answered(outcomes(runtime)) & groups)
        pytest.xfail(f"exactly-once: {got} of {GROUPS} groups answered after 60 s")
    took = time.monotonic() - started
    repeats = {
        topic: sum(n - 1 for n in Counter(e.event_id for e in events).values())
        for topic, events in seen.items()
    }
    print(
        f"\nexactly_once={exactly_once}: {took:.1f} s to answer {GROUPS} groups; repeats {repeats}"
    )
    for events in seen.values():
        by_id: dict[str, Any] = {}
        for event in events:
            assert by_id.setdefault(event.event_id, event.data) == event.data


def _answered(seen: dict[str, list[Envelope[Any]]]) -> set[str]:
    return {e.data.group_id for events in seen.values() for e in events}


def _group(n: int) -> Envelope[Any]:
    crossing = list(ZONES)[n % len(ZONES)]
    case_ids = [f"A7{n:05d}{i:02d}" for i in range((1, 2, 3)[n % 3])]
    return accepted(f"G-2026-{crossing}-{n:06d}", crossing, case_ids, now_in(ZONES[crossing]))
