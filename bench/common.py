"""What the benchmarks share: a broker, fresh topics, services as processes, medians."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from services.runtime.context import Runtime
from tests.support.kafka import delete_topics, fresh_runtime
from tests.support.services import ServiceProcess


def bootstrap() -> str:
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")


_created: list[Runtime] = []


def new_runtime() -> Runtime:
    """Fresh topics for one measurement; :func:`cleanup` deletes them all."""
    runtime = fresh_runtime(bootstrap())
    _created.append(runtime)
    return runtime


def cleanup() -> None:
    while _created:
        delete_topics(_created.pop())


def start(service: str, runtime: Runtime, **env: str) -> ServiceProcess:
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{service}-"))
    return ServiceProcess(service, runtime, workdir / f"{service}.log", env_extra=env).start()


def wait_until(predicate: Callable[[], bool], timeout: float, poll: float = 0.2) -> float:
    """Seconds until ``predicate()`` held; raises TimeoutError after ``timeout``."""
    began = time.monotonic()
    while not predicate():
        if time.monotonic() - began > timeout:
            raise TimeoutError(f"not done after {timeout} s")
        time.sleep(poll)
    return time.monotonic() - began


def baseline_rate(runtime: Runtime, values: list[bytes], topic: str = "returns-inbound") -> float:
    """Plain kafka-python: produce ``values`` and consume them back; records per second."""
    name = runtime.settings.topic(topic)
    producer = KafkaProducer(
        bootstrap_servers=runtime.settings.bootstrap_servers, acks="all", linger_ms=5
    )
    consumer = KafkaConsumer(bootstrap_servers=runtime.settings.bootstrap_servers, group_id=None)
    partitions = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or []]
    consumer.assign(partitions)
    for partition in partitions:  # resolve "the end" now, before anything is produced
        consumer.seek_to_end(partition)
        consumer.position(partition)
    began = time.monotonic()
    for value in values:
        producer.send(name, value)
    producer.flush()
    seen = 0
    while seen < len(values):
        seen += sum(len(batch) for batch in consumer.poll(timeout_ms=200).values())
    elapsed = time.monotonic() - began
    producer.close()
    consumer.close()
    return len(values) / elapsed


def summary(label: str, rates: list[float], baseline: list[float]) -> str:
    median, base = statistics.median(rates), statistics.median(baseline)
    runs = ", ".join(f"{r:.0f}" for r in rates)
    return (
        f"{label}: median {median:.0f}/s over {len(rates)} runs ({runs}); "
        f"plain kafka-python produce+consume baseline median {base:.0f}/s; "
        f"ratio {median / base:.3f}"
    )
