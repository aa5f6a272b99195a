"""A worker's retention with its index on disk: intake forgets an accepted submission when
its period has passed, also after a restart that built the index again from the table.

The period is seconds here, not days. Within it a re-sent submission is a duplicate;
after it, the same submission is accepted again and published under the same event id
(services/intake/retention.py).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from services.runtime.context import Runtime
from services.upstream import KafkaSubmitter
from tests.support.kafka import read_topic
from tests.support.services import ServiceProcess
from tests.unit.contracts.samples import submission

PERIOD_S = 6.0


def test_intake_forgets_a_submission_after_its_period_across_a_restart(
    runtime: Runtime, tmp_path: Path
) -> None:
    record = submission(submission_id="cbp-elp-retained-0001")
    group = record["group_id"].encode()
    intake = ServiceProcess(
        "intake",
        runtime,
        tmp_path / "intake.log",
        env_extra={"RETURNS_INTAKE_RETAIN_DAYS": str(PERIOD_S / 86_400)},
    )
    intake.start()
    try:
        with KafkaSubmitter(runtime.router) as submit:
            submit(record)
            submit(record)  # within the period: a duplicate
        accepted_at = time.monotonic()
        first = read_topic(
            runtime.settings,
            "person-returned",
            until=lambda rs: any(r.key == group for r in rs),
            settle=2.0,
        )
        assert sum(r.key == group for r in first) == 1

        intake.restart()  # the index is built again, on disk, from the recovered table
        assert list(Path(intake.env()["RETURNS_STATE_DIR"]).rglob("due/submissions"))
        time.sleep(max(0.0, accepted_at + PERIOD_S + 1 - time.monotonic()))
        with KafkaSubmitter(runtime.router) as submit:
            submit(record)  # past the period: forgotten, so accepted again
        again = read_topic(
            runtime.settings,
            "person-returned",
            until=lambda rs: sum(r.key == group for r in rs) >= 2,
            settle=2.0,
        )
    finally:
        intake.kill()
    published = [json.loads(r.value)["event_id"] for r in again if r.key == group]
    assert len(published) == 2
    assert published[0] == published[1]
