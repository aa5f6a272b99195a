"""`verify` follows each group's chain of decisions: one live decision, whole, on time."""

from __future__ import annotations

from datetime import timedelta

from services.audit import findings
from services.audit.verify import VerifyReport, verify_events
from services.reference import load_reference
from tests.unit.audit.audit_factories import Log, at
from tests.unit.screening.factories import returned

REFERENCE = load_reference()
FAMILY = "G-2026-000123"


def verify(log: Log, minutes: float = 60) -> VerifyReport:
    """Verify at `minutes`: placements and requests are still pending then."""
    return verify_events(log.events, REFERENCE, as_of=at(minutes), grace=timedelta(hours=2))


def mother(log: Log, minutes: float = 0, size: int = 2, **declared: bool):
    record = returned("A212345678", group_id=FAMILY, group_size=size, **declared)
    return log.person(record, minutes)


def son(log: Log, minutes: float, size: int = 2):
    record = returned(
        "A212345679", group_id=FAMILY, group_size=size, born="2015-06-01", role="child"
    )
    return log.person(record, minutes)


def categories(report: VerifyReport) -> list[str]:
    return [mismatch.category for mismatch in report.mismatches]


def test_a_late_member_re_decides_the_whole_group_and_it_passes() -> None:
    log = Log()
    first = mother(log)
    incomplete = log.first([first], 10.5, closed_by="window")
    assert [r.code for r in incomplete.data.reasons] == ["GROUP_INCOMPLETE"]
    late = son(log, 12)
    again = log.again(incomplete, [first, late], 12.1)
    assert again.data.decision == "accepted"
    report = verify(log)
    assert report.ok, report.mismatches
    assert report.decisions_rechecked == 2
    assert [p.category for p in report.pending] == [findings.ACCEPTED_NOT_PLACED]


def test_a_correction_re_decides_and_it_passes() -> None:
    log = Log()
    original = mother(log, size=1, pregnant=True)
    declined = log.first([original], 0.1)
    assert declined.data.decision == "declined"
    fixed = log.correct(
        original, 30, declared=original.data.declared.model_copy(update={"pregnant": False})
    )
    log.again(declined, [fixed], 30.1)
    report = verify(log)
    assert report.ok, report.mismatches
    assert report.decisions_rechecked == 2


def test_a_correction_within_the_window_replaces_the_record_decided_on() -> None:
    log = Log()
    original = mother(log, doses=0)
    fixed = log.correct(
        original,
        1,
        covid_vaccination=original.data.covid_vaccination.model_copy(update={"doses": 3}),
    )
    log.first([fixed, son(log, 3)], 3)
    assert verify(log).ok


def test_a_family_arriving_minutes_apart_is_decided_whole_and_passes() -> None:
    log = Log()
    members = [mother(log, 0, size=3), son(log, 4, size=3)]
    daughter = returned(
        "A212345680", group_id=FAMILY, group_size=3, born="2017-02-01", role="child"
    )
    members.append(log.person(daughter, 8))
    screened = log.first(members, 8)
    assert screened.data.decision == "accepted"
    assert verify(log).ok


def test_two_live_decisions_are_a_split_family() -> None:
    log = Log()
    first = mother(log)
    log.first([first], 10.5, closed_by="window")
    late = son(log, 12)
    log.first([first, late], 12.1)  # decided again, superseding nothing
    report = verify(log)
    assert categories(report) == [findings.SPLIT_FAMILY]
    assert report.mismatches[0].group_id == FAMILY
    assert report.mismatches[0].where == "screened[0]@3"


def test_a_legacy_late_member_decided_alone_is_a_split_family() -> None:
    log = Log()
    first = mother(log)
    screened = log.screen([first], 11)
    late = son(log, 12, size=1)
    log.screen([late], 13, decided_after=screened.event_id)
    report = verify(log)
    assert categories(report) == [findings.SPLIT_FAMILY]
    assert "a late member decided alone" in report.mismatches[0].detail


