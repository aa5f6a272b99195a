"""How long each service takes to come back with a large state, and how big that state is.

    make bench-state                                  # 100,000 groups, the local broker
    .venv/bin/python -m bench.state_recovery --groups 5000

Against ``KAFKA_BOOTSTRAP_SERVERS``, in fresh prefixed topics:

1. intake gets ``--groups`` groups' submissions (the simulator's population) on
   ``returns-inbound``; screening, placement and notify get the audit's synthetic
   recorded history of ``--groups`` groups (``services.audit.synthetic``: returns,
   decisions, placements, requests, departures), written to their input topics at once;
2. one service at a time is started and left to read all of it (its consumer group's
   lag back to 0), so that its tables hold the state of that many groups;
3. per changelog topic: the cleanup policy, the records and bytes written, the keys
   alive (the latest record per key is not a tombstone) and what compaction would keep;
4. restart-to-ready: SIGTERM, start again, until ``/readyz`` answers 200 (faust has read
   back what its store does not hold: with ``--store memory`` every changelog, with
   ``--store rocksdb`` what was written since the store's last persisted offset), and the
   worker's resident memory (RSS) once caught up and once settled after a restart
   (stopped moving: a worker is ready before it has read its key topic) and one input
   (the last record of each partition of its first input topic, sent again: some
   indexes are built on the first event after a start);
5. compaction forced: ``segment.ms`` and ``min.cleanable.dirty.ratio`` made small on
   the changelogs and a segment rolled, then, once
   the log cleaner has run, the records left and the restart-to-ready time again.

``--restarts N`` restarts each service N times on the same state (before and after the
forced compaction) and reports the median restart-to-ready, with every run in the JSON.
``--compare-memory`` restarts each service once more on the same state with
``RETURNS_STORE=memory`` (before and after compaction), so that both stores are timed
on the same changelogs and the same machine load. ``--env NAME=VALUE`` (repeatable)
sets a service setting, for example a retention
(``RETURNS_SCREENING_RETAIN_DAYS``). Prints one table; ``--json`` writes the figures
too. The topics are deleted at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType

from bench.common import bootstrap, cleanup, new_runtime, start, wait_until
from schemas.codec import encode
from services.audit.synthetic import HistoryOptions, synthetic_history
from services.runtime.context import Runtime
from services.simulator import generate
from services.upstream import KafkaSubmitter
from tests.support.services import ServiceProcess

SERVICES = ("intake", "screening", "placement", "notify")
FIRST_INPUT = {
    "intake": "returns-inbound",
    "screening": "person-returned",
    "placement": "screened",
    "notify": "placed",
}
SETTLED_QUIET_S = 10  # resident memory within 1 MB for this many 1 s samples: settled
SETTLED_LIMIT_S = 120  # ... or the last sample after this long
FORCED_COMPACTION = {"segment.ms": "100", "min.cleanable.dirty.ratio": "0.01"}
"""Tombstones keep their default delete.retention.ms (1 day): removed, a tombstone that
ends a partition would leave its log ending in a gap."""


@dataclass
class Changelog:
    topic: str
    cleanup_policy: str
    records: int  # still on the broker
    bytes: int  # keys and values of those records
    written: int  # ever written (the end offsets)
    keys: int  # distinct keys: what compaction keeps, tombstones included, for a day
    live_keys: int
    live_bytes: int  # what compaction keeps in the end: the latest value of each live key


@dataclass
class ServiceFigures:
    service: str
    groups: int
    catch_up_s: float
    ready_s: float
    changelogs: list[Changelog]
    compacted: list[Changelog]
    ready_after_compaction_s: float
    store: str = "memory"
    rss_caught_up_mb: float = 0.0  # resident memory once every input was read
    rss_ready_mb: float = 0.0  # ... and once settled after a restart
    rss_peak_mb: float = 0.0  # the restarted worker's peak, recovery included
    datadir_mb: float = 0.0  # what the store keeps on disk
    # --compare-memory: the same state restarted with RETURNS_STORE=memory
    ready_memory_s: float | None = None
    rss_memory_ready_mb: float | None = None
    ready_memory_after_compaction_s: float | None = None
    # --restarts: every restart-to-ready, before and after compaction (the medians above)
    ready_runs_s: list[float] = field(default_factory=list)
    ready_after_compaction_runs_s: list[float] = field(default_factory=list)
    rss_ready_runs_mb: list[float] = field(default_factory=list)  # settled after each restart


def _admin(runtime: Runtime) -> KafkaAdminClient:
    return KafkaAdminClient(
        bootstrap_servers=runtime.settings.bootstrap_servers, client_id="returns-bench"
    )


def feed_history(runtime: Runtime, groups: int, seed: int) -> Counter[str]:
    """The synthetic recorded history of `groups` groups, on every topic it names."""
    producer = KafkaProducer(
        bootstrap_servers=runtime.settings.bootstrap_servers,
        acks="all",
        linger_ms=20,
        batch_size=512 * 1024,
    )
    counts: Counter[str] = Counter()
    for topic, envelope in synthetic_history(
        runtime.reference, HistoryOptions(groups=groups, seed=seed)
    ):
        route = runtime.router.route_event(topic, envelope)
        producer.send(route.topic, value=encode(envelope), key=route.key, partition=route.partition)
        counts[topic] += 1
    producer.flush()
    producer.close()
    return counts


def feed_submissions(runtime: Runtime, groups: int, seed: int) -> int:
    """About `groups` groups' submissions on returns-inbound, as upstream sends them."""
    sent = 0
    seen: set[str] = set()
    with KafkaSubmitter(runtime.router) as submit:
        for record in generate(seed=seed, n=groups * 3):
            seen.add(record["group_id"])
            if len(seen) > groups:
                break
            submit(record)
            sent += 1
    return sent


