"""A legal-aid request's progress: what a partner may report next, and when it is late.

Pure rules over :class:`TrackedRequest`, the record notify keeps per legal-aid request
(the `requests` table). The HTTP endpoint judges a report with them against its read
of the table, and the decisions agent judges it again, authoritatively, in partition
order with the group's other events; only reports it applies reach `legal-aid-updated`.

    issued -> accepted -> first_contact -> closed
    issued -> declined            (the request is then reassigned)
    accepted -> closed

A withdrawn or replaced request takes no more reports. Reporting the status already
applied, with the same time and reason, is a repeat: answered, never applied twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from schemas.requests import LegalAidRequested, ProgressStatus
from services.notify.deadlines import Deadline

RequestStage = Literal["issued", "accepted", "first_contact", "closed", "declined"]
Ending = Literal["withdrawn", "replaced"]

NEXT: dict[RequestStage, frozenset[ProgressStatus]] = {
    "issued": frozenset({"accepted", "declined"}),
    "accepted": frozenset({"first_contact", "closed"}),
    "first_contact": frozenset({"closed"}),
    "closed": frozenset(),
    "declined": frozenset(),
}
"""The statuses a partner may report from each stage."""

CLOCK_SKEW = timedelta(minutes=2)
"""How far in the future a reported `status_at` may be (partners' clocks drift)."""


class AppliedReport(BaseModel):
    """A status applied to a request: when, why, by whom, under which event id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status_at: datetime
    reason_code: str | None
    partner_id: str
    event_id: str


class TrackedRequest(BaseModel):
    """A legal-aid request as notify tracks it: the request as it now stands, where it
    was issued (partition, crossing), its stage, the reports applied, whether it ended
    (withdrawn, or replaced by a reassignment) and whether it is overdue."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str
    partition: int
    crossing: str | None
    issued_at: datetime
    request: LegalAidRequested
    stage: RequestStage = "issued"
    ended: Ending | None = None
    applied: dict[str, AppliedReport] = {}
    overdue: bool = False
    trace: str | None = None  # the traceparent it was sent with: what it causes continues it
    finished_at: datetime | None = None  # when it was first stored finished (see `finished`)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @property
    def finished(self) -> bool:
        """Nothing more can happen to it: closed, or withdrawn or replaced (a declined
        request is replaced at once). Only a finished request expires (tracker.py)."""
        return self.ended is not None or self.stage in ("closed", "declined")

    @property
    def held(self) -> bool:
        """Open work of its provider: issued or accepted (first contact made included),
        not declined, closed, withdrawn or replaced."""
        return self.ended is None and self.stage in ("issued", "accepted", "first_contact")

    @property
    def late(self) -> bool:
        """Counted as overdue: held, past due and no first contact yet."""
        return self.overdue and self.held and self.stage != "first_contact"


Verdict = Literal["apply", "repeat", "ended", "not_allowed", "conflict"]


@dataclass(frozen=True)
class Judgement:
    """What to do with a report, and why (a code, for answers and logs)."""

    verdict: Verdict
    reason: str


def judge(
    tracked: TrackedRequest, status: ProgressStatus, status_at: datetime, reason: str | None
) -> Judgement:
    """Whether a report of `status` applies to `tracked` now.

    `repeat`: the same status with the same time and reason was applied already;
    `conflict`: the same status was applied with another time or reason; `ended`: the
    request was withdrawn or replaced; `not_allowed`: out of order, or after the end.
    """
    done = tracked.applied.get(status)
    if done is not None:
        if (done.status_at, done.reason_code) == (status_at, reason):
            return Judgement("repeat", "already_applied")
        return Judgement("conflict", "status_already_reported")
    if tracked.ended is not None:
        return Judgement("ended", f"request_{tracked.ended}")
    if status not in NEXT[tracked.stage]:
        return Judgement("not_allowed", f"{status}_not_allowed_after_{tracked.stage}")
    return Judgement("apply", "applies")


def time_problem(tracked: TrackedRequest, status_at: datetime, now: datetime) -> str | None:
    """Why `status_at` cannot be true (a code), else None: not in the future (beyond
    `CLOCK_SKEW`), not before the request was issued, not before the last status."""
    if status_at > now + CLOCK_SKEW:
        return "status_at_in_the_future"
    if status_at < tracked.issued_at:
        return "status_at_before_the_request"
    if any(status_at < done.status_at for done in tracked.applied.values()):
        return "status_at_before_the_previous_status"
    return None


def after_report(
    tracked: TrackedRequest, status: ProgressStatus, report: AppliedReport
) -> TrackedRequest:
    """`tracked` with `status` applied."""
    stage: RequestStage = status
    return _changed(tracked, stage=stage, applied={**tracked.applied, status: report})


def ended_as(tracked: TrackedRequest, ending: Ending) -> TrackedRequest:
    return _changed(tracked, ended=ending)


def marked_overdue(tracked: TrackedRequest) -> TrackedRequest:
    return _changed(tracked, overdue=True)


def finished_on(tracked: TrackedRequest, at: datetime) -> TrackedRequest:
    """`tracked`, finished, stamped with the time it was found finished."""
    return _changed(tracked, finished_at=at)


def with_request(tracked: TrackedRequest, request: LegalAidRequested) -> TrackedRequest:
    """`tracked` after an amendment of its request."""
    return _changed(tracked, request=request)


def _changed(
    tracked: TrackedRequest,
    *,
    request: LegalAidRequested | None = None,
    stage: RequestStage | None = None,
    ended: Ending | None = None,
    applied: dict[str, AppliedReport] | None = None,
    overdue: bool | None = None,
    finished_at: datetime | None = None,
) -> TrackedRequest:
    """`tracked` with the fields given changed and every other one, its trace included,
    kept (typed, where `model_copy(update=...)` would take any string)."""
    return TrackedRequest(
        event_id=tracked.event_id,
        partition=tracked.partition,
        crossing=tracked.crossing,
        issued_at=tracked.issued_at,
        request=tracked.request if request is None else request,
        stage=tracked.stage if stage is None else stage,
        ended=tracked.ended if ended is None else ended,
        applied=tracked.applied if applied is None else applied,
        overdue=tracked.overdue if overdue is None else overdue,
        trace=tracked.trace,
        finished_at=tracked.finished_at if finished_at is None else finished_at,
    )


def pending_deadlines(tracked: TrackedRequest) -> Iterator[Deadline]:
    """The deadlines still to watch: acceptance while only issued, first contact while
    held without it and not yet overdue."""
    if tracked.ended is not None:
        return
    request = tracked.request
    if tracked.stage == "issued" and request.accept_by is not None:
        yield Deadline(request.accept_by, "accept", tracked.event_id)
    waiting = tracked.stage in ("issued", "accepted") and not tracked.overdue
    if waiting and request.due_by is not None:
        yield Deadline(request.due_by, "due", tracked.event_id)


def not_accepted_in_time(tracked: TrackedRequest, now: datetime) -> bool:
    accept_by = tracked.request.accept_by
    return (
        tracked.ended is None
        and tracked.stage == "issued"
        and accept_by is not None
        and accept_by <= now
    )


def becomes_overdue(tracked: TrackedRequest, now: datetime) -> bool:
    due_by = tracked.request.due_by
    return (
        not tracked.overdue
        and tracked.held
        and tracked.stage != "first_contact"
        and due_by is not None
        and due_by <= now
    )
