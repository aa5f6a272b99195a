"""Replay rate of `returns audit verify` next to plain kafka-python reading the same topics.

    .venv/bin/python bench/replay.py --events 100000 --runs 3

Against ``KAFKA_BOOTSTRAP_SERVERS``: creates its own prefixed topics, writes a synthetic
recorded history of about ``--events`` events (`services.audit.synthetic`: returns,
decisions, placements with surges and reroutes, requests, departures), then alternates,
``--runs`` times each:

- baseline: a plain kafka-python consumer (no group, partitions assigned, from the first
  offset) reading every record of the topics `verify` reads, doing nothing with them;
- verify: the audit's replay (merge into log order, decode, de-duplicate) feeding the
  verifier (screening re-run, placement re-check, completeness), as `returns audit
  verify` does, without the progress bar: in ``--workers`` processes (default: 2 on a
  machine with two cores or more, `services.audit.parallel`).

Each measurement runs in a fresh process. Prints the median events per second of each,
their ratio, and the peak RSS of the verify processes; and verify's events per second of
its own CPU time (its child's included), the figure that other work on the machine
disturbs least; and its events per CPU-second of its busiest process, the rate it would
reach with a core of its own for each process.
The topics are deleted at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from schemas.codec import encode
from services.audit.parallel import DEFAULT_WORKERS, VerifyRun, verify_replayed
from services.audit.reader import ReplaySource
from services.audit.synthetic import HistoryOptions, synthetic_history
from services.audit.verify import DEFAULT_GRACE, VERIFY_TOPICS
from services.reference import load_reference
from services.runtime.context import Runtime
from services.runtime.settings import Settings
from tests.support.kafka import fresh_runtime

EVENTS_PER_GROUP = 5.3
"""About how many events one generated group brings (measured on the generator)."""


def write_history(runtime: Runtime, events: int, seed: int) -> int:
    """Produce a synthetic history of about `events` events; returns how many were written."""
    producer = KafkaProducer(
        bootstrap_servers=runtime.settings.bootstrap_servers,
        acks="all",
        linger_ms=20,
        batch_size=512 * 1024,
        compression_type=None,
    )
    options = HistoryOptions(groups=max(1, int(events / EVENTS_PER_GROUP)), seed=seed)
    written = 0
    for topic, envelope in synthetic_history(runtime.reference, options):
        route = runtime.router.route_event(topic, envelope)
        producer.send(route.topic, value=encode(envelope), key=route.key, partition=route.partition)
        written += 1
        if written % 20_000 == 0:
            print(f"  written {written} events", file=sys.stderr)
    producer.flush()
    producer.close()
    return written


def baseline(settings: Settings) -> tuple[int, float]:
    """Plain kafka-python reads every record of the verify topics: (records, seconds)."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        max_poll_records=5_000,
    )
    try:
        began = time.perf_counter()
        names = [settings.topic(topic) for topic in VERIFY_TOPICS]
        tps = [
            TopicPartition(name, p)
            for name in names
            for p in sorted(consumer.partitions_for_topic(name) or ())
        ]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        total = sum(consumer.end_offsets(tps).values())
        seen = 0
        while seen < total:
            seen += sum(len(batch) for batch in consumer.poll(timeout_ms=500).values())
        return seen, time.perf_counter() - began
    finally:
        consumer.close()


def verify(settings: Settings, workers: int) -> tuple[int, float, int]:
    """The audit's replay and verifier: (records, seconds, mismatches)."""
    reference = load_reference(settings.reference_dir)
    began = time.perf_counter()
    source = ReplaySource(settings.bootstrap_servers, settings.topic_prefix)
    run = VerifyRun(source, reference, DEFAULT_GRACE)
    verified = verify_replayed(run, lambda: datetime.now(UTC), workers=workers)
    return verified.stats.read, time.perf_counter() - began, len(verified.report.mismatches)


def _cpu_seconds() -> tuple[float, float]:
    """CPU time of this process, and of its children that ended (verify's own child)."""
    mine, theirs = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return mine.ru_utime + mine.ru_stime, theirs.ru_utime + theirs.ru_stime