def group_lag(runtime: Runtime, service: str) -> int:
    """Records the service's consumer group has not committed yet, over its topics."""
    group = f"{runtime.settings.topic_prefix}returns-{service}"
    admin = _admin(runtime)
    consumer = KafkaConsumer(bootstrap_servers=runtime.settings.bootstrap_servers)
    try:
        committed = admin.list_group_offsets({group: None}).get(group, {})
        if not committed:
            return -1
        ends = consumer.end_offsets(list(committed))
        return sum(max(0, ends[tp] - meta.offset) for tp, meta in committed.items())
    finally:
        consumer.close()
        admin.close()


def wait_caught_up(runtime: Runtime, service: str, timeout: float) -> float:
    """Seconds until the group's lag was 0 twice, 3 s apart."""
    began = time.monotonic()
    zero_since: float | None = None
    while True:
        now = time.monotonic()
        if group_lag(runtime, service) == 0:
            zero_since = zero_since or now
            if now - zero_since >= 3:
                return zero_since - began
        else:
            zero_since = None
        if now - began > timeout:
            raise TimeoutError(f"{service} still behind after {timeout} s")
        time.sleep(1)


def changelog_topics(runtime: Runtime, service: str) -> list[str]:
    prefix = f"{runtime.settings.topic_prefix}returns-{service}-"
    admin = _admin(runtime)
    try:
        return sorted(
            t for t in admin.list_topics() if t.startswith(prefix) and t.endswith("-changelog")
        )
    finally:
        admin.close()


def measure_changelog(runtime: Runtime, topic: str) -> Changelog:
    """Read the whole changelog: what is on the broker, and what is alive in it."""
    consumer = KafkaConsumer(
        bootstrap_servers=runtime.settings.bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        max_poll_records=5_000,
    )
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        latest: dict[bytes, int] = {}
        records = size = 0
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            for batch in consumer.poll(timeout_ms=500).values():
                for message in batch:
                    records += 1
                    value = len(message.value) if message.value is not None else -1
                    size += len(message.key or b"") + max(value, 0)
                    latest[message.key or b""] = value
        live = {key: value for key, value in latest.items() if value >= 0}
        return Changelog(
            topic=topic.removeprefix(runtime.settings.topic_prefix),
            cleanup_policy=_cleanup_policy(runtime, topic),
            records=records,
            bytes=size,
            written=sum(ends.values()),
            keys=len(latest),
            live_keys=len(live),
            live_bytes=sum(len(key) + value for key, value in live.items()),
        )
    finally:
        consumer.close()


