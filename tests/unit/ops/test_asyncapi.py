"""docs/asyncapi.yaml: a whole AsyncAPI 3.0 document of every topic, and never stale."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from schemas import asyncapi
from schemas.envelope import make_envelope
from schemas.registry import TOPICS
from schemas.status import LocationStatusChanged
from services.runtime.topology import load_topology
from tests.unit.contracts.samples import SUBMISSION


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(asyncapi.DOCUMENT.read_text(encoding="utf-8"))
    return loaded


def resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for item in node for r in refs(item)]
    return []


def payload_validator(doc: dict[str, Any], topic: str) -> Draft7Validator:
    channel = doc["channels"][topic]
    (message_ref,) = (m["$ref"] for m in channel["messages"].values())
    schema = copy.deepcopy(resolve(doc, message_ref)["payload"])
    schema["components"] = doc["components"]  # its refs point at #/components/schemas
    return Draft7Validator(schema)


def test_the_committed_document_matches_the_registry_and_models() -> None:
    assert not asyncapi.drifted(), "run `make schemas` and commit docs/asyncapi.yaml"


def test_it_has_what_asyncapi_3_requires(doc: dict[str, Any]) -> None:
    assert doc["asyncapi"] == "3.0.0"
    assert doc["info"]["title"]
    assert doc["info"]["version"]
    assert doc["servers"]["kafka"]["protocol"] == "kafka"
    for operation in doc["operations"].values():
        assert operation["action"] in ("send", "receive")
        assert resolve(doc, operation["channel"]["$ref"])["address"]
    for message in doc["components"]["messages"].values():
        assert "payload" in message


def values_of(node: Any, wanted: str) -> list[Any]:
    if isinstance(node, dict):
        own = [node[wanted]] if wanted in node else []
        return own + [v for value in node.values() for v in values_of(value, wanted)]
    if isinstance(node, list):
        return [v for item in node for v in values_of(item, wanted)]
    return []


def test_it_keeps_the_forms_the_asyncapi_schema_demands(doc: dict[str, Any]) -> None:
    # Found by the official parser (@asyncapi/parser 3.6): pydantic writes OpenAPI's
    # discriminator object, and Kafka bindings list their cleanup policies.
    pydantic_union = {"discriminator": {"propertyName": "scheme", "mapping": {"a": "#/$defs/A"}}}
    assert asyncapi._hoist(pydantic_union, {}) == {"discriminator": "scheme"}
    assert all(isinstance(d, str) for d in values_of(doc, "discriminator"))
    for channel in doc["channels"].values():
        config = channel["bindings"]["kafka"].get("topicConfiguration", {})
        assert isinstance(config.get("cleanup.policy", []), list)


def test_every_reference_resolves(doc: dict[str, Any]) -> None:
    found = refs(doc)
    assert len(found) > len(TOPICS) * 3
    for ref in found:
        assert resolve(doc, ref) is not None


def test_every_registry_topic_has_its_key_writer_and_traceparent(doc: dict[str, Any]) -> None:
    assert set(doc["channels"]) == set(TOPICS)
    headers = doc["components"]["messageTraits"]["traced"]["headers"]
    assert "traceparent" in headers["properties"]
    for name, spec in TOPICS.items():
        channel = doc["channels"][name]
        assert channel["address"] == name
        operation = doc["operations"][f"{spec.writer}-writes-{name}"]
        assert operation["x-single-writer"] == spec.writer
        assert operation["channel"]["$ref"] == f"#/channels/{name}"
        (message_ref,) = (m["$ref"] for m in channel["messages"].values())
        message = resolve(doc, message_ref)
        assert spec.key in message["bindings"]["kafka"]["key"]["description"]
        assert message["traits"] == [{"$ref": "#/components/messageTraits/traced"}]


def test_a_real_submission_validates_against_returns_inbound(doc: dict[str, Any]) -> None:
    validator = payload_validator(doc, "returns-inbound")
    assert list(validator.iter_errors(SUBMISSION)) == []
    bad = {**SUBMISSION, "crossing": "El Paso"}
    assert [e.path[-1] for e in validator.iter_errors(bad)] == ["crossing"]


def test_a_real_event_validates_against_its_enveloped_payload(doc: dict[str, Any]) -> None:
    data = LocationStatusChanged(
        location="CJS",
        security_level="suspended",
        daily_cap=30,
        effective_at=datetime(2026, 11, 27, 15, 0, tzinfo=UTC),
        note="road closed",
    )
    envelope = make_envelope(
        data,
        event_id="6f1c6a57-52b7-5b2a-9a2e-2a4b9a1c3d4e",
        producer="inm/1",
        correlation_id="CJS",
        causation_id=None,
        crossing="ELP",
    )
    event = envelope.model_dump(mode="json")
    validator = payload_validator(doc, "location-status-changed")
    assert list(validator.iter_errors(event)) == []
    event["data"]["daily_cap"] = -1
    assert list(validator.iter_errors(event)) != []


def test_partitions_are_those_make_topics_creates(doc: dict[str, Any]) -> None:
    topology = load_topology(asyncapi.TOPICS_FILE)
    for name, layout in topology.topics.items():
        if name in doc["channels"]:
            assert doc["channels"][name]["bindings"]["kafka"]["partitions"] == layout.partitions
    screened = doc["channels"]["screened"]["bindings"]["kafka"]
    assert screened["topicConfiguration"]["retention.ms"] == -1  # the audit log is kept
