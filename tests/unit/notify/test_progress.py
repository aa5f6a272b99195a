"""What a partner may report next on a legal-aid request, and when a request is late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from schemas.requests import LegalAidRequested
from services.notify.progress import (
    AppliedReport,
    TrackedRequest,
    after_report,
    becomes_overdue,
    ended_as,
    judge,
    marked_overdue,
    not_accepted_in_time,
    pending_deadlines,
    time_problem,
    with_request,
)
from services.notify.requests import legal_aid_for_referral
from services.reference import load_reference
from tests.unit.notify.notify_factories import EL_PASO, referred_for_fear

ISSUED = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
REFERENCE = load_reference()


def interview() -> LegalAidRequested:
    request = legal_aid_for_referral(
        referred_for_fear(),
        REFERENCE.legal_aid_providers,
        {},
        ISSUED,
        crossing=EL_PASO,
        capacity={},
        issued_at=ISSUED,
    )
    assert request is not None
    return request


def tracked(*statuses: str) -> TrackedRequest:
    one = TrackedRequest(
        event_id="req-1", partition=3, crossing="ELP", issued_at=ISSUED, request=interview()
    )
    for n, status in enumerate(statuses):
        one = after_report(one, status, applied(n))  # type: ignore[arg-type]
    return one


def applied(minutes: int, reason: str | None = None) -> AppliedReport:
    at = ISSUED + timedelta(minutes=minutes)
    return AppliedReport(status_at=at, reason_code=reason, partner_id="p", event_id=f"u{minutes}")


@pytest.mark.parametrize(
    ("history", "status", "verdict"),
    [
        ((), "accepted", "apply"),
        ((), "declined", "apply"),
        ((), "first_contact", "not_allowed"),
        ((), "closed", "not_allowed"),
        (("accepted",), "first_contact", "apply"),
        (("accepted",), "closed", "apply"),
        (("accepted",), "declined", "not_allowed"),
        (("accepted", "first_contact"), "closed", "apply"),
        (("accepted", "first_contact"), "accepted", "conflict"),
        (("accepted", "first_contact", "closed"), "first_contact", "conflict"),
        (("declined",), "accepted", "not_allowed"),
    ],
)
def test_only_the_documented_transitions_apply(
    history: tuple[str, ...], status: str, verdict: str
) -> None:
    one = tracked(*history)
    at = ISSUED + timedelta(minutes=30)
    assert judge(one, status, at, None).verdict == verdict  # type: ignore[arg-type]


def test_the_same_report_again_is_a_repeat_and_another_time_a_conflict() -> None:
    one = tracked("accepted")
    assert judge(one, "accepted", ISSUED, None).verdict == "repeat"
    assert judge(one, "accepted", ISSUED + timedelta(minutes=1), None).verdict == "conflict"
    assert judge(one, "accepted", ISSUED, "OTHER_REASON").verdict == "conflict"


def test_a_withdrawn_or_replaced_request_takes_no_more_reports() -> None:
    for ending in ("withdrawn", "replaced"):
        one = ended_as(tracked("accepted"), ending)  # type: ignore[arg-type]
        judgement = judge(one, "first_contact", ISSUED + timedelta(hours=1), None)
        assert (judgement.verdict, judgement.reason) == ("ended", f"request_{ending}")


def test_a_reported_time_must_be_possible() -> None:
    one = tracked("accepted")
    now = ISSUED + timedelta(hours=1)
    assert time_problem(one, now + timedelta(hours=1), now) == "status_at_in_the_future"
    assert time_problem(one, ISSUED - timedelta(minutes=1), now) == "status_at_before_the_request"
    one = after_report(one, "first_contact", applied(20))
    assert time_problem(one, ISSUED + timedelta(minutes=10), now) == (
        "status_at_before_the_previous_status"
    )
    assert time_problem(one, ISSUED + timedelta(minutes=40), now) is None


def test_an_issued_request_waits_for_acceptance_and_first_contact() -> None:
    one = tracked()
    kinds = {d.kind: d.at for d in pending_deadlines(one)}
    assert kinds == {"accept": ISSUED + timedelta(hours=1), "due": one.request.due_by}
    assert not not_accepted_in_time(one, ISSUED + timedelta(minutes=59))
    assert not_accepted_in_time(one, ISSUED + timedelta(hours=1))
    assert not not_accepted_in_time(tracked("accepted"), ISSUED + timedelta(days=1))


def test_past_due_without_first_contact_is_overdue_and_first_contact_ends_it() -> None:
    due = interview().due_by
    assert due is not None
    one = tracked("accepted")
    assert not becomes_overdue(one, due - timedelta(seconds=1))
    assert becomes_overdue(one, due)
    late = marked_overdue(one)
    assert late.late
    assert not becomes_overdue(late, due)
    assert list(pending_deadlines(late)) == []
    contacted = after_report(late, "first_contact", applied(90))
    assert not contacted.late
    assert contacted.held
    closed = after_report(contacted, "closed", applied(120))
    assert not closed.held
    assert not becomes_overdue(tracked("accepted", "first_contact"), due)


def test_every_change_of_a_tracked_request_keeps_its_trace() -> None:
    trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    one = TrackedRequest(
        event_id="req-1",
        partition=3,
        crossing="ELP",
        issued_at=ISSUED,
        request=interview(),
        trace=trace,
    )
    changed = (
        after_report(one, "accepted", applied(1)),
        ended_as(one, "withdrawn"),
        marked_overdue(one),
        with_request(one, one.request),
    )
    assert [c.trace for c in changed] == [trace] * 4
