"""Families submitted as upstreams really send them get one decision each, on the real broker.

Records reach us 1 to 48 hours after the return, in random order, under random keys,
from two sources interleaved; each family is decided once, over all its members, and
checked against `decide_group` over the whole family.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from schemas.decisions import Screened
from schemas.person import PersonReturned
from services.audit.synthetic_people import people
from services.runtime.context import Runtime
from services.runtime.publishing import EventProducer
from services.screening.rules import decide_group
from services.screening.ruleset import load_rule_set
from tests.conftest import StartService
from tests.integration.stack import Stack, running_stack
from tests.integration.test_audit_services import eventually_verified
from tests.support.broker import BrokerInfo
from tests.support.kafka import read_topic, scratch_runtime

FAMILIES = 40
SOURCES = ("cbp-elp", "inm-desk")


@pytest.fixture(scope="module")
def stack(kafka: BrokerInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with (
        scratch_runtime(kafka.bootstrap_servers) as runtime,
        running_stack(runtime, tmp_path_factory.mktemp("stack"), wait_minutes="0.5") as running,
    ):
        yield running


def late_families(rng: random.Random, count: int = FAMILIES) -> list[list[PersonReturned]]:
    """Families returned at El Paso 1 to 48 hours ago, each from one of two sources."""
    now = datetime.now(UTC)
    families = []
    for number in range(count):
        returned_at = now - timedelta(hours=rng.uniform(1, 48))
        source = SOURCES[number % 2]
        members = [
            person.model_copy(
                update={"source": source, "submission_id": f"{source}-{person.submission_id}"}
            )
            for person in people(rng, 0.1, 9000 + number, "ELP", returned_at)
        ]
        families.append(members)
    return families


def test_late_out_of_order_families_under_random_keys_get_one_decision_each(
    stack: Stack,
) -> None:
    rng = random.Random(11)
    families = late_families(rng)
    records = [member for family in families for member in family]
    rng.shuffle(records)  # every source's batch order, interleaved
    with EventProducer(stack.runtime.router) as producer:
        for record in records:
            raw = record.model_dump_json().encode()
            producer.publish_bytes("returns-inbound", raw, key=str(uuid.uuid4()), crossing="ELP")
    groups = {family[0].group_id: family for family in families}
    screened = read_topic(
        stack.runtime.settings,
        "screened",
        until=lambda rs: len({r.key for r in rs}) >= len(groups),
        timeout=90,
        settle=3.0,
    )
    decisions: dict[str, list[Screened]] = {}
    for message in screened:
        data = message.event().data
        decisions.setdefault(data.group_id, []).append(data)
    rules = load_rule_set("2021-12")
    split = {g: len(d) for g, d in decisions.items() if g in groups and len(d) != 1}
    assert split == {}, f"families with more than one decision: {split}"
    for group_id, family in groups.items():
        [decision] = decisions[group_id]
        whole = decide_group(family, rules)
        assert (decision.decision, decision.members) == (whole.decision, whole.members)
        assert decision.window is not None
        assert decision.window.closed_by == "complete"


@pytest.mark.chaos  # a fault run (73 s): `make chaos`, not `make test`
def test_families_stay_whole_when_intake_and_screening_are_killed_mid_burst(
    runtime: Runtime, start_service: StartService
) -> None:
    services = {
        name: start_service(name, wait=False)
        for name in ("intake", "screening", "placement", "notify")
    }
    for service in services.values():
        service.wait_ready()
    rng = random.Random(23)
    families = late_families(rng, count=120)
    records = [member for family in families for member in family]
    rng.shuffle(records)
    third = len(records) // 3
    with EventProducer(runtime.router) as producer:
        for number, record in enumerate(records):
            if number in (third, 2 * third):
                producer.flush()
                victim = services["screening" if number == third else "intake"]
                victim.kill()  # SIGKILL, mid-burst
                victim.start(wait=False)
            raw = record.model_dump_json().encode()
            producer.publish_bytes("returns-inbound", raw, key=str(uuid.uuid4()), crossing="ELP")
    groups = {family[0].group_id for family in families}
    screened = read_topic(
        runtime.settings,
        "screened",
        until=lambda rs: len({r.key for r in rs}) >= len(groups),
        timeout=120,
        settle=3.0,
    )
    decisions: dict[str, set[str]] = {}
    for message in screened:
        event = message.event()
        decisions.setdefault(event.data.group_id, set()).add(event.event_id)
    split = {group: len(ids) for group, ids in decisions.items() if len(ids) != 1}
    assert split == {}, f"families with more than one decision after the kills: {split}"
    verified = eventually_verified(runtime)
    assert verified.exit_code == 0, verified.stdout[-3000:]
