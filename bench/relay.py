"""The ceiling a Kafka pipeline could reach here: a raw aiokafka relay of 4 hops.

Each hop is its own process, like a service: it consumes a topic in a consumer group,
validates every record as a `person-returned` envelope with pydantic, encodes it again
and produces it to the next topic (acks=all), committing as it goes. ``--records``
realistic envelopes are written to the first topic beforehand; the rate is the number of
records over the time from the hops' start until the last one reached the fifth topic.

The pipeline's sustained rate is divided by this figure in the same run
(`bench/ratio.py`, run by `make bench`), so that a noisy machine moves both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from bench.common import bootstrap
from schemas.codec import encode
from schemas.envelope import Envelope, make_envelope
from schemas.person import PersonReturned, person_returned_event_id
from services.simulator import load_profile
from services.simulator.population import Population

HOPS = 4
PARTITIONS = 10


def _records(count: int, seed: int) -> list[bytes]:
    """`count` realistic person-returned envelopes (the simulator's population)."""
    profile = load_profile(None)
    population = Population(seed, profile, tag="relay0")
    crossings = sorted(profile.crossings)
    at = datetime.now(UTC) - timedelta(hours=1)
    values: list[bytes] = []
    while len(values) < count:
        for submission in population.group(crossings[len(values) % len(crossings)], at):
            record = PersonReturned.model_validate_json(json.dumps(submission))
            envelope = make_envelope(
                record,
                event_id=person_returned_event_id(record.source, record.submission_id),
                producer="relay/1",
                correlation_id=record.group_id,
                causation_id=None,
                crossing=record.crossing,
            )
            values.append(encode(envelope))
    return values[:count]


def _hop(servers: str, source: str, target: str, group: str, total: int, cpu: Any = None) -> None:
    """One hop; `cpu` (a shared double), when given, gets the CPU seconds it spent
    relaying, its start-up left out."""
    asyncio.run(_relay(servers, source, target, group, total, cpu))


async def _relay(
    servers: str, source: str, target: str, group: str, total: int, cpu: Any = None
) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=servers,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=True,
        max_poll_records=500,
    )
    producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all", linger_ms=2)
    await consumer.start()
    await producer.start()
    started = time.process_time()
    try:
        relayed = 0
        while relayed < total:
            batches = await consumer.getmany(timeout_ms=200)
            sends = []
            for records in batches.values():
                for record in records:
                    envelope = Envelope[PersonReturned].model_validate_json(record.value)
                    value = envelope.model_dump_json().encode()
                    sends.append(await producer.send(target, value, key=record.key))
                    relayed += 1
            if sends:
                await asyncio.gather(*sends)
        if cpu is not None:
            cpu.value = time.process_time() - started
    finally:
        await producer.stop()
        await consumer.stop()


@dataclass(frozen=True)
class RelayRun:
    rate: float  # records per second through the 4 hops
    cpu_ms: float  # CPU milliseconds per record, the 4 hops together


def run_once(records: list[bytes]) -> float:
    """Records per second through the 4 hops, on fresh topics."""
    return run_measured(records).rate


def run_measured(records: list[bytes]) -> RelayRun:
    """The rate and the CPU cost per record of one relay, on fresh topics."""
    servers = bootstrap()
    run = uuid.uuid4().hex[:8]
    topics = [f"bench-relay-{run}-{hop}" for hop in range(HOPS + 1)]
    admin = KafkaAdminClient(bootstrap_servers=servers)
    admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in topics])
    try:
        producer = KafkaProducer(bootstrap_servers=servers, acks="all", linger_ms=5)
        for index, value in enumerate(records):
            producer.send(topics[0], value, key=str(index % 997).encode())
        producer.flush()
        producer.close()
        sink = KafkaConsumer(bootstrap_servers=servers, group_id=None)
        partitions = [TopicPartition(topics[-1], p) for p in range(PARTITIONS)]
        sink.assign(partitions)
        sink.seek_to_beginning(*partitions)
        context = multiprocessing.get_context("spawn")
        cpu = [context.Value("d", 0.0) for _ in range(HOPS)]
        hops = [
            context.Process(
                target=_hop,
                args=(
                    *(servers, topics[h], topics[h + 1], f"bench-relay-{run}-{h}"),
                    *(len(records), cpu[h]),
                ),
            )
            for h in range(HOPS)
        ]
        began = time.monotonic()
        for hop in hops:
            hop.start()
        seen = 0
        while seen < len(records):
            seen += sum(len(batch) for batch in sink.poll(timeout_ms=200).values())
            if time.monotonic() - began > 600:
                raise TimeoutError(f"relay: {seen} of {len(records)} after 600 s")
        elapsed = time.monotonic() - began
        sink.close()
        for hop in hops:
            hop.join(timeout=30)
            if hop.is_alive():
                hop.kill()
        spent = sum(value.value for value in cpu)
        return RelayRun(len(records) / elapsed, spent * 1000 / len(records))
    finally:
        admin.delete_topics(topics)
        admin.close()


def relay_rate(records: int, runs: int, seed: int) -> list[float]:
    return [run.rate for run in relay_runs(records, runs, seed)]


def relay_runs(records: int, runs: int, seed: int) -> list[RelayRun]:
    values = _records(records, seed)
    return [run_measured(values) for _ in range(runs)]


def describe(runs: list[RelayRun]) -> str:
    """Median rate and CPU cost of a relay's runs, and each run's rate. On a shared
    machine the load moves the rate much more than the CPU cost."""
    rates = ", ".join(f"{run.rate:.0f}" for run in runs)
    rate = statistics.median(run.rate for run in runs)
    cpu = statistics.median(run.cpu_ms for run in runs)
    return (
        f"median {rate:.0f} records/s (runs: {rates}); {cpu:.2f} CPU-ms per record, "
        f"{1000 / cpu if cpu else 0:.0f} records per CPU-second"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20_191_129)
    args = parser.parse_args(argv)
    print(f"relay, 4 hops: {describe(relay_runs(args.records, args.runs, args.seed))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
