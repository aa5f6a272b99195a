"""Erasable personal data on the real broker: sealed on the log, shredded by `returns erase`.

A family is submitted to the real intake and screening workers. The decision is the one
the rules give on the plain records; the bytes on `person-returned` hold no name, birth
date or nationality. After `returns erase` of one member, the audit can no longer read
that person's data (`audit case` shows it erased) and `audit verify` still passes,
reporting the decision as taken over erased data rather than as a mismatch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from schemas.codec import decode_data
from schemas.person import PersonReturned
from services.audit.cli import audit_app
from services.cli import app as returns_app
from services.keys.keyring import ensure_kek_file
from services.runtime.context import Runtime
from services.screening.rules import decide_group
from services.screening.ruleset import load_rule_set
from services.upstream import KafkaSubmitter
from tests.conftest import StartService
from tests.support.commands import run_command
from tests.support.kafka import read_topic
from tests.support.sealed import hides, in_the_clear
from tests.unit.contracts.samples import submission

GROUP = "G-ERASE-0001"
MOTHER, FATHER, GIRL = "A212345671", "A212345672", "A212345673"


def family() -> list[dict[str, Any]]:
    """A Honduran family at El Paso: the mother is pregnant, so the group is declined."""

    def member(case_id: str, n: int, **changes: Any) -> dict[str, Any]:
        return submission(
            submission_id=f"cbp-elp-2026-11-27-erase-{n}",
            case_id=case_id,
            group_id=GROUP,
            group_size=3,
            **changes,
        )

    return [
        member(MOTHER, 1, declared__pregnant=True),
        member(
            FATHER,
            2,
            person__given_names="Wilmer Antonio",
            person__family_names="Castellanos Ruiz",
            person__sex="M",
            person__date_of_birth="1988-07-19",
            person__role_in_group="partner",
        ),
        member(
            GIRL,
            3,
            person__given_names="Daniela",
            person__date_of_birth="2019-05-04",
            person__role_in_group="child",
        ),
    ]


@pytest.fixture
def kek(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own KEK file, for the services it starts and the commands it runs."""
    path = ensure_kek_file(tmp_path / "kek.toml")
    monkeypatch.setenv("RETURNS_KEK_FILE", str(path))
    return path


def test_an_erased_person_stays_decided_but_can_no_longer_be_read(
    runtime: Runtime, start_service: StartService, kek: Path
) -> None:
    intake = start_service("intake", wait=False)
    screening = start_service("screening", wait=False)
    intake.wait_ready()
    screening.wait_ready()
    records = family()
    with KafkaSubmitter(runtime.router) as submit:
        for record in records:
            submit(record)
    settings = runtime.settings
    [decided] = read_topic(settings, "screened", until=lambda r: len(r) >= 1, timeout=60)

    # Screened as before: the rules over the plain records give the very same decision.
    plain = [decode_data(json.dumps(r).encode(), PersonReturned) for r in records]
    expected = decide_group(plain, load_rule_set("2021-12"))
    decision = decided.event().data
    assert (decision.decision, decision.reasons, decision.members) == (
        expected.decision,
        expected.reasons,
        expected.members,
    )
    assert decision.decision == "declined"

    # On the log: the records, their flags' inputs sealed; no name, birth date, nationality.
    returned = read_topic(settings, "person-returned", until=lambda r: len(r) >= 3, timeout=30)
    clear = b"".join(in_the_clear(record.value) for record in returned)
    assert {json.loads(record.value)["data"]["case_id"] for record in returned} == {
        MOTHER,
        FATHER,
        GIRL,
    }
    for personal in (
        "María José",
        "López Pérez",
        "Wilmer Antonio",
        "Castellanos",
        "Daniela",
        "1994-03-02",
        "1988-07-19",
        "2019-05-04",
        "HND",
        "pregnant",
    ):
        assert personal.encode() not in clear, personal
    assert all(hides(record.value, b'"given_names"') for record in returned)
    keys = read_topic(settings, "person-keys", until=lambda r: len(r) >= 3, timeout=10)
    assert sorted(k.key for k in keys if k.key) == [c.encode() for c in (MOTHER, FATHER, GIRL)]

    # Before erasure the audit reads the mother's record (with --show-personal-data).
    before = json.loads(
        run_command(audit_app, runtime, "case", MOTHER, "--json", "--show-personal-data").stdout
    )
    assert "María José" in before[0]["summary"]

    erased = run_command(returns_app, runtime, "erase", MOTHER)
    assert erased.exit_code == 0, erased.output
    assert "erased" in erased.output

    after = run_command(audit_app, runtime, "case", MOTHER, "--json", "--show-personal-data")
    assert after.exit_code == 0, after.output
    timeline = json.loads(after.stdout)
    assert timeline[0]["topic"] == "person-returned"
    assert "ERASED" in timeline[0]["summary"]
    assert "María" not in after.stdout
    assert "1994-03-02" not in after.stdout
    assert any(e["topic"] == "screened" and "PREGNANT" in e["summary"] for e in timeline)
    father = run_command(
        audit_app, runtime, "case", FATHER, "--json", "--show-personal-data"
    ).stdout
    assert "Wilmer Antonio" in father  # the others stay readable

    # Each `audit case` was recorded: who, which case, the group shown; no personal data.
    logged = read_topic(settings, "access-logged", until=lambda r: len(r) >= 3, timeout=10)
    reads = [record.event().data for record in logged]
    assert {(d.subject, d.subject_id) for d in reads} == {("case", MOTHER), ("case", FATHER)}
    assert all(d.group_ids == [GROUP] and d.personal_data_shown for d in reads)
    assert b"Mar" not in b"".join(record.value for record in logged)

    verified = run_command(audit_app, runtime, "verify", "--json")
    assert verified.exit_code == 0, verified.stdout[-3000:]
    report = json.loads(verified.stdout)
    assert report["mismatches"] == []
    assert report["erased"] == [f"{GROUP}: {MOTHER}"]
    assert report["decisions_rechecked"] == 1


def test_erase_refuses_what_is_not_a_case_id(runtime: Runtime, kek: Path) -> None:
    result = run_command(returns_app, runtime, "erase", "María José")
    assert result.exit_code == 2
    assert "A followed by 8 or 9 digits" in result.output
