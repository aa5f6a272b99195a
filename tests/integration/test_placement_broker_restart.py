"""The broker stopped and started again in the middle of a burst: `verify` still agrees.

A placement worker places a burst of groups against tight caps and few beds. Once it
has placed a few, the broker is stopped (SIGTERM, as `kafka.sh down` does), kept down
for a while, and started again from the same data; the rest of the burst follows.
Then an auditor replays the log from the first offset, as `returns audit verify`
does for placement (`PlacementAuditor`), and every placement and first deferral must
be what the policy, replayed over the log, decides: nothing deferred for a cap that the
log does not show reached, nobody placed at a first attempt past a group waiting.
Every group must get an answer, and no group may be placed twice.

Only with the broker of local jars that the test session started (the one
`tests/support/broker.py` runs): a broker from the environment or Docker is not ours
to stop.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from schemas.envelope import Envelope, event_id_for
from services.audit.placement_check import PlacementAuditor
from services.audit.reader import Replay, ReplaySource
from services.runtime.context import Runtime
from services.runtime.publishing import EventProducer
from tests.conftest import StartService
from tests.integration.test_placement_support import (
    accepted,
    capacity,
    events,
    location,
    now_in,
    publish,
    status,
    wait_for,
)
from tests.support.broker import KAFKA_SH, START_TIMEOUT_S, TEST_STATE_DIR, BrokerInfo

ZONES = {
    "SAN": timezone(timedelta(hours=-8)),
    "OLS": timezone(timedelta(hours=-7)),
    "ELP": timezone(timedelta(hours=-7)),
    "EGP": timezone(timedelta(hours=-6)),
    "LRD": timezone(timedelta(hours=-6)),
    "BRO": timezone(timedelta(hours=-6)),
}
# Tight limits, so that the burst runs into caps and full shelters everywhere.
CAPS = {"TIJ": 40, "NOG": 40, "CJS": 40, "PDS": 40, "NLD": 30, "MAM": 30, "MTY": 40}
BEDS = {
    "NOG-S01": 5,
    "NOG-S02": 3,
    "NOG-S03": 0,
    "NOG-S04": 0,
    "PDS-S01": 6,
    "PDS-S02": 2,
    "PDS-S03": 0,
}
GROUPS = 200
RATE = 25.0  # groups a second: the burst goes on while the broker is down
DOWN_S = 8.0
PLACEMENT_TOPICS = (
    "screened",
    "location-status-changed",
    "capacity-updated",
    "shelter-departed",
    "placement-withdrawn",
    "placement-deferred",
    "placed",
)


@pytest.mark.chaos  # a fault run: `make chaos`, not `make test`
def test_a_broker_restart_mid_burst_leaves_every_placement_as_the_policy_decides(
    kafka: BrokerInfo, runtime: Runtime, start_service: StartService
) -> None:
    if kafka.kind != "local-jars":
        pytest.skip("only the test session's own broker of local jars can be restarted")
    worker = start_service("placement")
    _tighten_limits(runtime, worker)

    burst = [_group(n) for n in range(1, GROUPS + 1)]
    sender = threading.Thread(target=_publish_steadily, args=(runtime, burst), daemon=True)
    sender.start()
    events(runtime, "placed", lambda e: len(e) >= 12, timeout=30)
    _restart_broker(kafka, down_for=DOWN_S)
    sender.join(timeout=120)

    groups = {g.data.group_id for g in burst}
    wait_for(lambda: _all_answered(runtime, groups), "an answer for every group", 60)
    # Once placement has caught up, its queues are the ones the log shows.
    auditor, counts = wait_for(lambda: _caught_up(runtime, worker), "the same queues", 45)
    print(
        f"\nbroker restart: {counts['placed']} placed, {counts['placement-deferred']} deferred, "
        f"{counts['placement-withdrawn']} withdrawn; mismatches {len(auditor.mismatches)}"
    )
    assert auditor.mismatches == [], "\n".join(
        f"{m.category}: {m.detail} ({m.group_id} at {m.where})" for m in auditor.mismatches
    )


def _caught_up(runtime: Runtime, worker: Any) -> tuple[PlacementAuditor, Counter[str]] | None:
    """The replay, once the queues placement serves are those the replay rebuilds."""
    auditor, counts = _audit(runtime)
    served = {code: [w["group_id"] for w in location(worker, code)["waiting"]] for code in CAPS}
    replayed = auditor.waiting()
    same = all(served[code] == replayed.get(code, []) for code in CAPS)
    return (auditor, counts) if same or auditor.mismatches else None


def _publish_steadily(runtime: Runtime, burst: list[Envelope[Any]]) -> None:
    """The burst at `RATE`; every fifth family is re-decided a moment after its decision."""
    with EventProducer(runtime.router, client_id="placement-test") as producer:
        pending: list[Envelope[Any]] = []
        for n, first in enumerate(burst):
            envelope = first.model_copy(update={"occurred_at": datetime.now(UTC)})
            producer.publish("screened", envelope)
            for again in pending:
                producer.publish("screened", again)
            pending = [_redecided(envelope)] if n % 5 == 0 else []
            time.sleep(1 / RATE)


def _redecided(first: Envelope[Any]) -> Envelope[Any]:
    """A re-decision of `first`: a member less (a correction), or one more (a late member)."""
    members = list(first.data.members)
    if len(members) > 1:
        members = members[:-1]
    else:
        members = [
            *members,
            members[0].model_copy(update={"case_id": f"{members[0].case_id[:-2]}99"}),
        ]
    data = first.data.model_copy(
        update={
            "members": members,
            "group_size": len(members),
            "supersedes": first.event_id,
            "revision": 2,
        }
    )
    return first.model_copy(
        update={
            "data": data,
            "event_id": event_id_for("screened", "test", data.group_id, "2"),
            "occurred_at": datetime.now(UTC),
        }
    )


def _no(_: list[Envelope[Any]]) -> bool:
    return False


def _tighten_limits(runtime: Runtime, worker: Any) -> None:
    publish(
        runtime,
        "location-status-changed",
        [status(code, "normal", cap) for code, cap in CAPS.items()],
    )
    publish(runtime, "capacity-updated", [capacity(s[:3], s, beds) for s, beds in BEDS.items()])

    def applied() -> bool:
        views = {code: location(worker, code) for code in ("NOG", "PDS", "MTY")}
        beds = {s["shelter_id"]: s["beds"] for v in views.values() for s in v["shelters"]}
        return views["MTY"]["daily_cap"] == CAPS["MTY"] and all(
            beds[s] == b for s, b in BEDS.items()
        )

    wait_for(applied, "the new caps and beds in the ops view")


def _group(n: int) -> Envelope[Any]:
    crossing = list(ZONES)[n % len(ZONES)]
    size = (1, 2, 3, 1, 4, 2, 5)[n % 7]
    case_ids = [f"A6{n:05d}{i:02d}" for i in range(size)]
    returned_at = now_in(ZONES[crossing]) - timedelta(days=1 if n % 4 == 0 else 0)
    return accepted(f"G-2026-{crossing}-{n:06d}", crossing, case_ids, returned_at)


def _all_answered(runtime: Runtime, groups: set[str]) -> bool:
    answered = {
        r.event().data.group_id
        for topic in ("placed", "placement-deferred")
        for r in events(runtime, topic, _no, timeout=1.0)
    }
    return groups <= answered


def _audit(runtime: Runtime) -> tuple[PlacementAuditor, Counter[str]]:
    """Replay the placement topics from the first offset, as `verify` does for placement."""
    settings = runtime.settings
    replay = Replay(
        ReplaySource(settings.bootstrap_servers, settings.topic_prefix), PLACEMENT_TOPICS
    )
    auditor = PlacementAuditor(runtime.reference)
    counts: Counter[str] = Counter()
    for event in replay:
        counts[event.topic] += 1
        auditor.on_event(event)
    return auditor, counts


def _restart_broker(kafka: BrokerInfo, down_for: float) -> None:
    """Stop the session's broker (SIGTERM), wait `down_for` seconds, start it again."""
    config = (TEST_STATE_DIR / "server.properties").read_text()
    found = re.search(r"^controller\.quorum\.voters=1@127\.0\.0\.1:(\d+)$", config, re.M)
    assert found, "no controller port in the test broker's server.properties"
    env = {
        **os.environ,
        "KAFKA_PORT": kafka.bootstrap_servers.rsplit(":", 1)[1],
        "KAFKA_CONTROLLER_PORT": found.group(1),
        "KAFKA_STATE_DIR": str(TEST_STATE_DIR),
        "KAFKA_START_TIMEOUT": str(START_TIMEOUT_S),
        "PYTHON": os.environ.get("PYTHON", sys.executable),
    }
    for command in ("down", "up"):
        result = subprocess.run(
            ["bash", str(KAFKA_SH), command],
            env=env,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S + 60,
            check=False,
        )
        assert result.returncode == 0, f"kafka.sh {command}: {result.stdout}{result.stderr}"
        if command == "down":
            time.sleep(down_for)
