"""`verify` over whole histories: clean ones pass, and completeness gaps are reported."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.audit import findings
from services.audit.events import Logged, ReplayStats
from services.audit.synthetic import HistoryOptions, synthetic_history
from services.audit.verify import verify_events
from services.reference import load_reference
from tests.unit.audit.audit_factories import Log, at
from tests.unit.screening.factories import returned

REFERENCE = load_reference()


def history(groups: int, seed: int) -> list[Logged]:
    options = HistoryOptions(groups=groups, seed=seed)
    events = synthetic_history(REFERENCE, options)
    return [Logged.of(topic, envelope, 0, n) for n, (topic, envelope) in enumerate(events)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_generated_history_with_surges_reroutes_and_departures_passes(seed: int) -> None:
    events = history(300, seed)
    report = verify_events(events, REFERENCE, as_of=at(60 * 24 * 365))
    assert report.ok, report.mismatches[:5]
    groups = {e.data.group_id for e in events if e.topic == "screened"}
    assert len(groups) == 300
    assert report.decisions_rechecked == report.events["screened"] > 300  # re-decisions
    assert report.placements_checked == report.events["placed"] > 0
    assert report.events.get("placement-deferred", 0) > 0


def test_generated_histories_have_late_members_corrections_and_spread_arrivals() -> None:
    events = history(300, 2)
    screened = [e.data for e in events if e.topic == "screened"]
    again = [s for s in screened if s.supersedes is not None]
    assert again
    assert all(s.revision and s.revision > 1 for s in again)
    assert any(s.window and s.window.closed_by == "window" for s in screened)
    corrections = [e for e in events if e.topic == "person-returned" and e.data.corrects]
    assert corrections
    firsts = {}
    for event in events:
        if event.topic == "person-returned":
            firsts.setdefault(event.data.group_id, []).append(event.occurred_at)
    spread = [max(times) - min(times) for times in firsts.values()]
    assert any(timedelta(minutes=2) < gap < timedelta(minutes=10) for gap in spread)


def test_repeated_events_are_recognised_and_not_counted_twice() -> None:
    events = history(60, 4)
    stats = ReplayStats()
    report = verify_events(events + events[:40], REFERENCE, as_of=at(10**6), stats=stats)
    assert report.ok
    assert report.duplicates == 40
    assert sum(report.events.values()) == len(events)


def test_conflicting_repeats_and_undecodable_records_are_mismatches() -> None:
    log = Log()
    person = log.person(returned(), 0)
    log.add("person-returned", person.model_copy(update={"data": returned(group_size=2)}))
    stats = ReplayStats(undecodable=[("screened[3]@7", "1 problem(s): decision: bad")])
    report = verify_events(log.events, REFERENCE, as_of=at(5), stats=stats)
    assert sorted(m.category for m in report.mismatches) == [
        findings.CONFLICTING_DUPLICATE,
        findings.UNDECODABLE_EVENT,
    ]


def accepted_and_placed(log: Log, doses: int = 1):
    person = log.person(returned(doses=doses), 0)
    screened = log.screen([person], 1)
    return screened, log.place(screened, "CJS", "CJS-S16", 2)


def test_a_placed_group_without_a_legal_aid_request_is_reported_after_the_grace() -> None:
    log = Log()
    accepted_and_placed(log)
    report = verify_events(log.events, REFERENCE, as_of=at(10), grace=timedelta(minutes=15))
    assert report.ok
    assert [p.category for p in report.pending] == [findings.MISSING_LEGAL_AID]
    report = verify_events(log.events, REFERENCE, as_of=at(30), grace=timedelta(minutes=15))
    assert [m.category for m in report.mismatches] == [findings.MISSING_LEGAL_AID]
    assert report.mismatches[0].group_id == "G-2026-000123"


def test_a_member_needing_vaccination_needs_a_care_request() -> None:
    log = Log()
    _, placed = accepted_and_placed(log, doses=0)
    log.legal_aid(placed, 3)
    report = verify_events(log.events, REFERENCE, as_of=at(30), grace=timedelta(minutes=15))
    assert [m.category for m in report.mismatches] == [findings.MISSING_CARE]
    log.care(placed, "A212345678", 4)
    assert verify_events(log.events, REFERENCE, as_of=at(30)).ok


def test_an_accepted_group_neither_placed_nor_waiting_is_reported() -> None:
    log = Log()
    log.screen([log.person(returned(), 0)], 1)
    report = verify_events(log.events, REFERENCE, as_of=at(30), grace=timedelta(minutes=15))
    assert [m.category for m in report.mismatches] == [findings.ACCEPTED_NOT_PLACED]


def test_a_waiting_group_is_complete() -> None:
    log = Log()
    log.status("CJS", "normal", 0, 0)
    screened = log.screen([log.person(returned(), 0)], 1)
    log.defer(screened, "CJS", "DAILY_CAP_REACHED", 2)
    assert verify_events(log.events, REFERENCE, as_of=at(3000)).ok


def test_a_group_referred_for_fear_needs_an_interview_request() -> None:
    log = Log()
    screened = log.screen([log.person(returned(fear_of_return_to_mexico=True), 0)], 1)
    report = verify_events(log.events, REFERENCE, as_of=at(30), grace=timedelta(minutes=15))
    assert [m.detail for m in report.mismatches] == [
        "referred for fear of return, no non_refoulement_interview"
    ]
    log.legal_aid(screened, 2, purpose="non_refoulement_interview")
    assert verify_events(log.events, REFERENCE, as_of=at(30)).ok


def test_a_legacy_member_accepted_alone_after_the_group_was_decided_splits_it() -> None:
    log = Log()
    first = log.person(returned("A212345678", group_size=2), 0)
    screened = log.screen([first], 11)
    late = log.person(returned("A212345679", role="partner"), 12)  # says it came alone
    log.screen([late], 13, decided_after=screened.event_id)
    report = verify_events(log.events, REFERENCE, as_of=at(30))
    assert [m.category for m in report.mismatches] == [findings.SPLIT_FAMILY]
    assert report.mismatches[0].group_id == "G-2026-000123"
    assert report.late_members_accepted == 1


def test_a_re_decided_group_owes_what_its_live_decision_owes() -> None:
    log = Log()
    person = log.person(returned(fear_of_return_to_mexico=True), 0)
    referred = log.first([person], 0.1)
    interview = log.legal_aid(referred, 0.2, purpose="non_refoulement_interview")
    fixed = log.correct(
        person,
        5,
        declared=person.data.declared.model_copy(update={"fear_of_return_to_mexico": False}),
    )
    accepted = log.again(referred, [fixed], 5.1)
    assert accepted.data.decision == "accepted"
    report = verify_events(log.events, REFERENCE, as_of=at(60), grace=timedelta(minutes=15))
    assert [m.category for m in report.mismatches] == [findings.ACCEPTED_NOT_PLACED]
    placed = log.place(accepted, "CJS", "CJS-S16", 6)
    log.legal_aid(placed, 7)
    log.care(placed, "A212345678", 7.5)
    assert interview.event_id != placed.event_id
    report = verify_events(log.events, REFERENCE, as_of=at(60))
    assert report.ok, report.mismatches


def test_a_withdrawn_placement_owes_a_new_one() -> None:
    log = Log()
    screened, placed = accepted_and_placed(log, doses=3)
    log.legal_aid(placed, 3)
    log.withdraw(placed, screened, "GROUP_CHANGED", 4)
    report = verify_events(log.events, REFERENCE, as_of=at(60), grace=timedelta(minutes=15))
    assert findings.ACCEPTED_NOT_PLACED in [m.category for m in report.mismatches]
