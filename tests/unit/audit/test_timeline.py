"""`case`: one case or group across every topic, with causation links and no personal data."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from schemas.envelope import event_id_for, make_envelope
from schemas.rejections import FieldProblem, IntakeRejected, SubmissionOrigin
from services.audit.timeline import (
    REDACTED,
    CaseCollector,
    build_timeline,
    decision_chain,
    timeline_json,
)
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


def re_decided_family() -> Log:
    log = Log()
    mother = log.person(returned("A212345678", group_id=FAMILY, group_size=2), 0)
    first = log.first([mother], 10.5, closed_by="window")
    son = log.person(
        returned("A212345679", group_id=FAMILY, group_size=2, born="2015-06-01", role="child"),
        12,
    )
    second = log.again(first, [mother, son], 12.1)
    placed = log.place(second, "CJS", "CJS-S16", 13)
    fixed = log.correct(mother, 20, doses=3)
    third = log.again(second, [fixed, son], 20.1)
    log.withdraw(placed, third, "GROUP_CHANGED", 20.2)
    log.place(third, "CJS", "CJS-S16", 20.3)
    return log


def test_the_chain_of_a_group_s_decisions_and_placements_is_listed_in_order() -> None:
    log = re_decided_family()
    collector = CaseCollector("A212345679")
    for event in log.events:
        collector.feed(event)
    assert collector.chain_cut()  # the group was decided before the son came
    collector = collector.again()
    for event in log.events:
        collector.feed(event)
    assert not collector.chain_cut()
    entries = build_timeline(collector.events)
    steps = decision_chain(entries)
    assert [(s.topic, s.revision, s.live) for s in steps] == [
        ("screened", 1, False),
        ("screened", 2, False),
        ("placed", None, False),
        ("screened", 3, True),
        ("placement-withdrawn", None, False),
        ("placed", None, True),
    ]
    numbers = [s.number for s in steps]
    assert steps[1].follows == numbers[0]
    assert steps[3].follows == numbers[1]
    assert steps[4].follows == numbers[2]  # the placement it ended
    assert steps[0].reasons == "group:GROUP_INCOMPLETE"
    assert steps[0].window.startswith("window 2026-11-27T22:58:00Z+10min closed by window")


def test_summaries_show_revisions_windows_and_withdrawals_without_names() -> None:
    entries = collect(re_decided_family(), FAMILY)
    text = "\n".join(e.summary for e in entries)
    assert "revision 2 superseding" in text
    assert "closed by window at 2026-11-27T23:08:30Z" in text
    assert "WITHDRAWN from CJS/CJS-S16 (GROUP_CHANGED), 2 bed(s) released" in text
    assert "María" not in text


def test_a_re_decision_on_a_correction_links_to_the_current_records() -> None:
    entries = collect(re_decided_family(), FAMILY)
    by_number = {e.number: e for e in entries}
    last = [e for e in entries if e.event.topic == "screened"][-1]
    linked = [by_number[n].event for n in last.caused_by]
    assert sorted(e.data.case_id for e in linked) == ["A212345678", "A212345679"]
    assert any(e.data.corrects for e in linked)
