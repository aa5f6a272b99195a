"""Given a partner that hangs, when notify delivers, then the other partners do not wait
for it, and notify's committed offsets never pass a delivery that has not settled."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from services.runtime.context import Runtime
from services.runtime.publishing import EventProducer
from tests.conftest import StartService
from tests.integration.test_notify_support import (
    FAST,
    Received,
    all_committed,
    committed_offsets,
    events_of,
    group_id,
    partners_file,
    placed_event,
    publish,
    running_partners,
    screened_event,
    wait_until,
)

GROUPS = range(1, 21)
# A hung request is answered by neither a read nor an attempt timeout within the test.
HANGING = {
    **FAST,
    "RETURNS_NOTIFY_READ_TIMEOUT": "300",
    "RETURNS_NOTIFY_ATTEMPT_TIMEOUT": "300",
}


def test_while_one_partner_hangs_another_partners_deliveries_keep_flowing(
    runtime: Runtime, start_service: StartService, tmp_path: Path
) -> None:
    with running_partners() as partners:
        partners.hang("/stuck")
        config = partners_file(tmp_path, stuck=partners.url("/stuck"), ok=partners.url("/ok"))
        start_service("notify", RETURNS_PARTNERS_FILE=str(config), **HANGING)
        publish(runtime, *(("screened", screened_event(g, vaccinate_first=False)) for g in GROUPS))

        published_at = {}
        with EventProducer(runtime.router) as producer:
            for g in GROUPS:
                published_at[group_id(g)] = time.monotonic()
                producer.publish("placed", placed_event(g))
                producer.flush()
        wait_until(lambda: len(partners.delivered("/ok")) == len(GROUPS), 60, "ok's deliveries")

        receipts = events_of(runtime, "notification-delivered", len(GROUPS), settle=0.5)
        stuck_tries = partners.tried("/stuck")
        stuck_open = partners.arrived("/stuck")
        ok = partners.delivered("/ok")
    latencies = sorted(r.at - published_at[r.event()["data"]["group_id"]] for r in ok)
    print(
        f"\nhealthy partner, placed -> webhook: median {statistics.median(latencies):.3f} s, "
        f"max {latencies[-1]:.3f} s over {len(latencies)} deliveries while the other hung"
    )
    assert {r.data.partner_id for r in receipts} == {"ok"}
    assert (stuck_open, stuck_tries) == (1, [])  # one request open, unanswered; 19 queued
    assert len({r.headers["idempotency-key"] for r in ok}) == len(GROUPS)


def test_a_hung_delivery_holds_back_the_committed_offset_so_a_crash_redelivers_it(
    runtime: Runtime, start_service: StartService, tmp_path: Path
) -> None:
    with running_partners() as partners:
        partners.hang("/stuck")
        config = partners_file(
            tmp_path,
            only={"stuck": ["care-requested"]},
            stuck=partners.url("/stuck"),
            ok=partners.url("/ok"),
        )
        notify = start_service("notify", RETURNS_PARTNERS_FILE=str(config), **HANGING)
        events = [("screened", screened_event(g)) for g in GROUPS]
        publish(runtime, *events, *(("placed", placed_event(g)) for g in GROUPS))
        # Each family has one legal-aid request (ok only) and one care request (both).
        wait_until(lambda: len(partners.delivered("/ok")) == 2 * len(GROUPS), 60, "ok's deliveries")
        for topic in ("placed", "legal-aid-requested", "notification-delivered"):
            wait_until(lambda t=topic: all_committed(runtime, t), 30, f"commits on {topic}")
        held = committed_offsets(runtime, "care-requested")

        notify.kill()
        partners.hang("/stuck", False)
        partners.release_hung()
        notify.start()
        # A partner may get a request twice (after a crash, or a partition read again);
        # it tells copies apart by their Idempotency-Key.
        wait_until(
            lambda: len(keys(partners.delivered("/stuck"))) == len(GROUPS), 90, "redeliveries"
        )
        failed = events_of(runtime, "notification-failed", 0, settle=0.5)
        stuck = partners.delivered("/stuck")
        ok = partners.delivered("/ok")
    assert set(held.values()) <= {0}, held  # nothing committed past the hung delivery
    assert len(keys(stuck)) == len(GROUPS)
    assert len(ok) == 2 * len(GROUPS)  # what ok already had is not sent again
    assert failed == []


def keys(received: list[Received]) -> set[str]:
    return {r.headers["idempotency-key"] for r in received}
