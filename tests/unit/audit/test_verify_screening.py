"""`verify` re-runs each screening decision with the rule set it names."""

from __future__ import annotations

from datetime import timedelta

from services.audit import findings
from services.audit.verify import verify_events
from services.reference import load_reference
from tests.unit.audit.audit_factories import Log, at
from tests.unit.screening.factories import returned

REFERENCE = load_reference()
LATER = at(60 * 24 * 30)


def verify(log: Log, **kwargs):
    return verify_events(log.events, REFERENCE, as_of=LATER, **kwargs)


def declined_grandmother(log: Log):
    grandmother = log.person(returned("A212345678", born="1960-01-15"), 0)
    return log.screen([grandmother], 1)


def test_a_decision_the_rules_bear_out_passes() -> None:
    log = Log()
    screened = declined_grandmother(log)
    assert screened.data.decision == "declined"
    report = verify(log)
    assert report.ok, report.mismatches
    assert report.decisions_rechecked == 1


def test_a_wrong_decision_is_reported_with_what_the_rules_give() -> None:
    log = Log()
    grandmother = log.person(returned("A212345678", born="1960-01-15"), 0)
    log.screen([grandmother], 1, decision="accepted", reasons=[])
    report = verify(log, grace=timedelta(days=365))
    categories = [m.category for m in report.mismatches]
    assert categories == [findings.DECISION_DIFFERS, findings.REASONS_DIFFER]
    assert report.mismatches[0].detail == "recorded accepted, rule set 2021-12 gives declined"
    assert report.mismatches[0].where == "screened[0]@1"
    assert report.mismatches[0].group_id == "G-2026-000123"


def test_wrong_flags_and_needs_are_reported_per_member() -> None:
    log = Log()
    person = log.person(returned("A212345678", doses=0, languages=("mam", "spa")), 0)
    screened = log.screen([person], 1)
    member = screened.data.members[0].model_copy(
        update={"flags": ["LGBTI"], "needs": ["legal_aid"]}
    )
    log.events.pop()
    log.screen([person], 1, members=[member])
    report = verify(log, grace=timedelta(days=365))
    assert [m.category for m in report.mismatches] == [
        findings.MEMBER_FLAGS_DIFFER,
        findings.MEMBER_NEEDS_DIFFER,
    ]
    assert "A212345678: recorded ['LGBTI'], rules give []" in report.mismatches[0].detail


def test_an_unknown_rule_set_cannot_be_re_run() -> None:
    log = Log()
    person = log.person(returned(), 0)
    log.screen([person], 1, rule_set="1999-01")
    report = verify(log, grace=timedelta(days=365))
    assert [m.category for m in report.mismatches] == [findings.UNKNOWN_RULE_SET]


def test_a_decision_without_its_person_returned_events_is_reported() -> None:
    log = Log()
    person = log.person(returned(), 0)
    log.events.clear()
    log.screen([person], 1)
    report = verify(log, grace=timedelta(days=365))
    assert [m.category for m in report.mismatches] == [findings.SCREENED_WITHOUT_PERSON]


def test_a_causation_that_is_not_the_members_digest_is_reported() -> None:
    log = Log()
    person = log.person(returned(), 0)
    screened = log.screen([person], 1)
    log.events[-1] = log.events[-1].__class__.of(
        "screened", screened.model_copy(update={"causation_id": "sha256:00"}), 0, 1
    )
    report = verify(log, grace=timedelta(days=365))
    assert [m.category for m in report.mismatches] == [findings.CAUSATION_DIFFERS]


def test_a_second_decision_for_a_group_is_reported_and_re_run() -> None:
    log = Log()
    grandmother = log.person(returned("A212345678", born="1960-01-15"), 0)
    log.screen([grandmother], 1)
    log.screen([grandmother], 50, decision="accepted", reasons=[])
    report = verify(log, grace=timedelta(days=365))
    assert sorted(m.category for m in report.mismatches) == sorted(
        [findings.DECISION_DIFFERS, findings.REASONS_DIFFER, findings.GROUP_DECIDED_TWICE]
    )


def test_an_incomplete_group_decided_after_its_window_is_borne_out() -> None:
    log = Log()
    mother = log.person(returned("A212345678", group_size=3), 0)
    screened = log.screen([mother], 11)
    assert screened.data.decision == "referred"
    assert verify(log).ok


def test_a_person_never_decided_is_reported_once_the_grace_period_has_passed() -> None:
    log = Log()
    log.person(returned(), 0)
    report = verify_events(log.events, REFERENCE, as_of=at(5), grace=timedelta(minutes=15))
    assert report.ok
    assert [p.category for p in report.pending] == [findings.PERSON_WITHOUT_DECISION]
    report = verify_events(log.events, REFERENCE, as_of=at(16), grace=timedelta(minutes=15))
    assert [m.category for m in report.mismatches] == [findings.PERSON_WITHOUT_DECISION]