def _cleanup_policy(runtime: Runtime, topic: str) -> str:
    admin = _admin(runtime)
    try:
        described = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, configs=None)], config_filter="all"
        )
        return str(described.get("topic", {}).get(topic, {}).get("cleanup.policy", {}).get("value"))
    finally:
        admin.close()


def force_compaction(runtime: Runtime, topics: list[str], timeout: float) -> None:
    """Small segments, roll the active one, and wait until the log cleaner has run.

    The segment is rolled by writing each partition's last record again, unchanged: the
    table's state stays the same, and the log still ends with a live record. (A
    tombstone of some unused key would do too, but once compaction removed it the log
    would end in a gap, and faust's recovery then waits for an offset that never comes.)
    """
    admin = _admin(runtime)
    try:
        for topic in topics:
            resource = ConfigResource(ConfigResourceType.TOPIC, topic, configs=FORCED_COMPACTION)
            admin.alter_configs([resource])
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=runtime.settings.bootstrap_servers, acks="all")
    try:
        for _ in range(2):  # the second roll closes the segment the first one opened
            time.sleep(1)  # older than segment.ms: the next append rolls a new segment
            for topic in topics:
                for partition, (key, value) in last_records(runtime, topic).items():
                    producer.send(topic, key=key, value=value, partition=partition)
            producer.flush()
    finally:
        producer.close()

    def cleaned() -> bool:
        # Compaction keeps the latest record of each key; the re-written last records
        # of each partition (up to two a partition) may not be cleaned yet.
        return all((c := measure_changelog(runtime, t)).records <= c.keys + 20 for t in topics)

    try:
        wait_until(cleaned, timeout=timeout, poll=5)
    except TimeoutError:
        print(f"  the log cleaner had not finished after {timeout} s", file=sys.stderr)


def last_records(runtime: Runtime, topic: str) -> dict[int, tuple[bytes | None, bytes | None]]:
    """The last record of each non-empty partition of `topic`: partition -> (key, value)."""
    consumer = KafkaConsumer(
        bootstrap_servers=runtime.settings.bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
    )
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(tps)
        ends = consumer.end_offsets(tps)
        found: dict[int, tuple[bytes | None, bytes | None]] = {}
        for tp in tps:
            if ends[tp] > 0:
                consumer.seek(tp, ends[tp] - 1)
        wanted = {tp for tp in tps if ends[tp] > 0}
        deadline = time.monotonic() + 30
        while wanted and time.monotonic() < deadline:
            for tp, batch in consumer.poll(timeout_ms=500).items():
                for message in batch:
                    found[tp.partition] = (message.key, message.value)
                wanted.discard(tp)
        return found
    finally:
        consumer.close()