def test_superseding_no_decision_of_the_group_is_a_split_family() -> None:
    log = Log()
    first = mother(log, size=1)
    screened = log.first([first], 0.1)
    log.again(screened, [first], 5, supersedes="0" * 8 + "-0000-5000-8000-" + "0" * 12)
    report = verify(log)
    assert categories(report) == [findings.SPLIT_FAMILY]
    assert "no earlier decision of the group" in report.mismatches[0].detail


def test_a_live_decision_missing_an_arrived_member_is_reported_after_the_grace() -> None:
    log = Log()
    first = mother(log)
    log.first([first], 10.5, closed_by="window")
    son(log, 12)  # and nobody decides the group again
    report = verify(log, minutes=60)
    assert report.ok
    assert findings.LIVE_DECISION_MISSES_MEMBER in [p.category for p in report.pending]
    report = verify(log, minutes=200)
    assert categories(report) == [findings.LIVE_DECISION_MISSES_MEMBER]
    assert report.mismatches[0].group_id == FAMILY
    assert report.mismatches[0].detail.startswith("A212345679 arrived at")


def test_group_incomplete_before_the_window_was_due_is_reported() -> None:
    log = Log()
    first = mother(log)
    log.first([first], 3, closed_by="window")  # due at 10
    report = verify(log)
    assert categories(report) == [findings.INCOMPLETE_BEFORE_DUE]
    assert report.mismatches[0].group_id == FAMILY


def test_group_incomplete_from_a_window_closed_complete_is_reported() -> None:
    log = Log()
    log.first([mother(log)], 11, closed_by="complete")
    assert categories(verify(log)) == [findings.INCOMPLETE_BEFORE_DUE]


def test_group_incomplete_with_a_revision_but_no_window_is_reported() -> None:
    log = Log()
    log.screen([mother(log)], 11, revision=1)
    assert categories(verify(log)) == [findings.INCOMPLETE_BEFORE_DUE]


def test_a_member_counted_late_who_arrived_within_the_window_is_reported() -> None:
    log = Log()
    first = mother(log)
    within = son(log, 5)  # due at 10: the decision should have waited for him
    incomplete = log.first([first], 10.5, closed_by="window")
    log.again(incomplete, [first, within], 10.6)
    report = verify(log)
    assert categories(report) == [findings.COUNTED_LATE]
    assert report.mismatches[0].group_id == FAMILY
    assert report.mismatches[0].detail.startswith("A212345679 arrived at")


def test_a_member_after_a_complete_group_was_decided_is_late_even_before_due() -> None:
    log = Log()
    members = [mother(log), son(log, 1)]
    complete = log.first(members, 1)
    partner = returned("A212345680", group_id=FAMILY, group_size=3, role="partner")
    log.again(complete, [*members, log.person(partner, 4)], 4.1)
    assert verify(log).ok


def test_a_re_decision_must_keep_the_first_window_and_count_revisions() -> None:
    log = Log()
    first = mother(log, size=1)
    screened = log.first([first], 0.1)
    fixed = log.correct(first, 20, doses=3)
    log.again(screened, [fixed], 20.1, revision=5, window=None)
    assert sorted(categories(verify(log))) == sorted(
        [findings.REVISION_OUT_OF_ORDER, findings.WINDOW_DIFFERS]
    )


def test_a_live_decision_on_a_replaced_record_is_reported() -> None:
    log = Log()
    original = mother(log, size=1)
    log.correct(original, 0.05, doses=3)
    log.first([original], 0.1)  # decided on the record the correction replaced
    report = verify_events(log.events, REFERENCE, as_of=at(60))
    assert findings.LIVE_DECISION_NOT_CURRENT in categories(report)


def test_a_correction_after_the_live_decision_must_be_decided() -> None:
    log = Log()
    original = mother(log, size=1, pregnant=True)
    log.first([original], 0.1)
    log.correct(original, 5, doses=3)
    report = verify(log, minutes=300)
    assert categories(report) == [findings.LIVE_DECISION_NOT_CURRENT]
