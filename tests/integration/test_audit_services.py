"""`returns audit` over a history written by the intake and screening services themselves.

Returns are submitted over Kafka to the real intake and screening workers; their
`person-returned` and `screened` events are read back, placed with the placement
policy and followed by notify's requests, as the downstream services would. The audit
must then re-derive every decision, show each chain, and answer a what-if.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient
from typer.testing import Result

from schemas.envelope import Envelope
from schemas.status import LocationStatusChanged
from services.audit.cli import audit_app
from services.audit.simulation import PlacementSimulator
from services.audit.synthetic import notify_event, ops_event
from services.audit.synthetic_people import CROSSINGS, people, weighted
from services.notify.requests import (
    care_requests_for_placement,
    legal_aid_for_placement,
    legal_aid_for_referral,
    request_event_id,
)
from services.placement.state import GroupRequest
from services.runtime.context import Runtime
from services.runtime.publishing import EventProducer
from services.screening.ruleset import RULE_SETS_DIR
from services.upstream import KafkaSubmitter
from tests.conftest import StartService
from tests.support.commands import run_command
from tests.support.kafka import read_topic
from tests.unit.screening.factories import returned

GROUPS = 24


def audit(runtime: Runtime, *args: str) -> Result:
    return run_command(audit_app, runtime, *args)


def submissions() -> list[dict[str, Any]]:
    """Realistic groups, a grandmother of 62 alone, and a family of three missing one."""
    rng = random.Random(3)
    # Days before now, not a fixed date: screening refuses a return older than its
    # retention when the record reaches it.
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=3)
    records = []
    for number in range(GROUPS - 2):
        moment = start + timedelta(minutes=40 * number)
        crossing = weighted(rng, CROSSINGS)
        records += [p.model_dump(mode="json") for p in people(rng, 0.1, number, crossing, moment)]
    late = start.isoformat()
    grandmother = returned(
        "A300000001", group_id="G-GRANDMOTHER", born="1964-05-01", returned_at=late
    )
    incomplete = [
        returned(
            f"A30000001{n}", group_id="G-INCOMPLETE", group_size=3, role="partner", returned_at=late
        )
        for n in (1, 2)
    ]
    return records + [p.model_dump(mode="json") for p in (grandmother, *incomplete)]


def downstream(runtime: Runtime, decisions: list[Envelope[Any]]) -> list[tuple[str, Any]]:
    """What placement and notify would write for these decisions."""
    reference = runtime.reference
    simulator = PlacementSimulator(reference)
    out: list[tuple[str, Any]] = []
    by_group = {d.data.group_id: d.data for d in decisions}
    for decision in decisions:
        data, crossing = decision.data, decision.crossing
        if data.decision == "referred":
            out += _referral(runtime, decision)
        if data.decision != "accepted" or data.decided_after is not None:
            continue
        members = tuple(m.case_id for m in data.members)
        group = GroupRequest(
            data.group_id, crossing, members, len(members), data.returned_at, decision.event_id
        )
        for output in simulator.accept(group, datetime.now(UTC)):
            out.append((output.event_type, output))
            if output.event_type == "placed":
                out += _requests(runtime, output, by_group[output.data.group_id])
    return out


def _referral(runtime: Runtime, decision: Envelope[Any]) -> list[tuple[str, Any]]:
    reference = runtime.reference
    request = legal_aid_for_referral(
        decision.data,
        reference.legal_aid_providers,
        {},
        decision.occurred_at,
        crossing=reference.crossing(decision.crossing),
    )
    if request is None:
        return []
    return [_request(request, decision, request_event_id(request.EVENT_TYPE, decision.event_id))]


def _requests(runtime: Runtime, placed: Envelope[Any], screened: Any) -> list[tuple[str, Any]]:
    reference = runtime.reference
    legal = legal_aid_for_placement(placed.data, screened, reference.legal_aid_providers, {})
    out = [_request(legal, placed, request_event_id(legal.EVENT_TYPE, placed.event_id))]
    for care in care_requests_for_placement(placed.data, screened, reference.health_providers):
        event_id = request_event_id(care.EVENT_TYPE, placed.event_id, care.case_id)
        out.append(_request(care, placed, event_id))
    return out


def _decided(records: list[Any]) -> int:
    return sum(len(record.event().data.members) for record in records)


def _request(data: Any, cause: Envelope[Any], event_id: str) -> tuple[str, Envelope[Any]]:
    return data.EVENT_TYPE, notify_event(data, cause, event_id)


def test_a_history_written_by_intake_and_screening_is_borne_out(
    runtime: Runtime, start_service: StartService, tmp_path: Path
) -> None:
    intake = start_service("intake", wait=False)
    screening = start_service("screening", wait=False, RETURNS_GROUP_WAIT_MINUTES="0.1")
    intake.wait_ready()
    screening.wait_ready()
    records = submissions()
    with KafkaSubmitter(runtime.router) as submit:
        for record in records:
            submit(record)
    settings = runtime.settings
    screened = read_topic(
        settings, "screened", until=lambda r: _decided(r) >= len(records), timeout=90
    )
    decisions = sorted((r.event() for r in screened), key=lambda e: e.occurred_at)
    assert len({d.data.group_id for d in decisions}) == GROUPS
    with EventProducer(runtime.router) as producer:
        for topic, envelope in downstream(runtime, decisions):
            producer.publish(topic, envelope)

    verified = audit(runtime, "verify", "--json")
    assert verified.exit_code == 0, verified.stdout[-3000:]
    document = json.loads(verified.stdout)
    assert document["events"]["person-returned"] == len(records)
    assert document["decisions_rechecked"] == len(decisions)

    chain = json.loads(audit(runtime, "case", "G-INCOMPLETE", "--json").stdout)
    assert [entry["topic"] for entry in chain] == ["person-returned", "person-returned", "screened"]
    assert chain[2]["caused_by"] == [1, 2]
    assert "GROUP_INCOMPLETE" in chain[2]["summary"]

    rules = tmp_path / "older-at-65.toml"
    text = (RULE_SETS_DIR / "2021-12.toml").read_text().replace('"2021-12"', '"older-at-65"')
    rules.write_text(text.replace("older_person_age = 60", "older_person_age = 65"))
    what_if = json.loads(audit(runtime, "what-if", "--rules", str(rules), "--json").stdout)
    changed = {c["group_id"]: c["alternative"] for c in what_if["changed"]}
    assert changed["G-GRANDMOTHER"] == "accepted"
    assert sum(what_if["groups_rerun"].values()) == len(decisions)


def test_a_history_written_by_all_four_services_is_borne_out(
    runtime: Runtime, start_service: StartService
) -> None:
    """Intake, screening, placement and notify for real; a queue at CJS, then drained."""
    for service, env in (
        ("intake", {}),
        ("screening", {"RETURNS_GROUP_WAIT_MINUTES": "0.1"}),
        ("placement", {}),
        ("notify", {}),
    ):
        start_service(service, wait=False, **env).wait_ready()
    rng = random.Random(9)
    now = datetime.now(UTC)
    records = [
        person.model_dump(mode="json")
        for n in range(40)
        for person in people(rng, 0.0, n, "ELP", now - timedelta(hours=3, minutes=-2 * n))
    ]
    with KafkaSubmitter(runtime.router) as submit:
        for record in records:
            submit(record)
    verified = eventually_verified(
        runtime, lambda d: d["events"].get("person-returned") == len(records)
    )
    assert verified.exit_code == 0, verified.stdout[-3000:]
    first = json.loads(verified.stdout)
    assert first["events"]["placement-deferred"] > 0  # the day's cap of 30 was reached
    with EventProducer(runtime.router) as producer:
        raised = LocationStatusChanged(
            location="CJS", security_level="normal", daily_cap=200, effective_at=now
        )
        producer.publish("location-status-changed", ops_event(raised, "CJS-cap-200", "CJS-cap-200"))
    verified = eventually_verified(
        runtime, lambda d: d["events"]["placed"] > first["events"]["placed"]
    )
    assert verified.exit_code == 0, verified.stdout[-3000:]


def eventually_verified(
    runtime: Runtime, also: Callable[[dict[str, Any]], bool] = lambda d: True, timeout: float = 90
) -> Result:
    """Verify until it passes (the services may still be working) or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        result = audit(runtime, "verify", "--json", "--grace-minutes", "0")
        if result.exit_code == 0 and also(json.loads(result.stdout)):
            return result
        if time.monotonic() > deadline:
            return result
        time.sleep(1.0)


def test_an_audit_writes_nothing_and_leaves_no_consumer_group(runtime: Runtime) -> None:
    assert audit(runtime, "verify").exit_code == 0  # an empty history verifies
    assert audit(runtime, "case", "A212345678").exit_code == 1
    prefix = runtime.settings.topic_prefix
    groups = _consumer_groups(runtime)
    assert [g for g in groups if g.startswith(prefix) or "audit" in g] == []
    for topic in ("person-returned", "screened", "placed"):
        assert read_topic(runtime.settings, topic, timeout=1.0) == []


def _consumer_groups(runtime: Runtime) -> list[str]:
    admin = KafkaAdminClient(bootstrap_servers=runtime.settings.bootstrap_servers)
    try:
        return [str(group["group_id"]) for group in admin.list_groups()]
    finally:
        admin.close()
