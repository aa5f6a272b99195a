"""`returns audit verify --workers 2` on the real broker gives the one-process report."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from kafka import KafkaProducer

from services.audit.cli import audit_app
from services.audit.synthetic import HistoryOptions, publish_history, synthetic_history
from services.runtime.context import Runtime
from services.runtime.publishing import EventProducer
from tests.support.commands import run_command
from tests.unit.audit.audit_factories import decided
from tests.unit.screening.factories import published, returned

AS_OF = "2027-06-01T00:00:00Z"


def test_two_workers_report_what_one_reports_on_a_forged_history(runtime: Runtime) -> None:
    events: list[tuple[str, Any]] = list(
        synthetic_history(runtime.reference, HistoryOptions(groups=120, seed=5))
    )
    grandmother = published(returned("A300000002", group_id="G-FORGED", born="1960-01-15"))
    events += [("person-returned", grandmother)]
    events += [("screened", decided([grandmother], decision="accepted", reasons=[]))]
    events += [next(item for item in events if item[0] == "placed")]  # a duplicate
    with EventProducer(runtime.router) as producer:
        publish_history(producer.publish, events)
    junk = KafkaProducer(bootstrap_servers=runtime.settings.bootstrap_servers)
    for topic in ("person-returned", "screened", "placed"):
        junk.send(runtime.settings.topic(topic), value=b'{"event_id": "forged"}', partition=0)
    junk.flush()
    junk.close()

    one = run_command(audit_app, runtime, "verify", "--json", "--as-of", AS_OF, "--workers", "1")
    two = run_command(audit_app, runtime, "verify", "--json", "--as-of", AS_OF, "--workers", "2")

    assert one.exit_code == two.exit_code == 1
    report = json.loads(one.stdout)
    categories = Counter(m["category"] for m in report["mismatches"])
    assert categories["undecodable event"] == 3
    assert categories["decision differs"] == 1
    assert report["duplicates"] == 1
    assert json.loads(two.stdout) == report
