"""What faust itself allows here: the 4-hop relay of `bench/relay.py`, each hop a faust agent.

Each hop is a faust worker in its own process, built by the services' own
`create_app` (raw serializers, at-least-once, acks=all, commits every second), with a
memory store and no web server. Its one agent validates every record as a
`person-returned` envelope with pydantic, encodes it again and sends it to the next
topic with ``await topic.send(...)``, as `send_event` does (the ack is faust's to wait
for, before it commits). With ``--guarded`` the agent reads through
`services.runtime.ordered.contiguous`, the offset guard every service's agent uses.

The clock starts once the four workers have their partitions and ends when the last
record reaches the fifth topic: ``--records`` envelopes are written to the first topic
after the start, so a worker's start-up (several seconds, against well under one for
the raw relay's clients) is left out, as a service's is left out of the pipeline's
sustained rate.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from bench.common import bootstrap
from bench.profile_services import cpu_seconds
from bench.relay import HOPS, PARTITIONS, RelayRun, _records, describe

READY_TIMEOUT = 120.0
RELAY_TIMEOUT = 600.0


def _hop(servers: str, source: str, target: str, prefix: str, ready: Any, guarded: bool) -> None:
    """One hop's worker, until it is killed; sets `ready` once its partitions are assigned."""
    import faust
    from faust.worker import Worker

    from schemas.envelope import Envelope
    from schemas.person import PersonReturned
    from services.runtime.context import build_runtime
    from services.runtime.faust_app import create_app, is_ready
    from services.runtime.ordered import contiguous
    from services.runtime.settings import Settings

    state = Path(tempfile.mkdtemp(prefix="bench-faust-relay-"))
    # No web server runs; the port only has to be a valid one.
    settings = Settings(
        bootstrap_servers=servers, topic_prefix=prefix, state_dir=state, web_port=8079
    )
    app = create_app("relay", build_runtime(settings), web_enabled=False, store="memory://")
    inbound = app.topic(source, key_type=bytes, value_type=bytes, partitions=PARTITIONS)
    outbound = app.topic(target, key_type=bytes, value_type=bytes, partitions=PARTITIONS)

    async def relay(event: Any) -> None:
        envelope = Envelope[PersonReturned].model_validate_json(event.message.value)
        await outbound.send(key=event.message.key, value=envelope.model_dump_json().encode())

    @app.agent(inbound, name="relay")
    async def relay_all(stream: faust.StreamT[bytes]) -> None:
        events = contiguous(app, stream) if guarded else stream.events()
        async for event in events:
            await relay(event)

    @app.timer(interval=0.2)  # type: ignore[untyped-decorator]
    async def report_ready() -> None:
        if not ready.is_set() and is_ready(app) and app.consumer.assignment():
            ready.set()

    Worker(app, loglevel="warning", quiet=True).execute_from_commandline()


def run_once(records: list[bytes], guarded: bool = False) -> RelayRun:
    """The rate and CPU cost per record through the 4 faust hops, on fresh topics."""
    servers = bootstrap()
    run = uuid.uuid4().hex[:8]
    topics = [f"bench-frelay-{run}-{hop}" for hop in range(HOPS + 1)]
    admin = KafkaAdminClient(bootstrap_servers=servers)
    admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in topics])
    context = multiprocessing.get_context("spawn")
    readiness = [context.Event() for _ in range(HOPS)]
    hops = [
        context.Process(
            target=_hop,
            args=(servers, topics[h], topics[h + 1], f"bench-frelay-{run}-{h}.", ready, guarded),
            daemon=True,
        )
        for h, ready in enumerate(readiness)
    ]
    try:
        for hop in hops:
            hop.start()
        _wait_ready(hops, readiness)
        cpu_at_start = [cpu_seconds(hop.pid) for hop in hops]
        sink = KafkaConsumer(bootstrap_servers=servers, group_id=None)
        partitions = [TopicPartition(topics[-1], p) for p in range(PARTITIONS)]
        sink.assign(partitions)
        sink.seek_to_beginning(*partitions)
        producer = KafkaProducer(bootstrap_servers=servers, acks="all", linger_ms=5)
        began = time.monotonic()
        for index, value in enumerate(records):
            producer.send(topics[0], value, key=str(index % 997).encode())
        producer.flush()
        producer.close()
        seen = 0
        while seen < len(records):
            seen += sum(len(batch) for batch in sink.poll(timeout_ms=200).values())
            if time.monotonic() - began > RELAY_TIMEOUT:
                raise TimeoutError(f"faust relay: {seen} of {len(records)} after 600 s")
        elapsed = time.monotonic() - began
        spent = sum(cpu_seconds(hop.pid) - at for hop, at in zip(hops, cpu_at_start, strict=True))
        sink.close()
        return RelayRun(len(records) / elapsed, spent * 1000 / len(records))
    finally:
        for hop in hops:
            if hop.is_alive():
                hop.kill()
            hop.join(timeout=10)
        admin.delete_topics(topics)
        admin.close()


def _wait_ready(hops: list[Any], readiness: list[Any]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while not all(ready.is_set() for ready in readiness):
        if not all(hop.is_alive() for hop in hops):
            raise RuntimeError("faust relay: a hop's worker exited before it was ready")
        if time.monotonic() > deadline:
            raise TimeoutError(f"faust relay: hops not ready after {READY_TIMEOUT} s")
        time.sleep(0.2)


def faust_relay_runs(records: int, runs: int, seed: int, guarded: bool = False) -> list[RelayRun]:
    values = _records(records, seed)
    return [run_once(values, guarded) for _ in range(runs)]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20_191_129)
    parser.add_argument(
        "--guarded", action="store_true", help="read through the services' offset guard"
    )
    args = parser.parse_args(argv)
    measured = faust_relay_runs(args.records, args.runs, args.seed, args.guarded)
    label = "faust relay (offset guard), 4 hops" if args.guarded else "faust relay, 4 hops"
    print(f"{label}: {describe(measured)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
