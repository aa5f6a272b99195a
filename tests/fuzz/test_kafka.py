"""Generated records and raw bytes on ``returns-inbound``, under any key and headers."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from kafka import KafkaProducer

from tests.fuzz.inputs import BODIES, QUICK, json_values, scaled
from tests.support.intake import Intake
from tests.unit.contracts.samples import as_bytes, submission

pytestmark = [
    pytest.mark.fuzz,
    pytest.mark.timeout(1200),
    pytest.mark.filterwarnings("ignore:Generating overly large repr"),
]


def valid_records() -> st.SearchStrategy[bytes]:
    """Records intake accepts, or re-sends and conflicts of them (a few submission_ids)."""
    return st.builds(
        lambda n, size, crossing: as_bytes(
            submission(
                submission_id=f"fuzz-{n}",
                group_id=f"G-FUZZ-{n}",
                group_size=size,
                crossing=crossing,
            )
        ),
        st.integers(min_value=0, max_value=300),
        st.integers(min_value=1, max_value=5),
        st.sampled_from(["ELP", "SAN", "LRD", "BRO", "NYC"]),
    )


VALUES = st.one_of(BODIES, valid_records(), json_values().map(lambda v: json.dumps(v).encode()))
KEYS = st.none() | st.binary(max_size=64) | st.text(max_size=64).map(str.encode)
HEADERS = st.lists(
    st.tuples(st.sampled_from(["traceparent", "tracestate", "x-any", ""]), st.binary(max_size=80)),
    max_size=3,
)


def test_records_and_bytes_on_returns_inbound(intake: Intake, tally: Counter[str]) -> None:
    settings_ = intake.runtime.settings
    topic = settings_.topic("returns-inbound")
    partitions = intake.runtime.topology.topics["returns-inbound"].partitions
    producer = KafkaProducer(bootstrap_servers=settings_.bootstrap_servers, linger_ms=20)

    @settings(max_examples=scaled(6500), phases=[Phase.generate], **QUICK)
    @given(
        value=VALUES,
        key=KEYS,
        headers=HEADERS,
        partition=st.integers(min_value=0, max_value=partitions - 1),
    )
    def publish(
        value: bytes, key: bytes | None, headers: list[tuple[str, bytes]], partition: int
    ) -> None:
        producer.send(topic, value=value, key=key, headers=headers, partition=partition)
        tally["kafka inputs"] += 1

    try:
        publish()
        producer.flush(60)
    finally:
        producer.close()
