"""From decisions to requests: notify's `screened` and `placed` handling, over plain mappings.

The faust agent hands each event to :class:`RequestIssuer` with the partition it came
from; the issuer reads and writes its tables (any `MutableMapping[str, bytes]`: faust
tables in the service, dicts in tests) and hands the requests to `publish`.

Every request is stored under the id of the event that caused it *before* it is
published, and a reprocessed event re-publishes the stored bytes: the same `event_id`,
provider and priority, never a second choice made on a different load. `publish` must
make the table writes durable before it sends (the service flushes the changelogs).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas.codec import decode, encode
from schemas.decisions import Placed, Screened
from schemas.envelope import Envelope, make_envelope, utc_now
from schemas.requests import CareRequested, LegalAidRequested
from services.notify.ledger import (
    GroupRecord,
    IssuedRecord,
    IssuedRequest,
    count_issued,
    open_requests,
)
from services.notify.requests import (
    NoProviderError,
    care_requests_for_placement,
    legal_aid_for_placement,
    legal_aid_for_referral,
    request_event_id,
)
from services.reference.models import Reference

log = logging.getLogger(__name__)

Table = MutableMapping[str, bytes]


@dataclass(frozen=True)
class Outgoing:
    """One request event to send: its contract topic and its exact bytes."""

    topic: str
    value: bytes


Publish = Callable[[Sequence[Outgoing]], Awaitable[None]]


class RequestIssuer:
    """Issues `legal-aid-requested` and `care-requested` events (CONTRACT.md, "Notify rules")."""

    def __init__(
        self,
        reference: Reference,
        *,
        groups: Table,
        issued: Table,
        load: Table,
        publish: Publish,
        producer: str,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._reference = reference
        self._groups, self._issued, self._load = groups, issued, load
        self._publish = publish
        self._producer = producer
        self._clock = clock

    async def on_screened(self, envelope: Envelope[Screened], partition: int) -> None:
        """Remember the group's decision; request a non-refoulement interview for a fear
        referral; complete the `placed` events parked while waiting for this decision."""
        decision = envelope.data
        record = self._group(decision.group_id).with_screened(decision, envelope.event_id)
        parked = [decode(raw.encode(), Placed) for raw in record.parked]
        self._groups[decision.group_id] = record.without_parked().to_bytes()
        stored = self._stored(envelope.event_id)
        outgoing = stored if stored is not None else self._referral(envelope, partition)
        assert record.screened is not None
        for placed in parked:
            outgoing += self._placement(placed, record.screened, partition)
        if stored is None and outgoing:
            self._remember(envelope.event_id, outgoing)
        await self._publish(outgoing)

    async def on_placed(self, envelope: Envelope[Placed], raw: bytes, partition: int) -> None:
        """Request legal aid and vaccinations for a placed group, or park the event until
        the group's `screened` decision (another topic) has been seen."""
        stored = self._stored(envelope.event_id)
        if stored is not None:
            await self._publish(stored)
            return
        group_id = envelope.data.group_id
        record = self._group(group_id)
        if record.screened is None:
            log.info("placed %s parked: group %s not screened yet", envelope.event_id, group_id)
            self._groups[group_id] = record.with_parked(raw).to_bytes()
            return
        await self._publish(self._placement(envelope, record.screened, partition))

    def _placement(
        self, envelope: Envelope[Placed], screened: Screened, partition: int
    ) -> list[Outgoing]:
        stored = self._stored(envelope.event_id)
        if stored is not None:
            return stored
        placed = envelope.data
        requests: list[Envelope[Any]] = []
        providers = self._reference.legal_aid_at(placed.location)
        load = open_requests(self._load, partition, (p.id for p in providers))
        try:
            legal_aid = legal_aid_for_placement(placed, screened, providers, load)
        except NoProviderError as exc:
            log.error("placed %s: no legal-aid request: %s", envelope.event_id, exc)
        else:
            count_issued(self._load, partition, legal_aid.provider_id)
            requests.append(self._wrap(legal_aid, envelope))
        try:
            health = self._reference.health_at(placed.location)
            care = care_requests_for_placement(placed, screened, health)
        except NoProviderError as exc:
            log.error("placed %s: no care request: %s", envelope.event_id, exc)
            care = []
        requests += [self._wrap(request, envelope, request.case_id) for request in care]
        outgoing = [Outgoing(e.event_type, encode(e)) for e in requests]
        self._remember(envelope.event_id, outgoing)
        return outgoing

    def _referral(self, envelope: Envelope[Screened], partition: int) -> list[Outgoing]:
        try:
            crossing = self._reference.crossing(envelope.crossing or "")
        except KeyError:
            log.error("screened %s: unknown crossing, no referral request", envelope.event_id)
            return []
        providers = self._reference.legal_aid_at(crossing.location)
        load = open_requests(self._load, partition, (p.id for p in providers))
        try:
            request = legal_aid_for_referral(
                envelope.data, providers, load, envelope.occurred_at, crossing=crossing
            )
        except NoProviderError as exc:
            log.error("screened %s: no referral request: %s", envelope.event_id, exc)
            return []
        if request is None:
            return []
        count_issued(self._load, partition, request.provider_id)
        wrapped = self._wrap(request, envelope)
        return [Outgoing(wrapped.event_type, encode(wrapped))]

    def _wrap(
        self, data: LegalAidRequested | CareRequested, cause: Envelope[Any], *parts: str
    ) -> Envelope[Any]:
        return make_envelope(
            data,
            event_id=request_event_id(data.EVENT_TYPE, cause.event_id, *parts),
            producer=self._producer,
            correlation_id=data.group_id,
            causation_id=cause.event_id,
            crossing=cause.crossing,
            occurred_at=self._clock(),
        )

    def _group(self, group_id: str) -> GroupRecord:
        raw = self._groups.get(group_id)
        return GroupRecord.model_validate_json(raw) if raw is not None else GroupRecord()

    def _stored(self, cause_id: str) -> list[Outgoing] | None:
        raw = self._issued.get(cause_id)
        if raw is None:
            return None
        record = IssuedRecord.model_validate_json(raw)
        return [Outgoing(r.topic, r.value.encode()) for r in record.requests]

    def _remember(self, cause_id: str, outgoing: Sequence[Outgoing]) -> None:
        requests = [IssuedRequest(topic=o.topic, value=o.value.decode()) for o in outgoing]
        self._issued[cause_id] = IssuedRecord(requests=requests).to_bytes()
