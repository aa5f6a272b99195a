"""What one member costs the screening desk while many groups wait for their members.

The desk runs on in-memory tables, without Kafka. ``--open`` groups of two are opened
with one member each, spread over ``--partitions`` partitions and over the gather
window, so that none is due yet. Then ``--members`` more groups' first members arrive,
each a few milliseconds after the last; each one advances its partition's arrival
watermark, which asks the desk for the groups due by then. Reported: the median and
p95 time per member, the time to rebuild the deadline index from the table (as after
a rebalance), and the time to close all the waiting groups at once, once their window
has run out. Times are CPU time of the process, so that other work on the
machine does not count. Usage::

    python bench/screening_desk.py --open 10000 --members 2000
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from schemas import Envelope, PersonReturned, encode, event_id_for, make_envelope
from services.screening.desk import ScreeningDesk
from services.screening.ruleset import load_rule_set
from tests.unit.screening.factories import returned

WINDOW = timedelta(minutes=10)
GRACE = timedelta(seconds=30)
START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def arrival(number: int, at: datetime) -> tuple[Envelope[PersonReturned], bytes]:
    record = returned(
        f"A2{number:08d}",
        group_id=f"G-2026-{number:06d}",
        group_size=2,
        submission_id=f"cbp-elp-{number:06d}",
    )
    envelope = make_envelope(
        record,
        event_id=event_id_for("person-returned", record.source, record.submission_id),
        producer="intake/0.1.0",
        correlation_id=record.group_id,
        causation_id=None,
        crossing=record.crossing,
        occurred_at=at,
    )
    return envelope, encode(envelope)


async def measure(open_groups: int, members: int, partitions: int) -> dict[str, float]:
    sent: list[Envelope[Any]] = []

    async def emit(envelope: Envelope[Any]) -> None:
        sent.append(envelope)

    tables: dict[str, dict[str, bytes]] = {"groups": {}, "open": {}, "watermarks": {}}
    desk = ScreeningDesk(load_rule_set("2021-12"), WINDOW, tables, emit, GRACE)  # type: ignore[arg-type]
    # The waiting groups opened over the first half of the window: none is due.
    spread = WINDOW / 2 / max(open_groups, 1)
    for number in range(open_groups):
        envelope, raw = arrival(number, START + spread * number)
        await desk.take_member(envelope, raw, number % partitions, None)
    assert len(tables["open"]) == open_groups
    assert not sent
    arrivals = [
        arrival(open_groups + n, START + WINDOW / 2 + timedelta(milliseconds=5 * n))
        for n in range(members)
    ]
    times = []
    for number, (envelope, raw) in enumerate(arrivals):
        began = time.process_time()
        await desk.take_member(envelope, raw, number % partitions, None)
        times.append(time.process_time() - began)
    assert not sent, "no group was due yet"
    # A rebalance: the next member's partition rebuilds the index from the table.
    desk.deadlines.forget()
    began = time.process_time()
    await desk.close_due(0, START)
    rebuild = time.process_time() - began
    began = time.process_time()
    for partition in range(partitions):
        await desk.close_due(partition, START + 2 * WINDOW + GRACE)
    closing = time.process_time() - began
    assert len(sent) == open_groups + members
    assert not tables["open"]
    times.sort()
    return {
        "median_ms": statistics.median(times) * 1000,
        "p95_ms": times[int(len(times) * 0.95)] * 1000,
        "close_all_s": closing,
        "rebuild_ms": rebuild * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=10_000, help="groups waiting")
    parser.add_argument("--members", type=int, default=2_000, help="members timed")
    parser.add_argument("--partitions", type=int, default=3)
    args = parser.parse_args()
    figures = asyncio.run(measure(args.open, args.members, args.partitions))
    print(
        f"screening desk, {args.open:,} open groups over {args.partitions} partitions: "
        f"per member median {figures['median_ms']:.3f} ms, p95 {figures['p95_ms']:.3f} ms; "
        f"closing all {args.open + args.members:,} groups {figures['close_all_s']:.2f} s; "
        f"rebuilding the index after an assignment {figures['rebuild_ms']:.1f} ms"
    )


if __name__ == "__main__":
    main()
