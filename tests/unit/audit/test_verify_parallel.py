"""`verify` in two processes gives the one-process report, also on forged histories."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from kafka import TopicPartition

from schemas.codec import encode
from schemas.decisions import Screened
from schemas.envelope import Envelope
from services.audit import findings
from services.audit.events import PIPELINE_ORDER, Conflict, ReplayStats
from services.audit.parallel import Verified, VerifyRun, merge_stats, verify_replayed
from services.audit.reader import ReplaySource
from services.audit.synthetic import HistoryOptions, synthetic_history
from services.audit.verify import DEFAULT_GRACE
from services.reference import load_reference
from tests.unit.audit.audit_factories import T0
from tests.unit.audit.test_reader import PREFIX, FakeConsumer, FakeRecord

REFERENCE = load_reference()
AS_OF = datetime(2027, 6, 1, tzinfo=UTC)
PARTITIONS = {"person-returned": 3, "screened": 2, "placed": 2, "legal-aid-requested": 2}

Logs = dict[TopicPartition, list[FakeRecord]]


@dataclass(frozen=True)
class FakeCluster:
    """Makes consumers of `logs` (picklable, for a child process started by spawn)."""

    logs: Logs

    def __call__(self, **config: Any) -> FakeConsumer:
        return FakeConsumer(self.logs, **config)


def recorded(groups: int, seed: int) -> list[tuple[str, Envelope[Any]]]:
    return list(synthetic_history(REFERENCE, HistoryOptions(groups=groups, seed=seed)))


def on_partitions(events: list[tuple[str, Any]]) -> Logs:
    """Each topic's events spread over its partitions; raw bytes dated as the event before."""
    logs: Logs = {TopicPartition(PREFIX + topic, 0): [] for topic in PIPELINE_ORDER}
    moment = T0
    for n, (topic, event) in enumerate(events):
        if isinstance(event, bytes):
            raw = event
        else:
            raw, moment = encode(event), event.occurred_at
        tp = TopicPartition(PREFIX + topic, n % PARTITIONS.get(topic, 1))
        records = logs.setdefault(tp, [])
        millis = int(moment.timestamp() * 1000)
        records.append(FakeRecord(tp.topic, tp.partition, len(records), millis, raw))
    return logs


def forged(events: list[tuple[str, Envelope[Any]]], seed: int) -> list[tuple[str, Any]]:
    """The history with forged decisions, repeats, conflicts, undecodable and lost records."""
    rng = random.Random(seed)
    out: list[tuple[str, Any]] = []
    for topic, envelope in events:
        roll = rng.random()
        if topic == "screened" and roll < 0.05:
            data = envelope.data
            flipped = "declined" if data.decision == "accepted" else "accepted"
            fields = {**data.model_dump(), "decision": flipped}
            envelope = envelope.model_copy(update={"data": Screened.model_validate(fields)})
        if topic in ("legal-aid-requested", "care-requested") and roll < 0.05:
            continue  # lost: a missing request
        out.append((topic, envelope))
        if roll > 0.97:
            out.append((topic, envelope))  # a duplicate
        if roll < 0.03:
            out.append((topic, b'{"event_id": "not an event"}'))  # undecodable
    for topic in ("person-returned", "screened", "placed"):
        first = next(envelope for name, envelope in out if name == topic)
        out.append((topic, first.model_copy(update={"producer": "forger/1"})))  # same data
        out.append((topic, _other_data(first)))  # a conflicting repeat
    return out


def _other_data(envelope: Envelope[Any]) -> Envelope[Any]:
    data = envelope.data
    fields = {**data.model_dump(), "group_id": data.group_id + "X"}
    return envelope.model_copy(update={"data": type(data).model_validate(fields)})


def verified(logs: Logs, workers: int) -> Verified:
    run = VerifyRun(
        ReplaySource("fake:9092", PREFIX),
        REFERENCE,
        DEFAULT_GRACE,
        consumer_factory=FakeCluster(logs),
    )
    return verify_replayed(run, lambda: AS_OF, workers=workers)


@pytest.mark.parametrize("seed", [1, 2])
def test_two_processes_give_the_one_process_report_on_a_forged_history(seed: int) -> None:
    logs = on_partitions(forged(recorded(120, seed), seed))
    one, two = verified(logs, 1), verified(logs, 2)
    categories = one.report.by_category()
    assert categories[findings.DECISION_DIFFERS] > 0
    assert categories[findings.UNDECODABLE_EVENT] > 1
    assert categories[findings.CONFLICTING_DUPLICATE] == 3
    assert categories[findings.MISSING_LEGAL_AID] + categories[findings.MISSING_CARE] > 0
    assert asdict(two.report) == asdict(one.report)
    assert two.stats == one.stats


def test_a_clean_history_passes_in_two_processes_with_every_record_counted_once() -> None:
    events = recorded(80, 3)
    logs = on_partitions(events)
    one, two = verified(logs, 1), verified(logs, 2)
    assert one.report.ok
    assert two.report.ok
    assert two.stats.read == len(events) == one.stats.read
    assert two.report.events == one.report.events


def test_an_event_id_on_two_topics_gives_the_one_process_report() -> None:
    events = recorded(60, 4)
    person = next(envelope for topic, envelope in events if topic == "person-returned")
    placed = next(envelope for topic, envelope in events if topic == "placed")
    events.append(("placed", placed.model_copy(update={"event_id": person.event_id})))
    logs = on_partitions(events)
    one, two = verified(logs, 1), verified(logs, 2)
    assert one.report.by_category()[findings.CONFLICTING_DUPLICATE] == 1
    assert asdict(two.report) == asdict(one.report)


def test_log_problems_of_two_replays_interleave_by_their_running_maximum() -> None:
    # One replay met its problems at keys 5 then 1 (its merge had reached 5 by then),
    # the other at 3: one replay of both would have met them as 3, 5, 1.
    def key(n: int) -> Any:
        return (T0, 0, n, 0, n)

    first = ReplayStats(read=2, undecodable=[("a@5", "x"), ("a@1", "y")])
    first.undecodable_at = [key(5), key(5)]
    second = ReplayStats(read=1, conflicts=[Conflict("e", "b@3", key(3))])
    second.undecodable = [("b@3", "z")]
    second.undecodable_at = [key(3)]
    merged = merge_stats(first, second)
    assert [where for where, _ in merged.undecodable] == ["b@3", "a@5", "a@1"]
    assert merged.read == 3
    assert [c.repeated_at for c in merged.conflicts] == ["b@3"]
