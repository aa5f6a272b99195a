"""The foundation on a real broker: version, topics, the producer and the partitioner."""

from __future__ import annotations

import json
from types import ModuleType

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from schemas import Screened, event_id_for, make_envelope
from services.runtime.admin import ensure_topics
from services.runtime.context import Runtime
from services.runtime.publishing import EventProducer
from services.runtime.settings import REPO_ROOT
from tests.support.broker import BrokerInfo
from tests.support.kafka import read_topic
from tests.support.scripts import load_script


def _probe_module() -> ModuleType:
    return load_script(REPO_ROOT / "infra/kafka/probe.py", "probe")


def test_the_broker_is_apache_kafka_4(kafka: BrokerInfo) -> None:
    version = _probe_module().wait_for_broker(kafka.bootstrap_servers, 30.0)
    assert version[0] == 4


def screened(group_id: str, crossing: str) -> object:
    data = Screened.model_validate_json(
        json.dumps(
            {
                "group_id": group_id,
                "decision": "accepted",
                "rule_set": "2021-12",
                "members": [
                    {
                        "case_id": "A212345678",
                        "flags": [],
                        "needs": ["legal_aid"],
                        "interpreter_language": None,
                    }
                ],
                "reasons": [],
            }
        )
    )
    return make_envelope(
        data,
        event_id=event_id_for("screened", group_id),
        producer="test/1",
        correlation_id=group_id,
        causation_id=None,
        crossing=crossing,
    )


def test_events_go_through_the_partitioner_to_their_crossing_lane(runtime: Runtime) -> None:
    groups = [
        (f"G-2026-{n:06d}", crossing)
        for n, crossing in enumerate(["ELP", "SAN", "LRD", "OLS"] * 10)
    ]
    with EventProducer(runtime.router) as producer:
        for group_id, crossing in groups:
            producer.publish("screened", screened(group_id, crossing))  # type: ignore[arg-type]
    records = read_topic(
        runtime.settings, "screened", until=lambda r: len(r) >= len(groups), timeout=30
    )
    assert len(records) == len(groups)
    lanes = runtime.topology.lanes
    for record in records:
        event = record.event()
        assert record.key == event.data.group_id.encode()
        assert record.partition in lanes[event.crossing]
    # Per group, order is kept: one partition per key.
    assert len({(r.key, r.partition) for r in records}) == len(groups)


def test_make_topics_is_idempotent_and_sets_retention(runtime: Runtime) -> None:
    again = ensure_topics(runtime.settings, runtime.topology)
    assert {change.action for change in again} == {"unchanged"}
    admin = KafkaAdminClient(bootstrap_servers=runtime.settings.bootstrap_servers)
    try:
        name = runtime.settings.topic("placed")
        configs = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name)], config_filter="all"
        )
        placed = configs["topic"][name]
        assert placed["retention.ms"]["value"] == "-1"
        assert placed["retention.bytes"]["value"] == "-1"
        partitions = {t["name"]: len(t["partitions"]) for t in admin.describe_topics([name])}
        assert partitions[name] == runtime.topology.lane_partitions
    finally:
        admin.close()


def test_the_trace_context_travels_in_the_headers(runtime: Runtime) -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from services.runtime import telemetry

    telemetry.configure_tracing("tests", exporter=InMemorySpanExporter())
    with telemetry.tracer("tests").start_as_current_span("submit") as span:
        trace_id = format(span.get_span_context().trace_id, "032x")
        with EventProducer(runtime.router) as producer:
            producer.publish("screened", screened("G-2026-777777", "EGP"))  # type: ignore[arg-type]
    [record] = read_topic(runtime.settings, "screened", until=lambda r: len(r) >= 1)
    traceparent = dict(record.headers)["traceparent"].decode()
    assert traceparent.split("-")[1] == trace_id