def _in_child(kind: str, settings: Settings, workers: int, results: Any) -> None:
    """Run one measurement in a fresh process, so that its peak RSS is its own."""
    own, children = _cpu_seconds()
    outcome = baseline(settings) if kind == "baseline" else verify(settings, workers)
    own_after, children_after = _cpu_seconds()
    cpu = own_after - own + children_after - children
    longest = max(own_after - own, children_after - children)
    peaks = (
        resource.getrusage(who).ru_maxrss
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    results.put((*outcome, cpu, longest, max(peaks) / 1024))


def measure(kind: str, settings: Settings, workers: int = 1) -> tuple[Any, ...]:
    """(records, seconds[, mismatches], CPU seconds, CPU seconds of its busiest process,
    peak RSS in MB) of one run in a child.

    The peak RSS is that of the biggest process of the run."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    child = context.Process(target=_in_child, args=(kind, settings, workers, results))
    child.start()
    outcome: tuple[Any, ...] = results.get()
    child.join()
    return outcome


def delete_topics(runtime: Runtime) -> None:
    admin = KafkaAdminClient(bootstrap_servers=runtime.settings.bootstrap_servers)
    try:
        prefix = runtime.settings.topic_prefix
        admin.delete_topics([t for t in admin.list_topics() if t.startswith(prefix)])
    finally:
        admin.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the topics afterwards")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="verify's processes")
    parser.add_argument("--prefix", help="measure the topics of this prefix (kept) instead")
    args = parser.parse_args(argv)
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    if args.prefix:
        settings = replace(Settings(), bootstrap_servers=bootstrap, topic_prefix=args.prefix)
        return _compare(settings, args.runs, args.workers)
    runtime = fresh_runtime(bootstrap)
    print(f"topics prefixed {runtime.settings.topic_prefix} on {bootstrap}", file=sys.stderr)
    try:
        began = time.perf_counter()
        written = write_history(runtime, args.events, args.seed)
        print(f"wrote {written} events in {time.perf_counter() - began:.1f} s", file=sys.stderr)
        return _compare(runtime.settings, args.runs, args.workers)
    finally:
        if not args.keep:
            delete_topics(runtime)


def _compare(settings: Settings, runs: int, workers: int) -> int:
    plain: list[float] = []
    audited: list[float] = []
    per_cpu: list[float] = []
    per_busiest: list[float] = []
    peaks: list[float] = []
    mismatches = records = 0
    for run in range(1, runs + 1):
        records, seconds, _, _, _ = measure("baseline", settings)
        plain.append(records / seconds)
        read, elapsed, mismatches, cpu, busiest, peak = measure("verify", settings, workers)
        audited.append(read / elapsed)
        per_cpu.append(read / cpu)
        per_busiest.append(read / busiest)
        peaks.append(peak)
        print(
            f"run {run}: baseline {records} in {seconds:.2f} s ({plain[-1]:.0f}/s); "
            f"verify {read} in {elapsed:.2f} s ({audited[-1]:.0f}/s; {cpu:.2f} s CPU, "
            f"{per_cpu[-1]:.0f}/CPU-s; busiest process {busiest:.2f} s CPU, "
            f"{per_busiest[-1]:.0f}/its CPU-s), {mismatches} mismatches, peak RSS {peak:.0f} MB; "
            f"load {os.getloadavg()[0]:.1f}",
            file=sys.stderr,
        )
    base, mine = statistics.median(plain), statistics.median(audited)
    print(
        f"verify ({workers} worker(s)): median {mine:.0f} events/s over {runs} runs; "
        f"plain kafka-python read baseline median {base:.0f} records/s; ratio {mine / base:.3f}; "
        f"median {statistics.median(per_cpu):.0f} events per CPU-second, "
        f"{statistics.median(per_busiest):.0f} per CPU-second of the busiest process; "
        f"{records} events; "
        f"{mismatches} mismatches; verify peak RSS {max(peaks):.0f} MB"
    )
    return 0 if mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
