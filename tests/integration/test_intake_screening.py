"""Intake and screening on the real broker: HTTP and Kafka in, one explained decision out."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.runtime.context import Runtime
from services.runtime.publishing import EventProducer
from services.upstream import KafkaSubmitter
from tests.integration.stack import Stack, dump, running_stack
from tests.support.broker import BrokerInfo
from tests.support.kafka import scratch_runtime
from tests.unit.contracts.samples import submission


@pytest.fixture(scope="module")
def stack(kafka: BrokerInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with (
        scratch_runtime(kafka.bootstrap_servers) as runtime,
        running_stack(runtime, tmp_path_factory.mktemp("stack")) as running,
    ):
        yield running


def member(group: str, case: str, n: int, size: int, **changes: Any) -> dict[str, Any]:
    return submission(
        submission_id=f"cbp-elp-2026-11-27-{group}-{n}",
        case_id=case,
        group_id=group,
        group_size=size,
        **changes,
    )


def family_of_three(group: str) -> list[dict[str, Any]]:
    """A Honduran family returned at El Paso: mother (pregnant), father, a girl of 7."""
    return [
        member(group, "A212345671", 1, 3, declared__pregnant=True),
        member(
            group,
            "A212345672",
            2,
            3,
            person__given_names="José Luis",
            person__sex="M",
            person__date_of_birth="1990-07-19",
            person__role_in_group="partner",
        ),
        member(
            group,
            "A212345673",
            3,
            3,
            person__given_names="Daniela",
            person__date_of_birth="2019-05-04",
            person__role_in_group="child",
        ),
    ]


def test_a_family_of_three_over_http_gets_one_declined_decision(stack: Stack) -> None:
    answers = [stack.post(record) for record in family_of_three("G-HTTP-0001")]
    assert [a.status_code for a in answers] == [202, 202, 202]
    [decision] = stack.events_for("screened", "G-HTTP-0001", settle=2.0)
    data = decision.data
    assert data.decision == "declined"
    assert data.rule_set == "2021-12"
    assert [(r.case_id, r.code) for r in data.reasons] == [("A212345671", "PREGNANT")]
    assert [m.case_id for m in data.members] == ["A212345671", "A212345672", "A212345673"]
    person_returned = stack.events_for("person-returned", "G-HTTP-0001", at_least=3)
    assert decision.causation_id is not None
    assert {a.json()["event_id"] for a in answers} == {e.event_id for e in person_returned}


def test_kafka_submissions_go_through_the_same_rules(stack: Stack) -> None:
    with KafkaSubmitter(stack.runtime.router) as submit:
        for record in family_of_three("G-KAFKA-0001"):
            record["declared"]["pregnant"] = False
            submit(record)
    [decision] = stack.events_for("screened", "G-KAFKA-0001", settle=2.0)
    assert decision.data.decision == "accepted"
    needs = {m.case_id: m.needs for m in decision.data.members}
    assert needs["A212345673"] == ["legal_aid"]


def test_an_incomplete_group_is_referred_when_its_window_passes(stack: Stack) -> None:
    two_of_three = family_of_three("G-WINDOW-0001")[1:]
    for record in two_of_three:
        assert stack.post(record).status_code == 202
    [decision] = stack.events_for("screened", "G-WINDOW-0001", timeout=60)
    assert decision.data.decision == "referred"
    assert [(r.case_id, r.code) for r in decision.data.reasons] == [(None, "GROUP_INCOMPLETE")]


def test_a_member_arriving_after_the_decision_re_decides_the_whole_group(stack: Stack) -> None:
    family = family_of_three("G-LATE-0001")
    for record in family[1:]:
        stack.post(record)
    [first] = stack.events_for("screened", "G-LATE-0001", timeout=60)
    stack.post(family[0])
    decisions = stack.events_for("screened", "G-LATE-0001", at_least=2, timeout=60)
    whole = decisions[-1]
    assert (whole.data.supersedes, whole.data.revision) == (first.event_id, 2)
    assert [m.case_id for m in whole.data.members] == ["A212345671", "A212345672", "A212345673"]
    assert whole.data.decision == "declined"  # she is pregnant: the family stays together


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        pytest.param(b'{"submission_id": "x", ', "json_invalid", id="malformed-json"),
        pytest.param(dump(submission(group_size="three")), "int_type", id="wrong-type"),
        pytest.param(
            dump(submission(favourite_colour="blue")), "extra_forbidden", id="unknown-field"
        ),
        pytest.param(
            dump(submission(crossing="NYC")), "crossing_not_designated", id="unknown-crossing"
        ),
    ],
)
def test_bad_kafka_submissions_end_on_intake_rejected(stack: Stack, raw: bytes, code: str) -> None:
    key = f"bad-{code}"
    with EventProducer(stack.runtime.router) as producer:
        producer.publish_bytes("returns-inbound", raw, key=key, crossing="ELP")
    [rejection] = stack.events_for("intake-rejected", key)
    assert code in {reason.code for reason in rejection.data.reasons}
    assert base64.b64decode(rejection.data.original_base64) == raw
    assert rejection.data.origin.channel == "kafka"


def test_bad_http_submissions_are_answered_and_recorded(stack: Stack) -> None:
    oversized = stack.post(b"{" + b" " * 70_000 + b"}")
    assert oversized.status_code == 413
    invalid = stack.post(submission(submission_id="http-bad-1", crossing="NYC", group_size=40))
    assert invalid.status_code == 422
    assert {e["code"] for e in invalid.json()["errors"]} == {
        "crossing_not_designated",
        "less_than_equal",
    }
    unauthorised = httpx.post(f"{stack.intake.url}/v1/returns", content=b"{}", timeout=10)
    assert unauthorised.status_code == 401
    mismatch = stack.post(submission(submission_id="http-bad-2"), source="cbp-san")
    assert mismatch.status_code == 422
    records = stack.read("intake-rejected", 0, timeout=5)
    http_rejections = [r.event().data for r in records if r.event().data.origin.channel == "http"]
    codes = [{reason.code for reason in data.reasons} for data in http_rejections]
    assert {"body_too_large"} in codes
    assert {"crossing_not_designated", "less_than_equal"} in codes
    assert {"source_mismatch"} in codes


def test_a_poison_message_does_not_block_its_partition(stack: Stack) -> None:
    record = member("G-POISON-0001", "A300000001", 1, 1)
    with EventProducer(stack.runtime.router) as producer:
        poison = b"\x00\xffnot json"
        producer.publish_bytes("returns-inbound", poison, key="G-POISON-0001", crossing="ELP")
        producer.publish_bytes("returns-inbound", dump(record), key="G-POISON-0001", crossing="ELP")
    [decision] = stack.events_for("screened", "G-POISON-0001")
    assert decision.data.decision == "accepted"


def test_the_openapi_document_describes_the_submission(stack: Stack) -> None:
    document = httpx.get(f"{stack.intake.url}/openapi.json", timeout=5).json()
    operation = document["paths"]["/v1/returns"]["post"]
    assert set(operation["responses"]) == {"202", "400", "401", "413", "415", "422", "503"}
    assert "case_id" in document["components"]["schemas"]["Submission"]["properties"]


def test_the_same_submission_ten_times_across_restarts_gives_one_of_each(
    runtime: Runtime, tmp_path: Path
) -> None:
    with running_stack(runtime, tmp_path, wait_minutes="10") as stack:
        family = family_of_three("G-RESTART-0001")
        with KafkaSubmitter(runtime.router) as submit:
            for _ in range(5):
                submit(family[0])
            submit(family[1])
        stack.events_for("person-returned", "G-RESTART-0001", at_least=2)
        stack.intake.restart()
        stack.screening.restart()  # two of three members are pending in its table
        with KafkaSubmitter(runtime.router) as submit:
            for _ in range(5):
                submit(family[0])
            submit(family[2])
        returned = stack.events_for("person-returned", "G-RESTART-0001", at_least=3, settle=3.0)
        decisions = stack.events_for("screened", "G-RESTART-0001", settle=3.0)
    assert sorted(e.data.case_id for e in returned) == ["A212345671", "A212345672", "A212345673"]
    assert len(decisions) == 1
    assert len(decisions[0].data.members) == 3
