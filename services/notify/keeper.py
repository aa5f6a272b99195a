"""Partners' reports, deadlines and capacity changes, applied by the decisions agent.

:class:`ProgressKeeper` runs in `notify-decisions`, the single writer of the group
tables, in partition order with the groups' decisions:

- `on_report`: a `request-status-reported` is judged against the request's record
  (progress.py); an applied one becomes `legal-aid-updated`; a decline reassigns the
  request (reassign.py); a close frees its provider's place.
- `on_tick`: a wall-clock tick, sent for partitions read to their end, pops the
  deadlines passed: a request not accepted in time is reassigned, one past due without
  first contact is marked overdue; requests finished for longer than their retention
  are deleted (tracker.py), and so are the inputs remembered and the groups settled for
  longer than theirs (memory.py).
- `on_capacity`: a provider's capacity, as changed for that partition.

What an input causes is stored under its id in `issued` before it is sent, as for the
decisions (handlers.py), so that a re-read input re-sends the same events.

What a report or a deadline causes about a request continues that request's trace (the
traceparent it was sent with, kept in `requests`): a group's trace runs from its
submission through every request and reassignment; a report's own trace is linked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from opentelemetry import trace
from opentelemetry.trace import Link

from schemas.codec import encode
from schemas.envelope import Envelope
from schemas.requests import (
    LegalAidUpdated,
    ProviderCapacityChanged,
    ReassignedBecause,
    RequestStatusReported,
)
from services.notify import metrics
from services.notify.changes import withdrawn
from services.notify.deadlines import DEFAULT_POLICY, DeadlinePolicy
from services.notify.handlers import Outgoing, RequestIssuer
from services.notify.ledger import OpenRequest, count_issued, count_withdrawn, open_requests
from services.notify.progress import (
    AppliedReport,
    TrackedRequest,
    after_report,
    becomes_overdue,
    ended_as,
    judge,
    marked_overdue,
    not_accepted_in_time,
    time_problem,
)
from services.notify.reassign import reassign
from services.notify.requests import NoProviderError, request_event_id
from services.reference.models import Reference
from services.runtime import telemetry
from services.runtime.metrics import code

log = logging.getLogger(__name__)

Serves = Callable[[str, str], bool]
"""Whether a partner (first) may report on requests of a provider (second)."""


@dataclass(frozen=True)
class Reported:
    """What a report caused: `outcome` (`applied`, `refused`, `repeat`: a code, for
    metrics) and the events to send, in order (`outgoing`)."""

    outcome: Literal["applied", "refused", "repeat"]
    outgoing: list[Outgoing]


def update_event_id(request_event_id_: str, status: str) -> str:
    """The `legal-aid-updated` id: one per request and status, however often reported."""
    return request_event_id("legal-aid-updated", request_event_id_, status)


class ProgressKeeper:
    """Applies reports, deadlines and capacity changes; see the module docstring."""

    def __init__(
        self,
        issuer: RequestIssuer,
        reference: Reference,
        *,
        serves: Serves,
        policy: DeadlinePolicy = DEFAULT_POLICY,
    ) -> None:
        self._issuer = issuer
        self._tracker = issuer.tracker
        self._reference = reference
        self._serves = serves
        self._policy = policy
        self._load = issuer.load
        self._tracer = telemetry.tracer("returns.notify")

    def on_report(self, envelope: Envelope[RequestStatusReported], partition: int) -> Reported:
        """Apply one report if it may be; returns what to send, and the outcome."""
        report = envelope.data
        stored = self._issuer.stored(envelope.event_id)
        if stored is not None:
            return Reported("repeat", stored)
        if self._issuer.beyond_memory(envelope, partition):
            metrics.REPORTS.labels(status=report.status, outcome="refused").inc()
            return Reported("refused", [])
        tracked = self._tracker.get(report.request_event_id)
        problem = self._refusal(tracked, envelope, partition)
        if problem is not None or tracked is None:
            log.warning("report %s refused: %s", envelope.event_id, problem)
            metrics.REPORTS.labels(status=report.status, outcome="refused").inc()
            return Reported("refused", [])
        applied = AppliedReport(
            status_at=report.status_at,
            reason_code=report.reason_code,
            partner_id=report.partner_id,
            event_id=update_event_id(tracked.event_id, report.status),
        )
        updated = after_report(tracked, report.status, applied)
        with self._in_trace_of(tracked, "report"):
            outgoing = [self._update_event(updated, envelope, applied, report)]
            if report.status == "declined":
                outgoing += self._reassign(
                    updated, "DECLINED", envelope.event_id, partition, envelope.occurred_at
                )
            else:
                self._tracker.put(updated)
                if report.status == "closed":
                    self._finish(updated, partition)
        self._issuer.remember(envelope.event_id, outgoing)
        metrics.REPORTS.labels(status=report.status, outcome="applied").inc()
        return Reported("applied", outgoing)

    def on_tick(self, partition: int, now: datetime, tick_id: str) -> list[Outgoing]:
        """Act on every deadline of `partition` passed by `now`, and delete the requests
        finished, inputs remembered and groups settled for longer than their retentions;
        returns what to send."""
        self._tracker.expire(partition, now)
        memory = self._issuer.memory
        if memory is not None:
            memory.handling(partition, now, now)
            memory.expire(partition, now)
        stored = self._issuer.stored(tick_id)
        if stored is not None:
            return stored
        outgoing: list[Outgoing] = []
        for deadline in self._tracker.passed(partition, now):
            tracked = self._tracker.get(deadline.request_event_id)
            if tracked is None:
                continue
            if deadline.kind == "due" and becomes_overdue(tracked, now):
                log.warning(
                    "legal-aid request %s at %s overdue: no first contact by %s",
                    tracked.event_id,
                    code(tracked.request.location),
                    tracked.request.due_by,
                )
                self._tracker.put(marked_overdue(tracked))
            elif deadline.kind == "accept" and not_accepted_in_time(tracked, now):
                with self._in_trace_of(tracked, "deadline"):
                    outgoing += self._reassign(
                        tracked, "NOT_ACCEPTED_IN_TIME", None, partition, now
                    )
        if outgoing:
            self._issuer.remember(tick_id, outgoing)
        return outgoing

    def on_capacity(self, change: ProviderCapacityChanged, partition: int) -> None:
        self._tracker.set_capacity(partition, change.provider_id, change.capacity)

    @contextmanager
    def _in_trace_of(self, tracked: TrackedRequest, step: str) -> Iterator[None]:
        """A span continuing `tracked`'s trace, linked to the current one (a report's),
        around what is decided about it: the events sent from it continue it too."""
        if tracked.trace is None:  # sent before traces were kept: stay in the current one
            parent, links = None, []
        else:
            current = trace.get_current_span().get_span_context()
            parent = telemetry.extract(telemetry.continuing(tracked.trace))
            links = [Link(current)] if current.is_valid else []
        with self._tracer.start_as_current_span(
            f"notify.{step}", context=parent, links=links
        ) as span:
            span.set_attribute("returns.request_event_id", tracked.event_id)
            yield

    def _refusal(
        self, tracked: TrackedRequest | None, envelope: Envelope[Any], partition: int
    ) -> str | None:
        report: RequestStatusReported = envelope.data
        if tracked is None or tracked.partition != partition:
            return "unknown_request"
        if tracked.request.group_id != report.group_id:
            return "another_group"
        if not self._serves(report.partner_id, tracked.request.provider_id):
            return "another_partners_request"
        judgement = judge(tracked, report.status, report.status_at, report.reason_code)
        if judgement.verdict != "apply":
            return judgement.reason
        return time_problem(tracked, report.status_at, envelope.occurred_at)

    def _update_event(
        self,
        tracked: TrackedRequest,
        cause: Envelope[Any],
        applied: AppliedReport,
        report: RequestStatusReported,
    ) -> Outgoing:
        request = tracked.request
        data = LegalAidUpdated(
            group_id=request.group_id,
            request_event_id=tracked.event_id,
            provider_id=request.provider_id,
            location=request.location,
            purpose=request.purpose,
            status=report.status,
            status_at=report.status_at,
            reason_code=report.reason_code,
            partner_id=report.partner_id,
        )
        envelope = self._issuer.wrap(
            data,
            event_id=applied.event_id,
            causation_id=cause.event_id,
            crossing=tracked.crossing,
        )
        return Outgoing(data.EVENT_TYPE, encode(envelope), telemetry.current_traceparent())

    def _reassign(
        self,
        tracked: TrackedRequest,
        because: ReassignedBecause,
        cause_id: str | None,
        partition: int,
        now: datetime,
    ) -> list[Outgoing]:
        """Withdraw `tracked` (reason `REASSIGNED`) and request it of the next provider,
        offered at `now` (the time of the tick or report that caused it)."""
        old = tracked.request
        group_id = old.group_id
        sent_in = telemetry.current_traceparent()
        record = self._issuer.group(group_id)
        opened = [r for r in record.open if r.event_id != tracked.event_id]
        current = next((r for r in record.open if r.event_id == tracked.event_id), None)
        current = current or OpenRequest.of(tracked.event_id, old)
        causation = cause_id or tracked.event_id
        update = withdrawn(current, "REASSIGNED", causation)
        withdrawal = self._issuer.wrap(
            update,
            event_id=request_event_id("request-updated", tracked.event_id, because),
            causation_id=causation,
            crossing=tracked.crossing,
        )
        self._tracker.put(ended_as(tracked, "replaced"))
        if tracked.held or tracked.stage == "declined":
            count_withdrawn(self._load, partition, old.provider_id)
        outgoing = [Outgoing(update.EVENT_TYPE, encode(withdrawal), sent_in)]
        providers = self._reference.legal_aid_at(old.location or "")
        ids = [p.id for p in providers]
        try:
            chosen = reassign(
                old,
                tracked.event_id,
                because,
                providers,
                open_requests(self._load, partition, ids),
                self._tracker.capacity(partition, ids),
                now,
                self._policy,
            )
        except NoProviderError as exc:
            log.error("request %s not reassigned: %s", tracked.event_id, exc)
            self._issuer.save_group(group_id, record.with_open(opened))
            return outgoing
        metrics.REASSIGNED.labels(
            location=code(old.location), because=because, fallback=str(chosen.fallback).lower()
        ).inc()
        if chosen.fallback:
            log.warning(
                "request %s at %s: no other provider has room, offered to %s",
                tracked.event_id,
                code(old.location),
                chosen.request.provider_id,
            )
        envelope = self._issuer.wrap(
            chosen.request,
            event_id=request_event_id("legal-aid-requested", tracked.event_id, because),
            causation_id=causation,
            crossing=tracked.crossing,
            occurred_at=now,
        )
        count_issued(self._load, partition, chosen.request.provider_id)
        self._tracker.opened(envelope, partition, sent_in)
        opened.append(OpenRequest.of(envelope.event_id, chosen.request))
        self._issuer.save_group(group_id, record.with_open(opened))
        outgoing.append(Outgoing(chosen.request.EVENT_TYPE, encode(envelope), sent_in))
        return outgoing

    def _finish(self, tracked: TrackedRequest, partition: int) -> None:
        """A closed request is no longer its provider's open work, nor the group's."""
        count_withdrawn(self._load, partition, tracked.request.provider_id)
        record = self._issuer.group(tracked.request.group_id)
        opened = [r for r in record.open if r.event_id != tracked.event_id]
        self._issuer.save_group(tracked.request.group_id, record.with_open(opened))
