"""The scan notify's decisions agent makes after a partition assignment, with and without
retention: how long it takes over `--finished` finished and `--open` open requests.

    .venv/bin/python -m bench.notify_state [--finished 20000] [--open 1000] [--runs 5]

No broker: the `requests` table is a dict holding exactly what notify stores (one
`TrackedRequest` JSON per legal-aid request). Figures, medians over `--runs`:

- without retention: the scan reads every request ever issued (what notify did before
  `RETURNS_NOTIFY_RETAIN_DAYS`);
- the ticks that expire the finished requests (each a delete, a tombstone in the
  service; at most `EXPIRED_PER_TICK` a partition a tick): the longest one;
- with retention: the scan after that tick reads the open requests only.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta

from schemas.requests import LegalAidRequested
from services.notify.progress import TrackedRequest
from services.notify.tracker import DEFAULT_RETAIN, RequestTracker

ISSUED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PARTITIONS = 12


def request(number: int) -> LegalAidRequested:
    return LegalAidRequested(
        group_id=f"G-2026-{number:06d}",
        purpose="immigration_hearing",
        priority="normal",
        provider_id="LA-CJS-01",
        provider_choice="least loaded",
        location="CJS",
        shelter_id="SH-CJS-01",
        members=[f"A{number * 2:09d}", f"A{number * 2 + 1:09d}"],
        earliest_hearing_at=None,
        preferred_language="spa",
        interpreter_required=False,
        due_by=ISSUED + timedelta(days=400),
        accept_by=None,
    )


def table(finished: int, open_: int) -> dict[str, bytes]:
    """`finished` requests closed (stamped on `ISSUED`) and `open_` accepted ones."""
    rows: dict[str, bytes] = {}
    for number in range(finished + open_):
        done = number < finished
        tracked = TrackedRequest(
            event_id=f"00000000-0000-5000-8000-{number:012d}",
            partition=number % PARTITIONS,
            crossing="ELP",
            issued_at=ISSUED,
            request=request(number),
            stage="closed" if done else "accepted",
            finished_at=ISSUED if done else None,
        )
        rows[tracked.event_id] = tracked.to_bytes()
    return rows


def scan_seconds(rows: dict[str, bytes]) -> float:
    """The scan a fresh assignment makes (`RequestTracker.ensure`)."""
    tracker = RequestTracker(rows, {}, clock=lambda: ISSUED)
    started = time.perf_counter()
    tracker.ensure(0)
    return time.perf_counter() - started


def expire_seconds(rows: dict[str, bytes]) -> tuple[float, int, int]:
    """Ticks past the retention until every finished request is deleted: the longest
    tick (one per partition each time, as the clock sends them), how many ticks, and how
    many deleted."""
    tracker = RequestTracker(rows, {}, clock=lambda: ISSUED)
    tracker.ensure(0)
    now = ISSUED + DEFAULT_RETAIN + timedelta(seconds=1)
    longest, rounds, gone = 0.0, 0, 0
    while True:
        deleted = 0
        for partition in range(PARTITIONS):
            started = time.perf_counter()
            deleted += tracker.expire(partition, now)
            longest = max(longest, time.perf_counter() - started)
        if not deleted:
            return longest, rounds, gone
        rounds, gone = rounds + 1, gone + deleted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--finished", type=int, default=20_000)
    parser.add_argument("--open", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    before, ticks, after = [], [], []
    for _ in range(args.runs):
        rows = table(args.finished, args.open)
        size = sum(len(value) for value in rows.values())
        before.append(scan_seconds(rows))
        seconds, rounds, gone = expire_seconds(rows)
        ticks.append(seconds)
        after.append(scan_seconds(rows))
        print(
            f"{args.finished} finished + {args.open} open ({size / 1e6:.1f} MB): "
            f"scan {before[-1] * 1000:.0f} ms; {gone} deleted in {rounds} rounds of ticks, "
            f"longest tick {seconds * 1000:.0f} ms; "
            f"scan after {after[-1] * 1000:.0f} ms ({len(rows)} left)"
        )
    median = {
        name: statistics.median(v) * 1000
        for name, v in (("before", before), ("tick", ticks), ("after", after))
    }
    print(
        f"median over {args.runs}: scan without retention {median['before']:.0f} ms, "
        f"longest expiry tick {median['tick']:.0f} ms, scan with retention {median['after']:.0f} ms"
    )


if __name__ == "__main__":
    main()
