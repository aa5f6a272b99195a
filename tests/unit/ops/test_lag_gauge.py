"""The lag gauge counts only the partitions a worker owns now, and intake reports its own."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from faust.types import TP

from services.intake.app import build_app as build_intake
from services.runtime import metrics
from services.runtime.context import Runtime, build_runtime
from services.runtime.faust_app import _update_lag

LAG = "returns_consumer_lag"


@dataclass
class FakeConsumer:
    """What ``_update_lag`` asks a faust consumer: its assignment, high-water marks, offsets."""

    highwaters: dict[TP, int] = field(default_factory=dict)
    _read_offset: dict[TP, int] = field(default_factory=dict)

    def assignment(self) -> set[TP]:
        return set(self.highwaters)

    def highwater(self, tp: TP) -> int:
        return self.highwaters[tp]


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    return build_runtime()


@pytest.fixture(autouse=True)
def no_lag_left_over() -> Iterator[None]:
    metrics.CONSUMER_LAG.clear()
    yield
    metrics.CONSUMER_LAG.clear()


def lag(service: str, topic: str, partition: int, lane: str) -> float | None:
    labels = {"service": service, "topic": topic, "partition": str(partition), "lane": lane}
    return metrics.REGISTRY.get_sample_value(LAG, labels)


def worker(service: str, consumer: FakeConsumer) -> Any:
    return SimpleNamespace(consumer=consumer, conf=SimpleNamespace(id=f"returns-{service}"))


def test_each_owned_partition_reports_what_is_left_to_read(runtime: Runtime) -> None:
    elp, san = TP("person-returned", 3), TP("person-returned", 0)
    consumer = FakeConsumer({elp: 120, san: 40}, {elp: 99, san: 39})
    _update_lag(worker("screening", consumer), runtime)
    assert lag("screening", "person-returned", 3, "ELP") == 20
    assert lag("screening", "person-returned", 0, "SAN") == 0


def test_a_partition_taken_away_by_a_rebalance_stops_being_reported(runtime: Runtime) -> None:
    elp, elp_too = TP("person-returned", 3), TP("person-returned", 9)
    consumer = FakeConsumer({elp: 500, elp_too: 300}, {elp: 99, elp_too: 99})
    screening = worker("screening", consumer)
    _update_lag(screening, runtime)
    assert lag("screening", "person-returned", 9, "ELP") == 200

    del consumer.highwaters[elp_too]  # partition 9 went to another worker
    _update_lag(screening, runtime)
    assert lag("screening", "person-returned", 9, "ELP") is None
    assert lag("screening", "person-returned", 3, "ELP") == 400

    consumer.highwaters.clear()  # mid-rebalance: this worker owns nothing
    _update_lag(screening, runtime)
    samples = [s for family in metrics.CONSUMER_LAG.collect() for s in family.samples]
    assert samples == []


def test_another_service_in_the_process_keeps_its_own_lag(runtime: Runtime) -> None:
    screened = TP("screened", 3)
    _update_lag(worker("placement", FakeConsumer({screened: 10}, {screened: 4})), runtime)
    _update_lag(worker("notify", FakeConsumer()), runtime)
    assert lag("placement", "screened", 3, "ELP") == 5


async def test_intake_reports_its_lag_on_metrics(runtime: Runtime) -> None:
    inbound = TP("returns-inbound", 3)
    app = build_intake(runtime)
    app.consumer = FakeConsumer({inbound: 42}, {inbound: 29})
    async with TestClient(TestServer(app.web.web_app)) as client:
        response = await client.get("/metrics")
        text = await response.text()
    assert response.status == 200
    expected = (
        'returns_consumer_lag{lane="ELP",partition="3",service="intake",topic="returns-inbound"}'
        " 12.0"
    )
    assert expected in text.splitlines()