def resident_mb(process: ServiceProcess, field: str = "VmRSS") -> float:
    """The worker's resident memory (``VmRSS``) or its peak (``VmHWM``), in MB."""
    assert process.process is not None
    for line in Path(f"/proc/{process.process.pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024 / 1e6
    return 0.0


def datadir_mb(process: ServiceProcess) -> float:
    state = Path(process.env()["RETURNS_STATE_DIR"])
    return sum(f.stat().st_size for f in state.rglob("*") if f.is_file()) / 1e6


def restart_to_ready(process: ServiceProcess) -> float:
    process.stop()
    began = time.monotonic()
    process.start(wait=False)
    process.wait_ready(timeout=600)
    return time.monotonic() - began


def settled_mb(process: ServiceProcess, quiet_s: int = SETTLED_QUIET_S) -> float:
    """The worker's resident memory once it has stopped moving: sampled each second
    until the last `quiet_s` samples are within 1 MB of each other (at most
    `SETTLED_LIMIT_S`). A worker is ready before it has read the key topic (intake and
    screening read it in a thread once their lanes are assigned, several seconds at
    100,000 groups), so a sample a few seconds after `/readyz` can fall in that read."""
    samples: list[float] = []
    began = time.monotonic()
    while time.monotonic() - began < SETTLED_LIMIT_S:
        samples.append(resident_mb(process))
        last = samples[-quiet_s:]
        if len(last) == quiet_s and max(last) - min(last) <= 1.0:
            break
        time.sleep(1)
    return samples[-1]


def one_input_again(runtime: Runtime, service: str) -> None:
    """The last record of each partition of `service`'s first input topic, sent again,
    as an upstream resubmits: a restarted worker builds some indexes (its retention's,
    `services.runtime.due`) on the first event it handles, not before."""
    topic = f"{runtime.settings.topic_prefix}{FIRST_INPUT[service]}"
    producer = KafkaProducer(bootstrap_servers=runtime.settings.bootstrap_servers, acks="all")
    try:
        for partition, (key, value) in last_records(runtime, topic).items():
            producer.send(topic, key=key, value=value, partition=partition)
        producer.flush()
    finally:
        producer.close()


def settled_after_input(process: ServiceProcess, runtime: Runtime, service: str) -> float:
    """The worker's resident memory once settled after it handled `one_input_again`."""
    one_input_again(runtime, service)
    return settled_mb(process)


def restarts_to_ready(
    process: ServiceProcess, times: int, rss: Callable[[], float] | None = None
) -> tuple[list[float], list[float]]:
    """Restart-to-ready `times` times, each once the previous worker has settled; the
    times, and `rss()` read after each restart but the last (none without `rss`)."""
    runs, memory = [], []
    for n in range(times):
        if n:
            time.sleep(5)  # past the first timers, as before the first restart
        runs.append(restart_to_ready(process))
        if rss is not None and n < times - 1:
            memory.append(rss())
    return runs, memory


def restart_with_memory(
    process: ServiceProcess, runtime: Runtime, service: str
) -> tuple[float, float]:
    """Restart-to-ready and RSS of the same worker with ``memory://``, then back."""
    store = process.env_extra.get("RETURNS_STORE")
    process.env_extra["RETURNS_STORE"] = "memory"
    ready = restart_to_ready(process)
    rss = settled_after_input(process, runtime, service)
    process.stop()
    if store is None:
        del process.env_extra["RETURNS_STORE"]
    else:
        process.env_extra["RETURNS_STORE"] = store
    process.start()
    return ready, rss


def run_service(
    service: str,
    runtime: Runtime,
    groups: int,
    timeout: float,
    env: dict[str, str],
    compare_memory: bool = False,
    restarts: int = 1,
) -> ServiceFigures:
    print(f"{service}: reading the state of {groups} groups ...", file=sys.stderr)
    process = start(service, runtime, **{"RETURNS_GROUP_WAIT_MINUTES": "10", **env})
    try:
        catch_up = wait_caught_up(runtime, service, timeout)
        rss_caught_up = resident_mb(process)
        topics = changelog_topics(runtime, service)
        before = [measure_changelog(runtime, t) for t in topics]
        ready_runs, rss_runs = restarts_to_ready(
            process, restarts, lambda: settled_after_input(process, runtime, service)
        )
        rss_ready = settled_after_input(process, runtime, service)  # and index rebuilds
        rss_peak = resident_mb(process, "VmHWM")
        rss_runs.append(rss_ready)
        memory = restart_with_memory(process, runtime, service) if compare_memory else (None, None)
        force_compaction(runtime, topics, timeout=180)
        after = [measure_changelog(runtime, t) for t in topics]
        after_runs, _ = restarts_to_ready(process, restarts)
        memory_after = restart_with_memory(process, runtime, service)[0] if compare_memory else None
        return ServiceFigures(
            service,
            groups,
            catch_up,
            statistics.median(ready_runs),
            before,
            after,
            statistics.median(after_runs),
            store=env.get("RETURNS_STORE", "default"),
            rss_caught_up_mb=rss_caught_up,
            rss_ready_mb=rss_ready,
            rss_peak_mb=rss_peak,
            datadir_mb=datadir_mb(process),
            ready_memory_s=memory[0],
            rss_memory_ready_mb=memory[1],
            ready_memory_after_compaction_s=memory_after,
            ready_runs_s=ready_runs,
            rss_ready_runs_mb=rss_runs,
            ready_after_compaction_runs_s=after_runs,
        )
    finally:
        process.stop()


def print_table(figures: list[ServiceFigures]) -> None:
    print(
        f"{'changelog':<46} {'policy':<8} {'written':>9} {'MB':>7} {'keys':>8} {'live':>8}"
        f" {'left after compaction':>22} {'MB':>7}"
    )
    for figure in figures:
        for before, after in zip(figure.changelogs, figure.compacted, strict=True):
            print(
                f"{before.topic:<46} {before.cleanup_policy:<8} {before.written:>9}"
                f" {before.bytes / 1e6:>7.2f} {before.keys:>8} {before.live_keys:>8}"
                f" {after.records:>22} {after.bytes / 1e6:>7.2f}"
            )
    print()
    print(
        f"{'service':<10} {'store':<8} {'groups':>7} {'catch-up s':>11} {'ready s':>8}"
        f" {'ready s compacted':>18} {'RSS MB':>7} {'RSS settled':>13} {'peak MB':>8}"
        f" {'disk MB':>8}"
    )
    for figure in figures:
        print(
            f"{figure.service:<10} {figure.store:<8} {figure.groups:>7}"
            f" {figure.catch_up_s:>11.1f} {figure.ready_s:>8.1f}"
            f" {figure.ready_after_compaction_s:>18.1f} {figure.rss_caught_up_mb:>7.0f}"
            f" {figure.rss_ready_mb:>13.0f} {figure.rss_peak_mb:>8.0f} {figure.datadir_mb:>8.1f}"
        )
        if len(figure.rss_ready_runs_mb) > 1:
            each = ", ".join(f"{mb:.0f}" for mb in figure.rss_ready_runs_mb)
            median = statistics.median(figure.rss_ready_runs_mb)
            print(f"{'':<10} RSS MB settled after each restart: {each} (median {median:.0f})")
        if figure.ready_memory_s is not None:
            print(
                f"{'':<10} {'memory':<8} {'(same state)':>20} {figure.ready_memory_s:>8.1f}"
                f" {figure.ready_memory_after_compaction_s or 0:>18.1f} {'':>7}"
                f" {figure.rss_memory_ready_mb or 0:>13.0f}"
            )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--groups", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--services", default=",".join(SERVICES))
    parser.add_argument("--timeout", type=float, default=3600, help="catch-up limit, s")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the topics")
    parser.add_argument("--store", choices=("memory", "rocksdb"), help="RETURNS_STORE")
    parser.add_argument(
        "--compare-memory",
        action="store_true",
        help="also restart each service on the same state with RETURNS_STORE=memory",
    )
    parser.add_argument(
        "--restarts",
        type=int,
        default=1,
        help="restart-to-ready this many times on the same state; the median is reported",
    )
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="a service setting"
    )
    args = parser.parse_args()
    env = dict(item.split("=", 1) for item in args.env if "=" in item)
    if args.store:
        env["RETURNS_STORE"] = args.store
    services = [s for s in args.services.split(",") if s]
    unknown = set(services) - set(SERVICES)
    if unknown:
        parser.error(f"unknown services {sorted(unknown)}; choose from {', '.join(SERVICES)}")
    print(f"broker {bootstrap()}", file=sys.stderr)
    figures: list[ServiceFigures] = []
    try:
        if "intake" in services:
            inbound = new_runtime()
            sent = feed_submissions(inbound, args.groups, args.seed)
            print(f"intake: {sent} submissions written", file=sys.stderr)
            figures.append(
                run_service(
                    "intake",
                    inbound,
                    args.groups,
                    args.timeout,
                    env,
                    args.compare_memory,
                    args.restarts,
                )
            )
            report(figures, args.json)
        rest = [s for s in services if s != "intake"]
        if rest:
            history = new_runtime()
            counts = feed_history(history, args.groups, args.seed)
            print(f"history: {sum(counts.values())} events written {dict(counts)}", file=sys.stderr)
            for service in rest:
                figures.append(
                    run_service(
                        service,
                        history,
                        args.groups,
                        args.timeout,
                        env,
                        args.compare_memory,
                        args.restarts,
                    )
                )
                report(figures, args.json)  # each service's figures as soon as they exist
    finally:
        if not args.keep:
            cleanup()
    return 0


def report(figures: list[ServiceFigures], path: Path | None) -> None:
    print_table(figures)
    sys.stdout.flush()
    if path is not None:
        path.write_text(json.dumps([asdict(f) for f in figures], indent=2) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
