"""Family unity under real submission timing, measured on a fresh stack.

Intake and screening start as processes on fresh topics. ``--families`` families
(realistic sizes, nationalities and declarations, all crossings) are submitted on
``returns-inbound`` as upstream systems send them: 0 to ``--max-hours-late`` hours after
their return, every record of every family shuffled into one random order, each under
a random key, from three sources. Then ``screened`` is read back from the first offset.

Reported, per family: how many decisions it got (one is the goal: no interim decision
at all), and whether its live decision (the end of its chain) equals ``decide_group``
over the whole family. Usage::

    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 python -m bench.family_unity --families 1000
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

from bench.common import cleanup, new_runtime, start, wait_until
from schemas.decisions import Screened
from schemas.person import PersonReturned
from services.audit.synthetic_people import CROSSINGS, people, weighted
from services.runtime.context import Runtime
from services.runtime.publishing import EventProducer
from services.screening.rules import decide_group
from services.screening.ruleset import load_rule_set
from tests.support.kafka import read_topic

SOURCES = ("cbp-port-batch", "cbp-desk", "inm-desk")


def families(count: int, max_hours_late: float, seed: int) -> list[list[PersonReturned]]:
    rng = random.Random(seed)  # noqa: S311 (simulated data)
    now = datetime.now(UTC)
    made = []
    for number in range(count):
        crossing = weighted(rng, CROSSINGS)
        returned_at = now - timedelta(hours=rng.uniform(0, max_hours_late))
        source = rng.choice(SOURCES)
        made.append(
            [
                person.model_copy(
                    update={"source": source, "submission_id": f"{source}-{person.submission_id}"}
                )
                for person in people(rng, 0.1, number, crossing, returned_at)
            ]
        )
    return made


def submit(runtime: Runtime, records: list[PersonReturned]) -> float:
    began = time.monotonic()
    with EventProducer(runtime.router) as producer:
        for record in records:
            raw = record.model_dump_json().encode()
            producer.publish_bytes(
                "returns-inbound", raw, key=str(uuid.uuid4()), crossing=record.crossing
            )
    return time.monotonic() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=1000)
    parser.add_argument("--max-hours-late", type=float, default=24.0)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args(argv)

    made = families(args.families, args.max_hours_late, args.seed)
    records = [member for family in made for member in family]
    random.Random(args.seed + 1).shuffle(records)  # noqa: S311 (simulated data)
    runtime = new_runtime()
    services = [start("intake", runtime), start("screening", runtime)]
    try:
        sent_in = submit(runtime, records)
        print(f"submitted {len(records)} records of {len(made)} families in {sent_in:.1f} s")
        groups = {family[0].group_id: family for family in made}
        decided: dict[str, list[Screened]] = {}

        def every_family_decided() -> bool:
            decided.clear()
            for message in read_topic(runtime.settings, "screened", timeout=2.0):
                data = message.event().data
                decided.setdefault(data.group_id, []).append(data)
            return all(group_id in decided for group_id in groups)

        took = wait_until(every_family_decided, args.timeout, poll=5.0)
        time.sleep(5.0)
        every_family_decided()  # and anything that came after
        print(f"every family decided {took:.0f} s after the last submission")
    finally:
        for service in services:
            service.kill()
        cleanup()
    return report(groups, decided)


def report(groups: dict[str, list[PersonReturned]], decided: dict[str, list[Screened]]) -> int:
    rules = load_rule_set("2021-12")
    counts = Counter(len(decided.get(group_id, [])) for group_id in groups)
    right = sum(
        1
        for group_id, family in groups.items()
        if decided.get(group_id) and _same(decided[group_id][-1], decide_group(family, rules))
    )
    total = len(groups)
    one = counts.get(1, 0)
    print(f"families with exactly one decision: {one}/{total} = {100 * one / total:.1f} %")
    print(
        f"families whose live decision is decide_group over the whole family: "
        f"{right}/{total} = {100 * right / total:.1f} %"
    )
    print("decisions per family:", dict(sorted(counts.items())))
    return 0 if one == total and right == total else 1


def _same(live: Screened, whole: Screened) -> bool:
    return (live.decision, live.members, live.reasons) == (
        whole.decision,
        whole.members,
        whole.reasons,
    )


if __name__ == "__main__":
    sys.exit(main())
