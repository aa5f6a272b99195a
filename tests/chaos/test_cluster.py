"""Scenario 3: a 3-broker cluster (replication factor 3, min.insync.replicas 2, every
producer acks=all) loses one broker to SIGKILL in the middle of a burst; it comes back
some seconds later. Nothing acknowledged may be lost, nothing may be mis-decided, and
the restarted broker catches up (no partition left under-replicated)."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from services.keys.kafka_log import KafkaKeyLog
from tests.chaos.harness import BROKERS_DIR, ChaosStack, chaos_workdir, write_table
from tests.chaos.settings import BROKER_DOWN_SECONDS, PEOPLE, RATE
from tests.support.cluster import LocalCluster, cluster_for_tests

SEED = 2026_12_03


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    """``RETURNS_CHAOS_CLUSTER_DIR`` and ``RETURNS_CHAOS_CLUSTER_PORTS`` (six ports: three
    client, three controller) keep two runs on one machine apart."""
    state_dir = os.environ.get("RETURNS_CHAOS_CLUSTER_DIR")
    ports = [int(p) for p in os.environ.get("RETURNS_CHAOS_CLUSTER_PORTS", "").split()]
    with cluster_for_tests(
        Path(state_dir) if state_dir else BROKERS_DIR / "cluster-chaos", ports or None
    ) as running:
        yield running


@pytest.fixture
def replicated(monkeypatch: pytest.MonkeyPatch, cluster: LocalCluster) -> LocalCluster:
    """Topics this test creates (its own and the services') get three replicas."""
    for name, value in cluster.client_env().items():
        monkeypatch.setenv(name, value)
    return cluster


@pytest.mark.chaos
@pytest.mark.timeout(300)
def test_acknowledged_writes_survive_the_sigkill_of_a_broker(replicated: LocalCluster) -> None:
    """acks=all with min.insync.replicas 2: every send acknowledged before, during or
    after the loss of a node is on the cluster afterwards, and writes never stop."""
    topic = f"cluster-acks-{int(time.time())}"
    admin = KafkaAdminClient(bootstrap_servers=replicated.bootstrap_servers)
    admin.create_topics([NewTopic(topic, 6, 3)])
    admin.close()
    producer = KafkaProducer(
        bootstrap_servers=replicated.bootstrap_servers, acks="all", retries=2**31 - 1
    )
    victim = replicated.busiest_leader(topic)
    acknowledged: list[bytes] = []

    def send_values(count: int, label: str) -> None:
        values = [f"{label}-{i}".encode() for i in range(count)]
        futures = [producer.send(topic, value) for value in values]
        producer.flush(timeout=60)
        for value, future in zip(values, futures, strict=True):
            future.get(timeout=60)  # raises unless acknowledged by 2+ in-sync replicas
            acknowledged.append(value)

    send_values(2000, "before")
    replicated.kill(victim)
    send_values(2000, "during")  # two replicas left: min.insync.replicas still met
    replicated.start(victim)
    send_values(2000, "after")
    producer.close()
    caught_up = replicated.wait_in_sync(topic, timeout=120)

    consumer = KafkaConsumer(bootstrap_servers=replicated.bootstrap_servers, group_id=None)
    parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    ends = consumer.end_offsets(parts)
    read: list[bytes] = []
    while any(consumer.position(tp) < ends[tp] for tp in parts):
        for records in consumer.poll(timeout_ms=500).values():
            read.extend(r.value for r in records)
    consumer.close()
    print(f"\nnode {victim} killed and restarted; in sync again {caught_up:.1f} s after")
    assert set(read) == set(acknowledged)
    assert len(acknowledged) == 6000


@pytest.mark.chaos
@pytest.mark.timeout(300)
def test_the_key_log_reads_on_once_a_restarted_broker_leads_again(
    replicated: LocalCluster,
) -> None:
    """kafka-python 3 never re-learns a broker that was down at its last metadata
    refresh: once the controller hands that broker its preferred leaderships back, a
    long-lived consumer's requests time out for good. The key log reconnects."""
    topic = f"cluster-keys-{int(time.time())}"
    admin = KafkaAdminClient(bootstrap_servers=replicated.bootstrap_servers)
    admin.create_topics([NewTopic(topic, 3, 3)])
    admin.wait_for_topics([topic], timeout_ms=60_000)
    # Another worker writes; this one reads (a log does not read its own writes back).
    writer = KafkaKeyLog(replicated.bootstrap_servers, topic, lambda case_id: 0)
    log = KafkaKeyLog(replicated.bootstrap_servers, topic, lambda case_id: 0)
    writer.write("case-1", b"key-1")
    read = [list(log.catch_up())]
    assert read[-1] == [("case-1", b"key-1")]
    (described,) = admin.describe_topics([topic])
    victim = next(p["leader_id"] for p in described["partitions"] if p["partition_index"] == 0)
    replicated.kill(victim)
    writer.write("case-2", b"key-2")  # the reader's metadata now lacks the victim
    read.append(list(log.catch_up()))
    assert ("case-2", b"key-2") in read[-1]
    replicated.start(victim)
    replicated.wait_in_sync(topic)  # in sync again: it can be elected
    admin.elect_leaders(0, {topic: [0]})  # the preferred leader (the victim) takes it back
    admin.close()
    writer.write("case-3", b"key-3")
    read.append(list(log.catch_up()))
    assert ("case-3", b"key-3") in read[-1]
    log.close()
    writer.close()
    # Nothing missed, nothing invented: the reads are the topic's records in order. A
    # write whose ack was lost to the kill is retried with the same bytes, so the topic
    # may hold that record twice (the same key for the same case), and so may the reads.
    assert [record for batch in read for record in batch] == _records(replicated, topic)


@pytest.mark.chaos
@pytest.mark.timeout(300)
def test_the_key_log_keeps_pace_when_its_partitions_have_different_leaders(
    replicated: LocalCluster,
) -> None:
    """Intake writes a case's key and reads the key topic to its end for every record.
    A broker answers one connection's requests in order, so a read to the end once
    waited behind the consumer's pending fetch (500 ms by default) on every leader that
    got no new record: about 500 ms a record on a cluster, 2 records/s for intake."""
    topic = f"cluster-keys-pace-{int(time.time())}"
    admin = KafkaAdminClient(bootstrap_servers=replicated.bootstrap_servers)
    admin.create_topics([NewTopic(topic, 3, 3)])
    admin.wait_for_topics([topic], timeout_ms=60_000)
    (described,) = admin.describe_topics([topic])
    admin.close()
    assert len({p["leader_id"] for p in described["partitions"]}) > 1

    def partition(case_id: str) -> int:
        return int(case_id) % 3

    # Another worker writes; this one reads to the end (its own writes it skips).
    writer = KafkaKeyLog(replicated.bootstrap_servers, topic, partition)
    log = KafkaKeyLog(replicated.bootstrap_servers, topic, partition)
    list(log.catch_up())
    took = []
    for case in range(60):
        started = time.monotonic()
        writer.write(str(case), b"wrapped-key")
        assert list(log.catch_up()) == [(str(case), b"wrapped-key")]
        took.append(time.monotonic() - started)
    log.close()
    writer.close()
    median = statistics.median(took)
    print(f"\nwrite + read to the end: median {median * 1000:.0f} ms over {len(took)} cases")
    assert median < 0.15


@pytest.mark.chaos
@pytest.mark.timeout(900)
def test_the_loss_of_one_broker_mid_burst_loses_nothing(replicated: LocalCluster) -> None:
    victims: list[int] = []
    in_sync_s: list[float] = []

    def inject(stack: ChaosStack, started: float) -> float:
        time.sleep(0.4 * PEOPLE / RATE)  # well into the burst
        victim = replicated.busiest_leader(stack.runtime.settings.topic_prefix)
        victims.append(victim)
        replicated.kill(victim)
        time.sleep(BROKER_DOWN_SECONDS)
        replicated.start(victim)
        return time.time()

    with ChaosStack(
        replicated.bootstrap_servers, chaos_workdir("cluster"), env=replicated.client_env()
    ) as stack:
        burst = stack.burst(people=PEOPLE, rate=RATE, seed=SEED, fault=inject)
        try:
            stack.wait_quiescent()
            quiescent = None
        except TimeoutError as stuck:  # still worth a row: what was lost so far
            quiescent = str(stuck)
        in_sync_s.append(replicated.wait_in_sync(stack.runtime.settings.topic_prefix))
        row = stack.row("3-broker cluster (SIGKILL of one broker)", burst.fault_end)
        lagging = replicated.under_replicated(stack.runtime.settings.topic_prefix)
    row.notes.insert(
        0,
        f"node {victims[0]} (most leaders) down {BROKER_DOWN_SECONDS:.0f} s, "
        f"replicas in sync {in_sync_s[0]:.1f} s after quiescence",
    )
    if quiescent:
        row.notes.append(quiescent)
    write_table(row)
    assert quiescent is None, row.line()
    assert burst.failed == 0
    assert lagging == []
    assert row.lost == 0, row.line()
    assert row.incomplete == 0, row.line()
    assert row.mismatches == 0, row.line()
    assert row.recover_s is not None, row.line()


def _records(cluster: LocalCluster, topic: str) -> list[tuple[str, bytes]]:
    """Every record of partition 0 of `topic`, from the first offset."""
    consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap_servers, group_id=None)
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        end = consumer.end_offsets([partition])[partition]
        found: list[tuple[str, bytes]] = []
        deadline = time.monotonic() + 60
        while consumer.position(partition) < end and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                found += [(r.key.decode(), r.value) for r in batch if r.key is not None]
        return found
    finally:
        consumer.close()
