"""Given a burst of placements, when notify is killed (SIGKILL) in the middle of it and
started again, then no request is lost: every placed family has its legal-aid request,
and the partner eventually gets every request at least once. Duplicates are allowed only
as identical copies (same event id, same data); they are counted and reported."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from services.runtime.context import Runtime
from tests.conftest import StartService
from tests.integration.test_notify_support import (
    FAST,
    group_id,
    partners_file,
    placed_event,
    publish,
    running_partners,
    screened_event,
    wait_until,
)
from tests.support.kafka import Record, read_topic

GROUPS = range(1, 41)  # 40 families: 40 legal-aid and 40 vaccination requests


def test_a_crash_in_the_middle_of_a_burst_loses_no_request(
    runtime: Runtime, start_service: StartService, tmp_path: Path
) -> None:
    with running_partners() as partners:
        partners.slow_down("/juridica", 0.05)  # a busy partner: the burst is still in flight
        config = partners_file(tmp_path, juridica=partners.url("/juridica"))
        notify = start_service("notify", RETURNS_PARTNERS_FILE=str(config), **FAST)
        publish(runtime, *(("screened", screened_event(g)) for g in GROUPS))
        publish(runtime, *(("placed", placed_event(g)) for g in GROUPS[:20]))
        wait_until(lambda: len(partners.delivered("/juridica")) >= 5, 60, "the burst to start")

        # The second half lands while notify is busy: the kill hits decisions and deliveries.
        publish(runtime, *(("placed", placed_event(g)) for g in GROUPS[20:]))
        notify.kill()
        delivered_before_crash = len(partners.delivered("/juridica"))
        notify.start()

        legal_aid = read_topic(
            runtime.settings, "legal-aid-requested", until=_covers_groups, timeout=90
        )
        care = read_topic(runtime.settings, "care-requested", until=_covers_groups, timeout=90)
        requests = legal_aid + care
        wanted = {record.event().event_id for record in requests}
        wait_until(
            lambda: wanted <= _idempotency_keys(partners.delivered("/juridica")),
            90,
            "every request delivered",
        )
        deliveries = partners.delivered("/juridica")

    assert delivered_before_crash < 2 * len(GROUPS)  # the kill did land mid-burst
    assert {r.event().data.group_id for r in legal_aid} == {group_id(g) for g in GROUPS}
    assert len(wanted) == 2 * len(GROUPS)
    _assert_duplicates_identical(requests)
    copies = Counter(r.headers["idempotency-key"] for r in deliveries)
    by_id: dict[str, set[bytes]] = defaultdict(set)
    for received in deliveries:
        by_id[received.headers["idempotency-key"]].add(received.body)
    print(
        f"\n{delivered_before_crash} deliveries before the kill; afterwards "
        f"{len(requests) - len(wanted)} duplicate request records and "
        f"{sum(copies.values()) - len(copies)} duplicate deliveries of {len(copies)} requests"
    )
    assert all(len(bodies) == 1 for bodies in by_id.values())  # a duplicate is the same bytes


def _covers_groups(records: list[Record]) -> bool:
    return {r.event().data.group_id for r in records} >= {group_id(g) for g in GROUPS}


def _idempotency_keys(received: list[Any]) -> set[str]:
    return {r.headers["idempotency-key"] for r in received}


def _assert_duplicates_identical(records: list[Record]) -> None:
    """A request re-issued after the crash has the same id and the same data."""
    data: dict[str, Any] = {}
    for record in records:
        event = record.event()
        assert data.setdefault(event.event_id, event.data) == event.data
