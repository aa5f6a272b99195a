"""`returns audit` on the real broker, over a recorded history produced to fresh topics.

The history is what the services would have written: `person-returned` records,
`screened` from `decide_group`, placements from the placement policy, legal-aid and care
requests from notify's rules, status changes, a capacity cut and departures. Each test
appends what it needs (a forged event, crafted groups) and runs the command as a user.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

from schemas.decisions import Placed
from schemas.envelope import Envelope, event_id_for, make_envelope
from schemas.status import CapacityUpdated
from services.audit.cli import audit_app
from services.audit.synthetic import HistoryOptions, ops_event, publish_history, synthetic_history
from services.runtime.context import Runtime
from services.runtime.publishing import EventProducer
from services.screening.ruleset import RULE_SETS_DIR
from tests.support.commands import run_command
from tests.unit.audit.audit_factories import decided
from tests.unit.screening.factories import published, returned


def audit(runtime: Runtime, *args: str) -> Result:
    return run_command(audit_app, runtime, *args)


def publish(runtime: Runtime, events: list[tuple[str, Envelope[Any]]]) -> Counter[str]:
    with EventProducer(runtime.router) as producer:
        return publish_history(producer.publish, events)


@pytest.fixture
def history(runtime: Runtime) -> list[tuple[str, Envelope[Any]]]:
    events = list(synthetic_history(runtime.reference, HistoryOptions(groups=150, seed=11)))
    publish(runtime, events)
    return events


def mismatches(result: Result) -> list[dict[str, Any]]:
    document: dict[str, Any] = json.loads(result.stdout)
    return list(document["mismatches"])


def test_verify_passes_on_the_recorded_history(runtime: Runtime, history: list[Any]) -> None:
    result = audit(runtime, "verify", "--json")
    assert result.exit_code == 0, result.stdout[-3000:]
    document = json.loads(result.stdout)
    counts = Counter(topic for topic, _ in history)
    groups = {envelope.data.group_id for topic, envelope in history if topic == "screened"}
    assert len(groups) == 150
    assert document["events"]["screened"] == counts["screened"] >= 150  # and re-decisions
    assert document["decisions_rechecked"] == counts["screened"]
    assert document["placements_checked"] == counts["placed"]
    assert document["mismatches"] == []


def test_verify_recognises_a_repeated_event_as_a_duplicate(
    runtime: Runtime, history: list[Any]
) -> None:
    topic, envelope = next(item for item in history if item[0] == "placed")
    publish(runtime, [(topic, envelope.model_copy(update={"occurred_at": datetime.now(UTC)}))])
    result = audit(runtime, "verify", "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["duplicates"] == 1
    assert document["events"]["placed"] == sum(1 for t, _ in history if t == "placed")


def test_verify_fails_on_a_forged_screened_event_with_the_exact_mismatch(
    runtime: Runtime, history: list[Any]
) -> None:
    grandmother = published(returned("A300000001", group_id="G-FORGED", born="1960-01-15"))
    forged = decided([grandmother], decision="accepted", reasons=[])
    publish(runtime, [("person-returned", grandmother), ("screened", forged)])
    result = audit(runtime, "verify", "--json")
    assert result.exit_code == 1
    found = mismatches(result)
    assert [(m["category"], m["group_id"]) for m in found] == [
        ("decision differs", "G-FORGED"),
        ("reasons differ", "G-FORGED"),
    ]
    assert found[0]["detail"] == "recorded accepted, rule set 2021-12 gives declined"
    assert found[0]["where"].startswith("screened[")


def test_verify_fails_on_a_forged_placement_over_a_shelters_beds(
    runtime: Runtime, history: list[Any]
) -> None:
    now = datetime.now(UTC)
    cut = [
        CapacityUpdated(shelter_id=f"NLD-S0{n}", location="NLD", beds=0, effective_at=now)
        for n in (1, 2, 3)
    ]
    family = [
        published(returned(f"A30000001{n}", group_id="G-NLD", group_size=2, crossing="LRD"))
        for n in (1, 2)
    ]
    decision = decided(family)
    assert decision.data.decision == "accepted"
    placed = make_envelope(
        _placed(decision, "NLD", "NLD-S01"),
        event_id=event_id_for("placed", decision.event_id),
        producer="forger/1",
        correlation_id="G-NLD",
        causation_id=decision.event_id,
        crossing="LRD",
        occurred_at=datetime.now(UTC) + timedelta(seconds=1),
    )
    publish(
        runtime,
        [
            ("capacity-updated", ops_event(c, f"{c.shelter_id}-{now}", c.shelter_id, now))
            for c in cut
        ]
        + [("person-returned", m) for m in family]
        + [("screened", decision), ("placed", placed)],
    )
    result = audit(runtime, "verify", "--json")
    assert result.exit_code == 1
    found = mismatches(result)
    assert [(m["category"], m["group_id"]) for m in found] == [
        ("placement over shelter beds", "G-NLD")
    ]
    assert found[0]["detail"].startswith("NLD-S01: 0 free of 0, 2 placed")


def _placed(decision: Envelope[Any], location: str, shelter_id: str) -> Placed:
    return Placed(
        group_id=decision.data.group_id,
        location=location,
        shelter_id=shelter_id,
        members=[m.case_id for m in decision.data.members],
        beds=len(decision.data.members),
        rerouted_from=None,
        transport_required=False,
        deferred_since=None,
        returned_at=decision.data.returned_at,
    )


def test_case_shows_the_full_chain_with_its_causes(runtime: Runtime, history: list[Any]) -> None:
    cared = next(e for t, e in history if t == "care-requested")
    result = audit(runtime, "case", cared.data.case_id, "--json")
    assert result.exit_code == 0
    entries = json.loads(result.stdout)
    topics = [entry["topic"] for entry in entries]
    assert topics[0] == "person-returned"
    for topic in ("screened", "placed", "legal-aid-requested", "care-requested"):
        assert topic in topics
    number = {entry["topic"]: entry["number"] for entry in entries}
    by_topic = {entry["topic"]: entry for entry in entries}
    assert number["person-returned"] in by_topic["screened"]["caused_by"]
    assert by_topic["placed"]["caused_by"] == [number["screened"]]
    assert by_topic["care-requested"]["caused_by"] == [number["placed"]]
    assert entries[0]["event"]["data"]["person"]["given_names"] == "[redacted]"
    table = audit(runtime, "case", cared.data.case_id)
    assert "PLACED at" in table.stdout


def test_report_totals_equal_the_events(
    runtime: Runtime, history: list[Any], tmp_path: Path
) -> None:
    counts = Counter(topic for topic, _ in history)
    result = audit(
        runtime, "report", "--from", "2026-01-01", "--to", "2027-12-31", "--format", "json"
    )
    assert result.exit_code == 0
    total = json.loads(result.stdout)["rows"][-1]
    assert total["crossing"] == "ALL"
    corrections = sum(1 for t, e in history if t == "person-returned" and e.data.corrects)
    groups = {envelope.data.group_id for topic, envelope in history if topic == "screened"}
    assert total["people_returned"] == counts["person-returned"] - corrections
    assert total["groups"] == len(groups)  # live decisions only
    assert total["placed"]["groups"] == counts["placed"]
    assert sum(total["legal_aid_requests"].values()) == counts["legal-aid-requested"]
    assert total["vaccination"]["requests"] == counts["care-requested"]
    assert sum(total["deferrals"].values()) == counts["placement-deferred"]
    written = audit(
        runtime,
        "report",
        "--from",
        "2026-01-01",
        "--to",
        "2027-12-31",
        "--format",
        "all",
        "--out",
        str(tmp_path),
    )
    assert written.exit_code == 0
    assert (tmp_path / "report.csv").read_text().startswith("crossing,location,measure")


def test_what_if_older_persons_from_65_lists_exactly_the_groups_that_change(
    runtime: Runtime, tmp_path: Path
) -> None:
    crafted = {
        "G-1": [returned("A100000001", group_id="G-1", born="1964-05-01")],  # 62: accepted
        "G-2": [returned("A100000002", group_id="G-2", born="1964-05-01", pregnant=True)],
        "G-3": [
            returned("A100000003", group_id="G-3", born="1963-01-01", fear_of_return_to_mexico=True)
        ],  # 63 and afraid: referred
        "G-4": [returned("A100000004", group_id="G-4", born="1956-01-01")],  # 70: still declined
        "G-5": [  # a grandmother of 61 with her grandson: accepted
            returned("A100000005", group_id="G-5", group_size=2, born="1965-03-03"),
            returned(
                "A100000006", group_id="G-5", group_size=2, born="1995-03-03", role="relative"
            ),
        ],
        "G-6": [returned("A100000007", group_id="G-6", born="1990-03-03")],  # 36: accepted
    }
    events: list[tuple[str, Envelope[Any]]] = []
    for members in crafted.values():
        recorded = [published(member) for member in members]
        events += [("person-returned", m) for m in recorded] + [("screened", decided(recorded))]
    publish(runtime, events)
    rules = tmp_path / "older-at-65.toml"
    text = (RULE_SETS_DIR / "2021-12.toml").read_text().replace('"2021-12"', '"older-at-65"')
    rules.write_text(text.replace("older_person_age = 60", "older_person_age = 65"))
    result = audit(runtime, "what-if", "--rules", str(rules), "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    changed = [(c["group_id"], c["recorded"], c["alternative"]) for c in document["changed"]]
    assert changed == [
        ("G-1", "declined", "accepted"),
        ("G-3", "declined", "referred"),
        ("G-5", "declined", "accepted"),
    ]
    assert document["groups_rerun"] == {"CJS": 6}
    table = audit(runtime, "what-if", "--rules", str(rules))
    assert "G-5" in table.stdout
    assert "3 decision(s) change" in table.stdout
