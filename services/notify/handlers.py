"""From decisions to requests: notify's `screened`, `placed` and `placement-withdrawn`
handling, over plain mappings.

The faust agent hands each event to :class:`RequestIssuer` with the partition it came
from; the issuer reads and writes its tables (any `MutableMapping[str, bytes]`: faust
tables in the service, dicts in tests) and returns the requests to send, in order.

Every request is stored under the id of the event that caused it *before* it is
returned, and a reprocessed event returns the stored bytes: the same `event_id`,
provider and priority, never a second choice made on a different load. Whoever sends
them must make the table writes durable first (the service flushes the changelogs:
publisher.py).

A group's requests follow its live decision and placement: a re-placement or re-decision
amends or withdraws the open ones (`request-updated`, see changes.py and
docs/adr/0014-requests-follow-the-live-decision.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas.codec import decode, encode
from schemas.decisions import Placed, PlacementWithdrawn, Screened
from schemas.envelope import Envelope, make_envelope, utc_now
from schemas.requests import CareRequested, LegalAidRequested, LegalAidUpdated, RequestUpdated
from services.notify.changes import Changes, after, replacement, rereferral, withdrawn
from services.notify.deadlines import DEFAULT_POLICY, DeadlinePolicy
from services.notify.ledger import (
    GroupRecord,
    IssuedRecord,
    IssuedRequest,
    OpenRequest,
    count_issued,
    count_withdrawn,
    open_requests,
)
from services.notify.memory import Memory
from services.notify.progress import ended_as, with_request
from services.notify.reassign import amended_request
from services.notify.requests import (
    NoProviderError,
    care_requests_for_placement,
    legal_aid_for_placement,
    legal_aid_for_referral,
    placement_priority,
    referred_for_fear,
    request_event_id,
)
from services.notify.tracker import RequestTracker
from services.reference.models import Reference
from services.runtime import telemetry

log = logging.getLogger(__name__)

Table = MutableMapping[str, bytes]


@dataclass(frozen=True)
class Outgoing:
    """One request event to send: its contract topic, its exact bytes, and the
    ``traceparent`` of the span that decided it, which the sent event continues."""

    topic: str
    value: bytes
    trace: str | None = None


NotifyEvent = LegalAidRequested | CareRequested | RequestUpdated | LegalAidUpdated


class RequestIssuer:
    """Issues `legal-aid-requested`, `care-requested` and `request-updated` events
    (docs/CONTRACT.md, "Notify rules")."""

    def __init__(
        self,
        reference: Reference,
        *,
        groups: Table,
        issued: Table,
        load: Table,
        producer: str,
        clock: Callable[[], datetime] = utc_now,
        tracker: RequestTracker | None = None,
        policy: DeadlinePolicy = DEFAULT_POLICY,
        memory: Memory | None = None,
    ) -> None:
        self._reference = reference
        self._groups, self._issued, self._load = groups, issued, load
        self._producer = producer
        self._clock = clock
        self.tracker = tracker or RequestTracker({}, {})
        self._policy = policy
        self.memory = memory  # given, `groups` and `issued` are its tables (memory.py)

    def beyond_memory(self, envelope: Envelope[Any], partition: int) -> bool:
        """Whether an input unknown to the tables is older than their retention (then it
        is not handled); else what it writes is kept from now (or from when it happened)."""
        if self.memory is None:
            return False
        now = self._clock()
        self.memory.handling(partition, envelope.occurred_at, now)
        return self.memory.beyond(envelope.event_type, envelope.event_id, envelope.occurred_at, now)

    def on_screened(self, envelope: Envelope[Screened], partition: int) -> list[Outgoing]:
        """Make the decision the group's live one; request, amend or withdraw its
        non-refoulement interview; complete the `placed` events parked for it."""
        decision = envelope.data
        record = self._group(decision.group_id)
        if envelope.event_id in record.screened_event_ids:  # re-delivered: nothing new
            return self._stored(envelope.event_id) or []
        if self.beyond_memory(envelope, partition):
            return []
        record = record.with_screened(decision, envelope.event_id)
        if decision.decided_after is not None:  # legacy: a late member decided alone
            record, outgoing = self._apply(record, Changes(new_legal_aid=True), envelope, partition)
        else:
            changes = rereferral(
                record.open, decision, envelope.event_id, referred_for_fear(decision)
            )
            record, outgoing = self._apply(record, changes, envelope, partition)
        ready, waiting = [], []
        for raw in record.parked:
            placed = decode(raw.encode(), Placed)
            if record.knows_members(placed.data.members, placed.causation_id):
                ready.append(placed)
            else:
                waiting.append(raw)
        record = record.with_parked_only(waiting)
        for placed in ready:
            record, more = self._placement(placed, record, partition)
            outgoing += more
        self._groups[decision.group_id] = record.to_bytes()
        if outgoing:
            self._remember(envelope.event_id, outgoing)
        return outgoing

    def on_placed(self, envelope: Envelope[Placed], raw: bytes, partition: int) -> list[Outgoing]:
        """Request legal aid and vaccinations for a placed group (or update them for a
        re-placed one), or park the event until the group's `screened` decision (another
        topic) with these members has been seen."""
        stored = self._stored(envelope.event_id)
        if stored is not None:
            return stored
        if self.beyond_memory(envelope, partition):
            return []
        group_id = envelope.data.group_id
        record = self._group(group_id)
        if not record.knows_members(envelope.data.members, envelope.causation_id):
            log.info(
                "placed %s parked: decision of group %s not seen yet", envelope.event_id, group_id
            )
            self._groups[group_id] = record.with_parked(raw).to_bytes()
            return []
        record, outgoing = self._placement(envelope, record, partition)
        self._groups[group_id] = record.to_bytes()
        return outgoing

    def on_withdrawn(
        self, envelope: Envelope[PlacementWithdrawn], partition: int
    ) -> list[Outgoing]:
        """A group no longer accepted has every request its placement caused withdrawn;
        one whose group changed keeps them for the re-placement that follows."""
        stored = self._stored(envelope.event_id)
        if stored is not None:
            return stored
        if self.beyond_memory(envelope, partition):
            return []
        ending = envelope.data
        record = self._group(ending.group_id)
        # The open requests belong to the placement that ends unless a newer one (read
        # first from the other topic) has already taken them over.
        current = record.placement
        ends = current is not None and (
            current == ending.placed_event_id or current in record.ended
        )
        if ending.placed_event_id is not None and ending.placed_event_id not in record.ended:
            record = record.model_copy(update={"ended": [*record.ended, ending.placed_event_id]})
        changes = Changes()
        if ending.reason == "NO_LONGER_ACCEPTED" and ends:
            changes.updates = [
                (r, withdrawn(r, "NO_LONGER_ACCEPTED", envelope.event_id))
                for r in record.open
                if r.from_placement
            ]
        record, outgoing = self._apply(record, changes, envelope, partition)
        self._groups[ending.group_id] = record.to_bytes()
        self._remember(envelope.event_id, outgoing)
        return outgoing

    def _placement(
        self, envelope: Envelope[Placed], record: GroupRecord, partition: int
    ) -> tuple[GroupRecord, list[Outgoing]]:
        stored = self._stored(envelope.event_id)
        if stored is not None:
            return record, stored
        if envelope.event_id in record.ended:
            log.info("placed %s was withdrawn already: no requests", envelope.event_id)
            self._remember(envelope.event_id, [])
            return record, []
        placed, screened = envelope.data, record.screened
        assert screened is not None
        try:
            health = self._reference.health_at(placed.location)
            care = care_requests_for_placement(placed, screened, health)
        except NoProviderError as exc:
            log.error("placed %s: no care request: %s", envelope.event_id, exc)
            care = []
        current = [r for r in record.open if r.from_placement]
        priority = placement_priority(placed, screened)
        changes = replacement(current, placed, envelope.event_id, priority, care)
        record = record.model_copy(update={"placement": envelope.event_id})
        record, outgoing = self._apply(record, changes, envelope, partition)
        self._remember(envelope.event_id, outgoing)
        return record, outgoing

    def _apply(
        self, record: GroupRecord, changes: Changes, cause: Envelope[Any], partition: int
    ) -> tuple[GroupRecord, list[Outgoing]]:
        """Send the changes' updates and new requests; the record with its open requests
        as they leave it."""
        opened = list(record.open)
        # Handled inside the cause's span: its requests continue the cause's trace.
        trace = telemetry.current_traceparent()
        events: list[Envelope[Any]] = []
        for request, update in changes.updates:
            events.append(self._wrap(update, cause, request.event_id))
            index = opened.index(request)
            if update.change == "withdrawn":
                del opened[index]
                if request.request_type == "legal-aid-requested":  # the only ones counted
                    count_withdrawn(self._load, partition, request.provider_id)
            else:
                opened[index] = after(request, update)
            if request.request_type == "legal-aid-requested":
                self._track_update(request.event_id, update)
        new: list[Envelope[Any]] = []
        if changes.new_legal_aid:
            now = self._clock()
            legal_aid = self._legal_aid(record, cause, partition, now)
            if legal_aid is not None:
                envelope = self._wrap(legal_aid, cause, occurred_at=now)
                self.tracker.opened(envelope, partition, trace)
                new.append(envelope)
        new += [self._wrap(request, cause, request.case_id) for request in changes.new_care]
        opened += [OpenRequest.of(e.event_id, e.data) for e in new]
        outgoing = [Outgoing(e.event_type, encode(e), trace) for e in [*events, *new]]
        return record.model_copy(update={"open": opened}), outgoing

    def _track_update(self, request_id: str, update: RequestUpdated) -> None:
        tracked = self.tracker.get(request_id)
        if tracked is None:  # issued before requests were tracked
            return
        if update.change == "withdrawn":
            self.tracker.put(ended_as(tracked, "withdrawn"))
            return
        request = amended_request(
            tracked.request, list(update.members), update.priority, update.shelter_id
        )
        self.tracker.put(with_request(tracked, request))

    def _legal_aid(
        self, record: GroupRecord, cause: Envelope[Any], partition: int, now: datetime
    ) -> LegalAidRequested | None:
        """A new hearing request for a `placed` cause, interview request for a `screened`."""
        if isinstance(cause.data, Screened):
            request = self._referral(cause, partition, now)
        else:
            assert record.screened is not None
            providers = self._reference.legal_aid_at(cause.data.location)
            ids = [p.id for p in providers]
            load = open_requests(self._load, partition, ids)
            try:
                request = legal_aid_for_placement(
                    cause.data,
                    record.screened,
                    providers,
                    load,
                    capacity=self.tracker.capacity(partition, ids),
                    issued_at=now,
                    policy=self._policy,
                )
            except NoProviderError as exc:
                log.error("placed %s: no legal-aid request: %s", cause.event_id, exc)
                return None
        if request is not None:
            count_issued(self._load, partition, request.provider_id)
        return request

    def _referral(
        self, envelope: Envelope[Screened], partition: int, now: datetime
    ) -> LegalAidRequested | None:
        try:
            crossing = self._reference.crossing(envelope.crossing or "")
        except KeyError:
            log.error("screened %s: unknown crossing, no referral request", envelope.event_id)
            return None
        providers = self._reference.legal_aid_at(crossing.location)
        ids = [p.id for p in providers]
        load = open_requests(self._load, partition, ids)
        try:
            return legal_aid_for_referral(
                envelope.data,
                providers,
                load,
                envelope.occurred_at,
                crossing=crossing,
                capacity=self.tracker.capacity(partition, ids),
                issued_at=now,
                policy=self._policy,
            )
        except NoProviderError as exc:
            log.error("screened %s: no referral request: %s", envelope.event_id, exc)
            return None

    def _wrap(
        self,
        data: LegalAidRequested | CareRequested | RequestUpdated,
        cause: Envelope[Any],
        *parts: str,
        occurred_at: datetime | None = None,
    ) -> Envelope[Any]:
        return self.wrap(
            data,
            event_id=request_event_id(data.EVENT_TYPE, cause.event_id, *parts),
            causation_id=cause.event_id,
            crossing=cause.crossing,
            occurred_at=occurred_at,
        )

    def wrap(
        self,
        data: NotifyEvent,
        *,
        event_id: str,
        causation_id: str,
        crossing: str | None,
        occurred_at: datetime | None = None,
    ) -> Envelope[Any]:
        """An event notify writes about a group (`data.group_id`), stamped now unless
        `occurred_at` is given."""
        return make_envelope(
            data,
            event_id=event_id,
            producer=self._producer,
            correlation_id=data.group_id,
            causation_id=causation_id,
            crossing=crossing,
            occurred_at=occurred_at or self._clock(),
        )

    @property
    def load(self) -> Table:
        """Open requests per partition and provider (ledger.py)."""
        return self._load

    def group(self, group_id: str) -> GroupRecord:
        """The group's record (empty for a group not seen)."""
        return self._group(group_id)

    def save_group(self, group_id: str, record: GroupRecord) -> None:
        self._groups[group_id] = record.to_bytes()

    def stored(self, cause_id: str) -> list[Outgoing] | None:
        """What the event `cause_id` caused, as sent; None when it was never handled."""
        return self._stored(cause_id)

    def remember(self, cause_id: str, outgoing: Sequence[Outgoing]) -> None:
        self._remember(cause_id, outgoing)

    def _group(self, group_id: str) -> GroupRecord:
        raw = self._groups.get(group_id)
        return GroupRecord.model_validate_json(raw) if raw is not None else GroupRecord()

    def _stored(self, cause_id: str) -> list[Outgoing] | None:
        raw = self._issued.get(cause_id)
        if raw is None:
            return None
        record = IssuedRecord.model_validate_json(raw)
        return [Outgoing(r.topic, r.value.encode(), r.trace) for r in record.requests]

    def _remember(self, cause_id: str, outgoing: Sequence[Outgoing]) -> None:
        requests = [
            IssuedRequest(topic=o.topic, value=o.value.decode(), trace=o.trace) for o in outgoing
        ]
        self._issued[cause_id] = IssuedRecord(requests=requests).to_bytes()
