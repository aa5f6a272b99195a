"""A group's chain of decisions as screening writes it: revisions, supersession, ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.envelope import digest_of
from services.screening.grouping import chained_decision, gather_window
from services.screening.ruleset import load_rule_set
from tests.unit.screening.factories import published, returned

RULES = load_rule_set("2021-12")
NOON = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
WINDOW = gather_window(NOON, timedelta(minutes=10), NOON + timedelta(minutes=10), complete=False)


def test_a_first_decision_supersedes_nothing_and_is_named_by_its_records() -> None:
    mother = published(returned("A212340001", group_id="G-1", group_size=2), NOON)
    envelope, taken = chained_decision(
        [mother], RULES, WINDOW, None, producer="screening/test", crossing="ELP"
    )
    assert (envelope.data.revision, envelope.data.supersedes) == (1, None)
    assert envelope.data.window == WINDOW
    assert envelope.causation_id == digest_of([mother.event_id])
    assert (taken.event_id, taken.member_events) == (envelope.event_id, (mother.event_id,))
    assert envelope.data.decision == "referred"  # one of two: GROUP_INCOMPLETE


def test_a_re_decision_supersedes_the_live_one_and_keeps_its_window() -> None:
    mother = published(returned("A212340001", group_id="G-1", group_size=2), NOON)
    son = published(
        returned("A212340002", group_id="G-1", group_size=2, born="2014-06-01", role="child"),
        NOON + timedelta(minutes=30),
    )
    first, taken = chained_decision(
        [mother], RULES, WINDOW, None, producer="screening/test", crossing="ELP"
    )
    again, retaken = chained_decision(
        [mother, son], RULES, taken.window, taken, producer="screening/test", crossing="ELP"
    )
    assert (again.data.revision, again.data.supersedes) == (2, first.event_id)
    assert again.data.window == WINDOW
    assert again.data.decision == "accepted"
    assert retaken.revision == 2
    same, _ = chained_decision(
        [son, mother], RULES, taken.window, taken, producer="screening/test", crossing="ELP"
    )
    assert same.event_id == again.event_id  # the same records, whatever their order
