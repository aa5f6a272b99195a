"""`case`: one case or group across every topic, with causation links and no personal data."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from schemas.envelope import event_id_for, make_envelope
from schemas.rejections import FieldProblem, IntakeRejected, SubmissionOrigin
from services.audit.timeline import REDACTED, CaseCollector, build_timeline, timeline_json
from tests.unit.audit.audit_factories import Log
from tests.unit.screening.factories import returned

FAMILY = "G-2026-000123"


def family_history() -> Log:
    log = Log()
    mother = log.person(returned("A212345678", group_id=FAMILY, group_size=2, doses=0), 0)
    son = log.person(
        returned("A212345679", group_id=FAMILY, group_size=2, born="2015-06-01", role="child"),
        0.5,
    )
    stranger = log.person(returned("A300000001", group_id="G-OTHER"), 0.7)
    log.screen([stranger], 1.5)
    screened = log.screen([mother, son], 1)
    placed = log.place(screened, "CJS", "CJS-S16", 2)
    log.legal_aid(placed, 3)
    log.care(placed, "A212345678", 3.5)
    log.departed(placed, 600)
    log.status("CJS", "elevated", 30, 4)
    return log


def collect(log: Log, wanted: str) -> list:
    collector = CaseCollector(wanted)
    for event in log.events:
        collector.feed(event)
    return build_timeline(collector.events)


def test_a_case_id_gives_its_whole_chain_in_log_order() -> None:
    entries = collect(family_history(), "A212345679")
    assert [e.event.topic for e in entries] == [
        "person-returned",
        "screened",
        "placed",
        "legal-aid-requested",
        "care-requested",
        "shelter-departed",
    ]


def test_a_group_id_gives_every_member_and_decision() -> None:
    entries = collect(family_history(), FAMILY)
    topics = [e.event.topic for e in entries]
    assert topics[:3] == ["person-returned", "person-returned", "screened"]
    assert "location-status-changed" not in topics


def test_causation_links_point_at_the_entries_that_caused_each_event() -> None:
    entries = collect(family_history(), FAMILY)
    links = {e.event.topic: e.caused_by for e in entries}
    assert links["person-returned"] == ()
    assert links["screened"] == (1, 2)  # the digest of both members
    assert links["placed"] == (3,)
    assert links["legal-aid-requested"] == (4,)
    assert links["care-requested"] == (4,)


def test_summaries_show_decisions_and_flags_but_no_names_by_default() -> None:
    entries = collect(family_history(), FAMILY)
    text = "\n".join(e.summary for e in entries)
    assert "ACCEPTED under 2021-12" in text
    assert "PLACED at CJS/CJS-S16" in text
    assert "María" not in text
    assert "1994" not in text
    personal = build_timeline([entries[0].event], show_personal_data=True)
    assert "María José López Pérez, born 1994-03-02" in personal[0].summary


def test_the_json_redacts_personal_data_unless_asked() -> None:
    entries = collect(family_history(), "A212345678")
    document = timeline_json(entries)
    person = document[0]["event"]["data"]["person"]
    assert person["given_names"] == REDACTED
    assert person["date_of_birth"] == REDACTED
    assert person["role_in_group"] == "head"
    assert document[0]["event"]["data"]["declared"]["pregnant"] == REDACTED
    shown = timeline_json(entries, show_personal_data=True)
    assert shown[0]["event"]["data"]["person"]["given_names"] == "María José"


def test_an_intake_rejection_holding_the_case_id_is_part_of_its_timeline() -> None:
    log = family_history()
    original = b'{"case_id": "A212345678", "crossing": "XXX"}'
    rejected = IntakeRejected(
        submission_key=None,
        source="cbp-elp",
        submission_id="cbp-1",
        original_base64=base64.b64encode(original).decode(),
        original_size=len(original),
        truncated=False,
        reasons=[FieldProblem(field="crossing", code="unknown_crossing", message="not designated")],
        origin=SubmissionOrigin(channel="http"),
        received_at=datetime(2026, 11, 27, 22, 0, tzinfo=UTC),
    )
    envelope = make_envelope(
        rejected,
        event_id=event_id_for("intake-rejected", "x"),
        producer="intake/0.1.0",
        correlation_id="cbp-1",
        causation_id=None,
        crossing=None,
        occurred_at=datetime(2026, 11, 27, 22, 0, tzinfo=UTC),
    )
    log.add("intake-rejected", envelope)
    entries = collect(log, "A212345678")
    assert entries[0].event.topic == "intake-rejected"
    assert entries[0].summary == "REJECTED at intake: crossing:unknown_crossing"
