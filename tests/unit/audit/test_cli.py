"""The `returns audit` commands end to end, on a fake consumer holding a generated history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from services.audit import cli, reader
from services.audit.cli import audit_app
from services.audit.events import Logged
from services.audit.synthetic import HistoryOptions, synthetic_history
from services.reference import load_reference
from services.screening.ruleset import RULE_SETS_DIR
from tests.unit.audit.audit_factories import Log
from tests.unit.audit.test_reader import PREFIX, FakeConsumer, as_records

REFERENCE = load_reference()
runner = CliRunner()


def generated(groups: int = 80) -> Log:
    log = Log()
    for n, (topic, envelope) in enumerate(
        synthetic_history(REFERENCE, HistoryOptions(groups=groups))
    ):
        log.events.append(Logged.of(topic, envelope, 0, n))
    return log


class AccessLogInMemory:
    """Stands in for the `access-logged` topic: every read `audit case` records."""

    reads: ClassVar[list[Any]] = []

    def __init__(self, bootstrap: str, prefix: str) -> None:
        pass

    def record(self, envelope: Any) -> None:
        self.reads.append(envelope)


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Log:
    log = generated()
    logs = as_records(log, {"person-returned": 2})
    monkeypatch.setattr(reader, "KafkaConsumer", lambda **config: FakeConsumer(logs, **config))
    monkeypatch.setattr(cli, "KafkaAccessLog", AccessLogInMemory)
    AccessLogInMemory.reads.clear()
    return log


def audit(*args: str) -> Any:
    # The fake consumer exists in this process only: verify's second process (ADR 38),
    # started by spawn once other threads are alive, would meet a real one. The two
    # processes' report is compared with one process's in test_verify_parallel.py.
    workers = ("--workers", "1") if args[:1] == ("verify",) else ()
    result = runner.invoke(
        audit_app, [*args, *workers, "--bootstrap", "fake:9092", "--prefix", PREFIX]
    )
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_verify_passes_on_a_clean_history(recorded: Log) -> None:
    result = audit("verify", "--as-of", "2027-06-01T00:00:00Z")
    assert result.exit_code == 0, result.output
    assert "Every decision is borne out" in result.output


def test_verify_exits_1_and_lists_each_mismatch(monkeypatch: pytest.MonkeyPatch) -> None:
    log = generated()
    screened = next(e for e in log.events if e.topic == "screened")
    log.events.remove(screened)  # its members now have no decision
    logs = as_records(log, {})
    monkeypatch.setattr(reader, "KafkaConsumer", lambda **config: FakeConsumer(logs, **config))
    result = audit("verify", "--as-of", "2027-06-01T00:00:00Z", "--json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    mismatches = document["mismatches"]
    assert [m["category"] for m in mismatches] == ["person without decision"] * len(
        screened.data.members
    )
    assert mismatches[0]["group_id"] == screened.data.group_id


def test_case_shows_the_chain_without_names(recorded: Log) -> None:
    placed = next(e for e in recorded.events if e.topic == "placed")
    result = audit("case", placed.data.group_id)
    assert result.exit_code == 0
    assert "PLACED at" in result.output
    assert "María" not in result.output
    [read] = [r.data for r in AccessLogInMemory.reads]
    assert (read.subject_id, read.reader, read.view) == (
        placed.data.group_id,
        "audit",
        "returns audit case",
    )
    assert placed.data.group_id in read.group_ids
    assert read.personal_data_shown is False
    as_json = json.loads(audit("case", placed.data.group_id, "--json").stdout)
    assert [entry["topic"] for entry in as_json][:1] == ["person-returned"]
    assert any(entry["topic"] == "placed" for entry in as_json)


def test_case_of_a_late_member_shows_its_group_s_whole_chain(recorded: Log) -> None:
    again = next(e for e in recorded.events if e.topic == "screened" and e.data.supersedes)
    first = next(e for e in recorded.events if e.event_id == again.data.supersedes)
    late = sorted({m.case_id for m in again.data.members} - {m.case_id for m in first.data.members})
    wanted = late[0] if late else again.data.members[0].case_id
    result = audit("case", wanted)
    assert result.exit_code == 0, result.output
    assert "Decisions and placements" in result.output
    assert first.event_id[:8] in result.output  # the decision before the case arrived
    assert "superseding" in result.output
    assert "live" in result.output
    assert "María" not in result.output


def test_case_of_an_unknown_id_exits_1(recorded: Log) -> None:
    assert audit("case", "A999999999").exit_code == 1


def test_report_prints_markdown_and_writes_every_format(recorded: Log, tmp_path: Path) -> None:
    result = audit("report", "--from", "2026-11-01", "--to", "2026-12-31")
    assert result.exit_code == 0
    assert result.stdout.startswith("# Returns received, 2026-11-01 to 2026-12-31")
    written = audit(
        "report",
        "--from",
        "2026-11-01",
        "--to",
        "2026-12-31",
        "--format",
        "all",
        "--out",
        str(tmp_path),
    )
    assert written.exit_code == 0
    assert {p.name for p in tmp_path.glob("report.*")} == {"report.md", "report.csv", "report.json"}


def test_what_if_lists_the_changed_groups_as_json(recorded: Log, tmp_path: Path) -> None:
    rules = tmp_path / "older-at-65.toml"
    text = (RULE_SETS_DIR / "2021-12.toml").read_text().replace('name = "2021-12"', 'name = "x"')
    rules.write_text(text.replace("older_person_age = 60", "older_person_age = 65"))
    result = audit("what-if", "--rules", str(rules), "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["rule_set"] == "x"
    decisions = sum(1 for e in recorded.events if e.topic == "screened")  # re-decisions too
    assert sum(document["groups_rerun"].values()) == decisions > 80


def test_bad_arguments_are_refused_before_any_replay() -> None:
    assert audit("report", "--from", "27/11/2026", "--to", "2026-12-01").exit_code == 2
    assert (
        audit("report", "--from", "2026-11-01", "--to", "2026-12-01", "--format", "all").exit_code
        == 2
    )
    assert audit("what-if", "--rules", "/nowhere/rules.toml").exit_code == 2
