"""Deadlines of legal-aid requests: when first contact is due, when acceptance is, and
the index a clock tick reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.notify.deadlines import Deadline, DeadlineIndex, DeadlinePolicy
from services.runtime.settings import ConfigurationError

RETURNED = datetime(2026, 11, 27, 22, 58, tzinfo=UTC)
ISSUED = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
POLICY = DeadlinePolicy()


@pytest.mark.parametrize(
    ("purpose", "priority", "due"),
    [
        ("non_refoulement_interview", "urgent", RETURNED + timedelta(hours=24)),
        ("immigration_hearing", "urgent", ISSUED + timedelta(hours=72)),
        ("immigration_hearing", "normal", ISSUED + timedelta(hours=240)),
    ],
)
def test_first_contact_is_due_by_the_documented_time(
    purpose: str, priority: str, due: datetime
) -> None:
    assert POLICY.due_by(purpose, priority, ISSUED, RETURNED) == due  # type: ignore[arg-type]


def test_an_interview_must_be_accepted_sooner_than_a_hearing() -> None:
    assert POLICY.accept_by("non_refoulement_interview", ISSUED) == ISSUED + timedelta(hours=1)
    assert POLICY.accept_by("immigration_hearing", ISSUED) == ISSUED + timedelta(hours=2)


def test_the_policy_reads_fractions_from_the_environment_so_tests_can_use_seconds() -> None:
    policy = DeadlinePolicy.from_env(
        {
            "RETURNS_LEGAL_AID_ACCEPT_MINUTES": "0.05",
            "RETURNS_LEGAL_AID_INTERVIEW_ACCEPT_MINUTES": "0.1",
            "RETURNS_LEGAL_AID_URGENT_HOURS": "1",
            "RETURNS_LEGAL_AID_NORMAL_HOURS": "",
        }
    )
    assert policy.accept_within == timedelta(seconds=3)
    assert policy.interview_accept_within == timedelta(seconds=6)
    assert policy.urgent_due == timedelta(hours=1)
    assert policy.normal_due == timedelta(hours=240)


def test_a_bad_deadline_setting_is_named() -> None:
    with pytest.raises(ConfigurationError, match="RETURNS_LEGAL_AID_ACCEPT_MINUTES"):
        DeadlinePolicy.from_env({"RETURNS_LEGAL_AID_ACCEPT_MINUTES": "soon"})
    with pytest.raises(ConfigurationError, match="RETURNS_LEGAL_AID_URGENT_HOURS"):
        DeadlinePolicy.from_env({"RETURNS_LEGAL_AID_URGENT_HOURS": "-3"})


def test_a_tick_pops_only_the_deadlines_passed_earliest_first_per_partition() -> None:
    index = DeadlineIndex()
    late = Deadline(ISSUED + timedelta(hours=3), "due", "r-late")
    soon = Deadline(ISSUED + timedelta(hours=1), "accept", "r-soon")
    other = Deadline(ISSUED, "accept", "r-other-partition")
    index.load(3, [late, soon])
    index.add(4, other)

    assert index.passed(3, ISSUED) == []
    assert index.passed(3, ISSUED + timedelta(hours=2)) == [soon]
    assert index.next_at(3) == late.at
    assert index.passed(3, ISSUED + timedelta(days=1)) == [late]
    assert index.passed(4, ISSUED) == [other]


def test_a_forgotten_index_is_loaded_again() -> None:
    index = DeadlineIndex()
    index.load(3, [])
    index.forget()
    assert not index.loaded(3)
