"""After the fuzzing: intake still ready, every input handled and every rejection recorded."""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest
from kafka import KafkaConsumer, TopicPartition

from tests.fuzz.inputs import SCALE
from tests.support.intake import Intake
from tests.support.kafka import read_topic

pytestmark = [
    pytest.mark.fuzz,
    pytest.mark.timeout(1200),
    pytest.mark.filterwarnings("ignore:Generating overly large repr"),
]

MINIMUM_INPUTS = 10_000


def sum_metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def messages_on(intake: Intake, name: str) -> int:
    settings = intake.runtime.settings
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers)
    try:
        topic = settings.topic(name)
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return sum(consumer.end_offsets(parts).values())
    finally:
        consumer.close()


def test_intake_survived_and_recorded_every_rejection(intake: Intake, tally: Counter[str]) -> None:
    inbound = messages_on(intake, "returns-inbound")
    deadline = time.monotonic() + 180
    while True:
        metrics = intake.metrics()
        handled = sum_metric(
            metrics, "returns_events_in_total", service="intake", topic="returns-inbound"
        )
        if handled >= inbound or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert handled == inbound, f"{inbound - handled} returns-inbound messages never handled"
    assert intake.ready()
    assert intake.process.process is not None
    assert intake.process.process.poll() is None
    log = intake.process.log_path.read_text(errors="replace")
    crashes = [line for line in log.splitlines() if re.search(r"Crashed|Traceback", line)]
    assert crashes == [], crashes[:3]

    rejected_by_agent = sum_metric(
        metrics, "returns_decisions_total", service="intake", kind="rejected"
    )
    expected_events = int(rejected_by_agent) + int(tally["http answers recorded as rejections"])
    records = read_topic(
        intake.runtime.settings,
        "intake-rejected",
        until=lambda rs: len(rs) >= expected_events,
        timeout=120,
        settle=3.0,
    )
    rejections = [r.event().data for r in records]
    conflicts = sum(
        1
        for d in rejections
        if d.origin.channel == "kafka"
        and [r.code for r in d.reasons] == ["conflicting_resubmission"]
    )
    by_channel = Counter(d.origin.channel for d in rejections)
    assert by_channel["kafka"] - conflicts == rejected_by_agent
    assert by_channel["http"] == tally["http answers recorded as rejections"]
    assert all(d.reasons for d in rejections)

    server_errors = sum(n for name, n in tally.items() if re.search(r"status 5\d\d$", name))
    inputs = sum(n for name, n in tally.items() if name.endswith("inputs"))
    tally["returns-inbound messages handled"] = int(handled)
    tally["intake-rejected events"] = len(rejections)
    tally["crashed agents"] = len(crashes)
    tally["server errors (5xx)"] = server_errors
    print(f"\n{inputs} inputs, {server_errors} server errors, {len(crashes)} crashed agents")
    assert server_errors == 0
    assert inputs >= MINIMUM_INPUTS * min(1.0, SCALE)
