"""Throughput of intake and screening: submissions per second from returns-inbound to screened.

    make bench                       # starts the local broker if needed
    .venv/bin/python bench/intake_screening.py --submissions 3000 --runs 3

Each run gets fresh topics, starts intake and screening as real processes, publishes
realistic submissions (the simulator's population, complete groups only) to
``returns-inbound`` through the upstream helper, and times until every member appears
in a ``screened`` event. The baseline, measured in the same run on the same broker, is
plain kafka-python producing and consuming the same bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from bench.common import baseline_rate, cleanup, new_runtime, start, summary, wait_until
from services.runtime.context import Runtime
from services.simulator import generate
from services.upstream import KafkaSubmitter


def complete_groups(n: int, seed: int) -> list[dict[str, Any]]:
    """`n` submissions, whole groups only, returned hours ago as upstreams send them (a
    record older than screening's retention would not be taken)."""
    start = datetime.now(UTC) - timedelta(hours=6)
    records = list(generate(seed=seed, n=n, start=start))
    size = Counter(r["group_id"] for r in records)
    return [r for r in records if size[r["group_id"]] == r["group_size"]]


class ScreenedCounter:
    """Counts members decided so far, reading ``screened`` without a consumer group."""

    def __init__(self, runtime: Runtime) -> None:
        self.consumer = KafkaConsumer(
            bootstrap_servers=runtime.settings.bootstrap_servers, group_id=None
        )
        name = runtime.settings.topic("screened")
        partitions = [
            TopicPartition(name, p) for p in self.consumer.partitions_for_topic(name) or []
        ]
        self.consumer.assign(partitions)
        self.consumer.seek_to_beginning(*partitions)
        self.members: set[str] = set()

    def poll(self) -> int:
        for batch in self.consumer.poll(timeout_ms=100).values():
            for message in batch:
                data = json.loads(message.value)["data"]
                self.members.update(m["case_id"] for m in data["members"])
        return len(self.members)


def one_run(records: list[dict[str, Any]]) -> tuple[float, float]:
    runtime = new_runtime()
    raw = [json.dumps(r, ensure_ascii=False).encode() for r in records]
    baseline = baseline_rate(new_runtime(), raw)
    intake = start("intake", runtime)
    screening = start("screening", runtime, RETURNS_GROUP_WAIT_MINUTES="1")
    counter = ScreenedCounter(runtime)
    try:
        began = time.monotonic()
        with KafkaSubmitter(runtime.router) as submit:
            for record in records:
                submit(record)
        wait_until(lambda: counter.poll() >= len(records), timeout=600, poll=0)
        return len(records) / (time.monotonic() - began), baseline
    finally:
        intake.stop()
        screening.stop()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--submissions", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    records = complete_groups(args.submissions, seed=2021)
    rates, baselines = [], []
    try:
        for run in range(args.runs):
            rate, baseline = one_run(records)
            rates.append(rate)
            baselines.append(baseline)
            print(f"run {run + 1}: {rate:.0f} submissions/s; baseline {baseline:.0f}/s", flush=True)
    finally:
        cleanup()
    print(summary(f"intake+screening, {len(records)} submissions", rates, baselines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
