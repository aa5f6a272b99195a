"""Given a family re-decided and re-placed on a real broker, when notify runs, then its
requests follow: amended rather than doubled, withdrawn when it is declined, and the
partner holding a request is told by webhook."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas.decisions import PlacementWithdrawn
from schemas.envelope import Envelope, event_id_for, make_envelope
from services.notify.delivery import verify
from services.runtime.context import Runtime
from tests.conftest import StartService
from tests.integration.test_notify_support import (
    FAST,
    case_ids,
    events_of,
    group_id,
    partners_file,
    placed_event,
    publish,
    running_partners,
    screened_event,
    secret,
    wait_until,
)


def re_decided(group: int, size: int, before: Envelope[Any], **fields: Any) -> Envelope[Any]:
    """The family's decision again with `size` members, superseding `before`."""
    first = screened_event(group, size=size, **fields)
    data = first.data.model_copy(update={"supersedes": before.event_id, "revision": 2})
    return first.model_copy(
        update={"data": data, "event_id": event_id_for("screened", "again", group_id(group))}
    )


def re_placed(group: int, size: int, decision: Envelope[Any]) -> Envelope[Any]:
    placed = placed_event(group, size=size)
    return placed.model_copy(
        update={
            "event_id": event_id_for("placed", "again", group_id(group)),
            "causation_id": decision.event_id,
        }
    )


def released(
    group: int, reason: str, placed: Envelope[Any], decision: Envelope[Any]
) -> Envelope[PlacementWithdrawn]:
    document = {
        "group_id": group_id(group),
        "location": "CJS",
        "shelter_id": "CJS-S01",
        "members": list(placed.data.members),
        "beds_released": placed.data.beds,
        "reason": reason,
        "screened_event_id": decision.event_id,
        "placed_event_id": placed.event_id,
    }
    return make_envelope(
        PlacementWithdrawn.model_validate_json(json.dumps(document)),
        event_id=event_id_for("placement-withdrawn", reason, group_id(group)),
        producer="placement-test/0",
        correlation_id=group_id(group),
        causation_id=decision.event_id,
        crossing="ELP",
    )


def test_a_re_placed_family_keeps_one_request_and_a_declined_one_has_it_withdrawn(
    runtime: Runtime, start_service: StartService, tmp_path: Path
) -> None:
    with running_partners() as partners:
        config = partners_file(
            tmp_path,
            only={"red-juridica": ["legal-aid-requested"]},
            **{"red-juridica": partners.url("/red-juridica")},
        )
        start_service("notify", RETURNS_PARTNERS_FILE=str(config), **FAST)
        # Family 1 gains a third member and is placed again in Juárez; family 2 is declined.
        first, placed = screened_event(1, size=2), placed_event(1, size=2)
        again = re_decided(1, 3, first)
        declined_first, declined_placed = screened_event(2), placed_event(2)
        declined = re_decided(2, 2, declined_first, decision="declined")
        publish(
            runtime,
            ("screened", first),
            ("placed", placed),
            ("screened", declined_first),
            ("placed", declined_placed),
        )
        events_of(runtime, "legal-aid-requested", 2)
        publish(
            runtime,
            ("screened", again),
            ("placement-withdrawn", released(1, "GROUP_CHANGED", placed, again)),
            ("placed", re_placed(1, 3, again)),
            ("screened", declined),
            ("placement-withdrawn", released(2, "NO_LONGER_ACCEPTED", declined_placed, declined)),
        )

        updates = {
            (e.data.group_id, e.data.request_type, e.data.change): e
            for e in events_of(runtime, "request-updated", 3, settle=1.0)
        }
        wait_until(
            lambda: len(partners.delivered("/red-juridica")) == 4,
            timeout=30,
            what="both requests and both of their updates to reach the lawyers",
        )
        delivered = partners.delivered("/red-juridica")
    assert len(events_of(runtime, "legal-aid-requested", 2, settle=1.0)) == 2
    assert set(updates) == {
        (group_id(1), "legal-aid-requested", "amended"),
        (group_id(2), "legal-aid-requested", "withdrawn"),
        (group_id(2), "care-requested", "withdrawn"),
    }
    amended = updates[(group_id(1), "legal-aid-requested", "amended")].data
    assert (amended.members, amended.reason) == (case_ids(1, 3), "GROUP_CHANGED")
    assert updates[(group_id(2), "care-requested", "withdrawn")].data.reason == (
        "NO_LONGER_ACCEPTED"
    )
    hooks = [d for d in delivered if d.headers["x-event-type"] == "request-updated"]
    assert {d.event()["event_id"] for d in hooks} == {
        updates[(group_id(1), "legal-aid-requested", "amended")].event_id,
        updates[(group_id(2), "legal-aid-requested", "withdrawn")].event_id,
    }
    assert all(verify(d.body, secret("red-juridica"), d.headers["x-signature"]) for d in hooks)
    assert all(d.headers["idempotency-key"] == d.event()["event_id"] for d in hooks)
