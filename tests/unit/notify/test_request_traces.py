"""Given decisions handled in their own traces, then every request notify sends continues
the trace of the decision that caused it, and what a partner's report or a deadline does
to a request continues that request's trace, however late it happens."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from opentelemetry.sdk.trace import TracerProvider

from schemas.envelope import Envelope, event_id_for, make_envelope
from schemas.requests import RequestStatusReported
from services.notify.deadlines import DeadlinePolicy
from services.notify.handlers import Outgoing
from services.notify.keeper import ProgressKeeper
from tests.unit.notify.issuer_harness import (
    PARTITION,
    REFERENCE,
    Notify,
    SendingKeeper,
    place,
    placed_envelope,
    screened_envelope,
)
from tests.unit.notify.notify_factories import placed, referred_for_fear, screened

POLICY = DeadlinePolicy(accept_within=timedelta(minutes=30))
TRACER = TracerProvider().get_tracer("tests")  # stands for the consumer span of each input


@contextmanager
def in_new_trace(name: str) -> Iterator[int]:
    """A span of a trace of its own, current while the block runs; yields its trace id."""
    with TRACER.start_as_current_span(name, context=None) as span:
        yield span.get_span_context().trace_id


def trace_id(outgoing: Outgoing) -> int:
    assert outgoing.trace is not None, f"{outgoing.topic} sent without a traceparent"
    version, trace, span, _ = outgoing.trace.split("-")
    assert (version, len(span)) == ("00", 16)
    return int(trace, 16)


class Progress:
    """A notify on dicts, and a keeper over the same tables."""

    def __init__(self) -> None:
        self.notify = Notify(policy=POLICY)
        keeper = ProgressKeeper(
            self.notify.requests, REFERENCE, serves=lambda *_: True, policy=POLICY
        )
        self.keeper = SendingKeeper(keeper, self.notify)

    def sent(self, event_type: str) -> list[tuple[Envelope[Any], Outgoing]]:
        return [
            (event, outgoing)
            for event, outgoing in zip(self.notify.events(), self.notify.published, strict=True)
            if event.event_type == event_type
        ]

    async def decline(self, request: Envelope[Any]) -> None:
        at = request.occurred_at + timedelta(minutes=5)
        data = RequestStatusReported.model_validate(
            {
                "group_id": request.data.group_id,
                "request_event_id": request.event_id,
                "partner_id": "red-juridica-juarez",
                "status": "declined",
                "status_at": at,
                "reason_code": None,
            },
            strict=False,
        )
        report = make_envelope(
            data,
            event_id=event_id_for("request-status-reported", request.event_id, str(at)),
            producer="partners/test",
            correlation_id=data.group_id,
            causation_id=request.event_id,
            crossing="ELP",
            occurred_at=at + timedelta(seconds=1),
        )
        await self.keeper.on_report(report, PARTITION)


async def test_requests_of_two_groups_continue_each_groups_own_trace() -> None:
    notify = Notify()
    traces = {}
    for number, group_id in enumerate(("G-2026-000201", "G-2026-000202")):
        event_id = f"0e7d6c5b-4a39-5281-9f0e-1d2c3b4a59{number:02d}"
        with in_new_trace("notify.issue") as traces[group_id]:
            await notify.issuer.on_screened(
                screened_envelope(referred_for_fear(group_id=group_id), event_id), PARTITION
            )
    sent = zip(notify.events(), notify.published, strict=True)
    requests = [(event.data.group_id, trace_id(outgoing)) for event, outgoing in sent]
    assert sorted(requests) == sorted(traces.items())
    assert len(set(traces.values())) == 2


async def test_a_decision_read_again_resends_its_requests_in_their_first_trace() -> None:
    notify = Notify()
    with in_new_trace("notify.issue") as first:
        await notify.issuer.on_screened(screened_envelope(screened()), PARTITION)
        await place(notify, placed_envelope(placed()))
    sent = list(notify.published)
    assert {trace_id(o) for o in sent} == {first}
    assert {o.topic for o in sent} == {"legal-aid-requested", "care-requested"}
    with in_new_trace("notify.issue"):  # the same `placed`, re-read after a restart
        await place(notify, placed_envelope(placed()))
    assert notify.published[len(sent) :] == sent


async def test_a_declined_request_is_reassigned_in_the_requests_trace_not_the_reports() -> None:
    progress = Progress()
    with in_new_trace("notify.issue") as group_trace:
        await progress.notify.issuer.on_screened(screened_envelope(screened()), PARTITION)
        await place(progress.notify, placed_envelope(placed()))
    [(request, _)] = progress.sent("legal-aid-requested")
    with in_new_trace("notify.issue") as report_trace:
        await progress.decline(request)
    caused = progress.notify.published[-3:]
    assert [o.topic for o in caused] == [
        "legal-aid-updated",
        "request-updated",
        "legal-aid-requested",
    ]
    assert {trace_id(o) for o in caused} == {group_trace} != {report_trace}


async def test_every_reassignment_on_a_tick_stays_in_the_groups_trace() -> None:
    progress = Progress()
    with in_new_trace("notify.issue") as group_trace:
        await progress.notify.issuer.on_screened(screened_envelope(screened()), PARTITION)
        await place(progress.notify, placed_envelope(placed()))
    [(request, _)] = progress.sent("legal-aid-requested")
    at = request.data.accept_by
    for tick in range(2):  # the first reassignment is left unanswered as well
        at += POLICY.accept_within + timedelta(seconds=1)
        await progress.keeper.on_tick(PARTITION, at, f"tick-{tick}")  # no span of its own
    requests = progress.sent("legal-aid-requested")
    assert [e.data.reassigned_because for e, _ in requests] == [
        None,
        "NOT_ACCEPTED_IN_TIME",
        "NOT_ACCEPTED_IN_TIME",
    ]
    assert {trace_id(o) for o in progress.notify.published} == {group_trace}
