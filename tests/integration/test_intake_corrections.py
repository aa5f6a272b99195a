"""Intake on the real broker: corrections and conflicting resubmissions over HTTP."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from services.intake.auth import hash_token, new_token
from services.intake.handling import person_returned_id
from services.runtime.context import Runtime
from tests.conftest import StartService
from tests.integration.stack import dump
from tests.support.kafka import read_topic
from tests.unit.contracts.samples import submission

GROUP = "G-CORR-0001"
ORIGINAL = "cbp-elp-2026-11-27-corr-1"
CORRECTION = "cbp-elp-2026-11-27-corr-1-c1"


def codes(answer: httpx.Response) -> list[tuple[str | None, str]]:
    assert answer.status_code == 422, answer.text
    body: dict[str, Any] = answer.json()
    assert body["error"] == "invalid_submission"
    return [(e["field"], e["code"]) for e in body["errors"]]


def test_http_answers_corrections_and_conflicts(
    runtime: Runtime, start_service: StartService, tmp_path: Path
) -> None:
    token = new_token()
    tokens = tmp_path / "tokens.toml"
    tokens.write_text(f'[sources]\ncbp-elp = "{hash_token(token)}"\n')
    intake = start_service("intake", RETURNS_INTAKE_TOKENS_FILE=str(tokens))

    def post(record: dict[str, Any]) -> httpx.Response:
        return httpx.post(
            f"{intake.url}/v1/returns",
            content=dump(record),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=10,
        )

    original = submission(submission_id=ORIGINAL, group_id=GROUP, case_id="A212345601")
    first = post(original)
    assert first.status_code == 202
    read_topic(runtime.settings, "person-returned", until=lambda rs: len(rs) >= 1, timeout=45)
    # The agent records the submission in its table just after publishing it, and counts
    # the outcome after that: once counted, the table knows it.
    accepted_counted = (
        'returns_decisions_total{crossing="ELP",kind="accepted",service="intake"} 1.0'
    )
    deadline = time.monotonic() + 30
    while accepted_counted not in httpx.get(f"{intake.url}/metrics", timeout=5).text:
        assert time.monotonic() < deadline, "intake never counted the accepted submission"
        time.sleep(0.1)

    again = post(original)
    assert (again.status_code, again.json()["event_id"]) == (202, first.json()["event_id"])
    conflict = post(original | {"group_size": 4})
    assert codes(conflict) == [("submission_id", "conflicting_resubmission")]
    assert "send a correction" in conflict.json()["errors"][0]["message"]

    correction = original | {"submission_id": CORRECTION, "corrects": ORIGINAL}
    assert codes(post(correction | {"group_id": "G-CORR-0002"})) == [
        ("group_id", "correction_changes_identity")
    ]
    assert codes(post(original | {"corrects": ORIGINAL})) == [("corrects", "correction_of_itself")]
    accepted = post(correction | {"group_size": 4})
    assert accepted.status_code == 202
    assert accepted.json()["event_id"] == person_returned_id("cbp-elp", CORRECTION)

    returned = read_topic(
        runtime.settings, "person-returned", until=lambda rs: len(rs) >= 2, timeout=45, settle=2.0
    )
    assert [(r.event().data.submission_id, r.event().data.corrects) for r in returned] == [
        (ORIGINAL, None),
        (CORRECTION, ORIGINAL),
    ]
    rejected = read_topic(
        runtime.settings, "intake-rejected", until=lambda rs: len(rs) >= 3, timeout=45, settle=1.0
    )
    assert sorted(r.code for record in rejected for r in record.event().data.reasons) == [
        "conflicting_resubmission",
        "correction_changes_identity",
        "correction_of_itself",
    ]
