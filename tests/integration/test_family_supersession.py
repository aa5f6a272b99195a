"""A late member and a correction re-decide a family; placement and notify follow, for real.

All four services run as processes on the real broker, with a short wait window. Records
are submitted on `returns-inbound` under random keys, hours after the return.
- The López family is registered as two; the grandmother's record comes later and says
  three. The family is re-decided whole, placed again with three beds at one shelter,
  and its legal-aid request is amended, not sent twice.
- The Ramírez family is placed; a correction then says the mother is pregnant. The family
  is declined, its beds are released and its requests are withdrawn.
The audit then verifies the whole history, and fails once a split family is forged in.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.decisions import Reason, Screened, ScreenedMember
from schemas.envelope import event_id_for, make_envelope
from services.runtime.context import Runtime
from services.runtime.publishing import EventProducer
from tests.conftest import StartService
from tests.integration.test_audit_services import audit
from tests.support.kafka import read_topic
from tests.unit.contracts.samples import submission

RETURNED_AT = (datetime.now(UTC) - timedelta(hours=6)).astimezone().isoformat()


def person(group: str, case: str, size: int, n: int, **changes: Any) -> dict[str, Any]:
    return submission(
        submission_id=f"cbp-elp-{group}-{n}",
        case_id=case,
        group_id=group,
        group_size=size,
        returned_at=RETURNED_AT,
        **changes,
    )


def send(runtime: Runtime, *records: dict[str, Any]) -> None:
    with EventProducer(runtime.router) as producer:
        for record in records:
            raw = json.dumps(record, ensure_ascii=False).encode()
            producer.publish_bytes("returns-inbound", raw, key=str(uuid.uuid4()), crossing="ELP")


def events(
    runtime: Runtime, topic: str, group: str, at_least: int, timeout: float = 60
) -> list[Any]:
    records = read_topic(
        runtime.settings,
        topic,
        until=lambda rs: sum(r.key == group.encode() for r in rs) >= at_least,
        timeout=timeout,
    )
    return [r.event() for r in records if r.key == group.encode()]


def test_placement_and_notify_follow_the_live_decision_and_verify_holds(
    runtime: Runtime, start_service: StartService
) -> None:
    for service, env in (
        ("intake", {}),
        ("screening", {"RETURNS_GROUP_WAIT_MINUTES": "0.1", "RETURNS_GROUP_GRACE_SECONDS": "1"}),
        ("placement", {}),
        ("notify", {}),
    ):
        start_service(service, wait=False, **env).wait_ready()

    # The López family, registered as mother and son.
    mother = person("G-LOPEZ", "A212340001", 2, 1)
    son = person(
        "G-LOPEZ",
        "A212340002",
        2,
        2,
        person__date_of_birth="2014-06-01",
        person__role_in_group="child",
    )
    send(runtime, son, mother)
    [first_place] = events(runtime, "placed", "G-LOPEZ", 1)
    assert first_place.data.beds == 2
    # The grandmother's record reaches us later and counts the family as three.
    grandmother = person(
        "G-LOPEZ",
        "A212340003",
        3,
        3,
        person__date_of_birth="1970-02-11",
        person__role_in_group="relative",
    )
    send(runtime, grandmother)
    decisions = events(runtime, "screened", "G-LOPEZ", 2)
    assert [d.data.revision for d in decisions] == [1, 2]
    assert decisions[1].data.supersedes == decisions[0].event_id
    placements = events(runtime, "placed", "G-LOPEZ", 2)
    whole = placements[-1].data
    assert (whole.beds, sorted(whole.members)) == (3, ["A212340001", "A212340002", "A212340003"])
    [released] = events(runtime, "placement-withdrawn", "G-LOPEZ", 1)
    assert (released.data.reason, released.data.beds_released) == ("GROUP_CHANGED", 2)
    legal_aid = events(runtime, "legal-aid-requested", "G-LOPEZ", 1, timeout=30)
    assert len(legal_aid) == 1, "a re-placed family gets its request amended, not a second one"
    [amended] = events(runtime, "request-updated", "G-LOPEZ", 1)
    assert (amended.data.change, len(amended.data.members)) == ("amended", 3)

    # The Ramírez family is placed; a correction says the mother is pregnant.
    ramirez = person("G-RAMIREZ", "A212350001", 2, 1)
    daughter = person(
        "G-RAMIREZ",
        "A212350002",
        2,
        2,
        person__date_of_birth="2017-09-09",
        person__role_in_group="child",
    )
    send(runtime, ramirez, daughter)
    [placed] = events(runtime, "placed", "G-RAMIREZ", 1)
    correction = ramirez | {
        "submission_id": "cbp-elp-G-RAMIREZ-1-fix",
        "corrects": ramirez["submission_id"],
    }
    correction["declared"] = ramirez["declared"] | {"pregnant": True}
    send(runtime, correction)
    [_, declined] = events(runtime, "screened", "G-RAMIREZ", 2)
    assert declined.data.decision == "declined"
    [withdrawn] = events(runtime, "placement-withdrawn", "G-RAMIREZ", 1)
    assert withdrawn.data.reason == "NO_LONGER_ACCEPTED"
    assert (withdrawn.data.shelter_id, withdrawn.data.beds_released) == (placed.data.shelter_id, 2)
    updates = events(runtime, "request-updated", "G-RAMIREZ", 1)
    assert {u.data.change for u in updates} == {"withdrawn"}

    verified = audit(runtime, "verify", "--json", "--grace-minutes", "0")
    assert verified.exit_code == 0, verified.stdout[-3000:]

    # A forged decision for the grandmother alone, superseding nothing: a split family.
    forged = Screened(
        group_id="G-LOPEZ",
        decision="accepted",
        rule_set="2021-12",
        members=[
            ScreenedMember(
                case_id="A212340003", flags=[], needs=["legal_aid"], interpreter_language=None
            )
        ],
        reasons=list[Reason](),
        revision=1,
    )
    with EventProducer(runtime.router) as producer:
        producer.publish(
            "screened",
            make_envelope(
                forged,
                event_id=event_id_for("screened", "forged"),
                producer="screening/0.2.0",
                correlation_id="G-LOPEZ",
                causation_id="forged",
                crossing="ELP",
            ),
        )
    forged_run = audit(runtime, "verify", "--json", "--grace-minutes", "0")
    assert forged_run.exit_code != 0
    assert "G-LOPEZ" in forged_run.stdout
