"""From request events to partner deliveries, and from their outcomes to receipts.

:class:`Dispatcher` takes each `legal-aid-requested` / `care-requested` event notify
consumed (and each `request-updated`, for the partners subscribed to the updated
request's type), queues one delivery per subscribed partner that has not had it yet, and
has the event settled (settling.py): it is acknowledged (and so its offset may be
committed) only once every one of its deliveries is settled and its receipt is on
`notification-delivered` or `notification-failed`. Each delivery's ticket carries its
outcome and its receipt being written (`delivery.Settled`), so nothing is matched up
afterwards.

`delivered` is kept ``RETURNS_NOTIFY_MEMORY_DAYS`` (receipts.py): a request that old or
older that a matching partner has no entry for may be one whose entry was deleted, so it
is not delivered but logged, counted and acked (docs/adr/0040-retention-of-delivered.md).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from schemas.codec import EventValidationError, FieldError, decode_any
from schemas.envelope import Envelope, make_envelope, utc_now
from schemas.requests import NotificationDelivered, NotificationFailed
from services.notify.delivery import Deliverer, Outcome, OutcomeCallback, Settled
from services.notify.memory import Retention
from services.notify.partners import (
    DELIVERED_EVENT_TYPES,
    PartnerSubscription,
    matches,
    subscribed_as,
)
from services.notify.requests import request_event_id
from services.notify.settling import Settler
from services.runtime.consume import Abandoned, InvalidEvent

log = logging.getLogger(__name__)
T = TypeVar("T")

_MAX_ERROR = 1000


@dataclass(frozen=True)
class RequestRef:
    """What delivery needs to know about a request event (or a request's update): ids,
    type, the type partners subscribe to for it, crossing, location, when it happened."""

    event_id: str
    event_type: str
    group_id: str
    crossing: str | None
    location: str | None
    subscribed_as: str
    occurred_at: datetime


def read_request(raw: bytes) -> RequestRef:
    """The request or `request-updated` in `raw`; raises `EventValidationError` for
    anything else."""
    envelope = decode_any(raw)
    if envelope.event_type not in DELIVERED_EVENT_TYPES:
        got = envelope.event_type
        raise EventValidationError([FieldError("event_type", "not_a_request", f"got {got!r}")])
    return RequestRef(
        event_id=envelope.event_id,
        event_type=envelope.event_type,
        group_id=envelope.data.group_id,
        crossing=envelope.crossing,
        location=envelope.data.location,
        subscribed_as=subscribed_as(envelope.event_type, envelope.data.model_dump()),
        occurred_at=envelope.occurred_at,
    )


def delivered_key(partner_id: str, event_id: str) -> str:
    """Key of the `delivered` table: one partner has had one event."""
    return f"{partner_id} {event_id}"


def receipt_for(outcome: Outcome, producer: str, *id_parts: str) -> Envelope[Any]:
    """The `notification-delivered` or `notification-failed` event recording `outcome`.

    Its id derives from the request's id and the partner (and `id_parts`: a redelivery
    run names itself), so the receipt of a delivery repeated after a crash is recognised.
    """
    data: NotificationDelivered | NotificationFailed
    if outcome.delivered:
        data = NotificationDelivered(
            group_id=outcome.group_id,
            partner_id=outcome.partner_id,
            notified_event_id=outcome.event_id,
            notified_event_type=outcome.event_type,
            attempts=outcome.attempts,
            status_code=outcome.status_code or 200,
            delivered_at=outcome.at,
        )
    else:
        data = NotificationFailed(
            group_id=outcome.group_id,
            partner_id=outcome.partner_id,
            notified_event_id=outcome.event_id,
            notified_event_type=outcome.event_type,
            attempts=outcome.attempts,
            last_error=(outcome.last_error or "unknown error")[:_MAX_ERROR],
            failed_at=outcome.at,
        )
    return make_envelope(
        data,
        event_id=request_event_id(data.EVENT_TYPE, outcome.event_id, outcome.partner_id, *id_parts),
        producer=producer,
        correlation_id=outcome.group_id,
        causation_id=outcome.event_id,
        crossing=outcome.crossing,
        occurred_at=outcome.at,
    )


Receipt = Awaitable[Any]
"""A receipt being written: completes once it is durably on its topic."""
RecordReceipt = Callable[[Envelope[Any]], Awaitable[Receipt]]
"""Starts writing a receipt and returns it being written, so that a partner's lane goes
on to its next delivery meanwhile."""


class Dispatcher(Generic[T]):
    """Delivers request events to partners; each is acked once its deliveries settled.

    `settler` is what the consuming loop acks each event through, in offset order per
    partition, once the work it caused is done (settling.py): here, every delivery it
    needs, each with its receipt written; `delivered` answers whether a partner already
    has an event (the service's table of `notification-delivered`); `record_receipt`
    starts writing a receipt. Given a `retention` (how long `delivered` keeps an entry),
    a request that old by `clock` that a matching partner has no entry for is delivered
    to nobody.
    """

    def __init__(
        self,
        deliverer_factory: Callable[[OutcomeCallback[Receipt]], Deliverer[Receipt]],
        partners: Iterable[PartnerSubscription],
        *,
        settler: Settler[T],
        delivered: Mapping[str, bytes],
        record_receipt: RecordReceipt,
        producer: str,
        retention: Retention | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._partners = tuple(partners)
        self._deliverer = deliverer_factory(self._on_outcome)
        self._delivered = delivered
        self._record_receipt = record_receipt
        self._producer = producer
        self._retention = retention
        self._clock = clock
        self.settler = settler
        self.window = settler.window
        self._running = False

    async def start(self) -> None:
        """Start the partner lanes (again after `stop`; a no-op while running)."""
        if not self._running:
            await self._deliverer.start()
            self._running = True

    async def stop(self, grace: float) -> None:
        """Let queued deliveries settle for up to `grace` seconds, abandon the rest."""
        if self._running:
            self._running = False
            await self._deliverer.stop(drain=True, grace=grace)

    def status(self) -> dict[str, Any]:
        """Queues and unsettled offsets, for the ops page."""
        return {
            "partners": [p.partner_id for p in self._partners],
            "queued": self._deliverer.backlog() if self._running else {},
            "unacked_events": {str(k): v for k, v in self.window.waiting().items()},
            "oldest_unsettled_offset": {
                str(k): v for k, v in self.window.oldest_unsettled().items()
            },
        }

    async def take(self, raw: bytes) -> list[Awaitable[None]]:
        """Queue the deliveries of the request event `raw`; returns them, each done once
        settled and its receipt written (`settler` acks the event then). Waits while a
        partner's queue is full (the only way one partner can slow the others: see the
        ADR). Raises `InvalidEvent` for a record that is not a request, `Abandoned` once
        stopped."""
        try:
            request = read_request(raw)
        except EventValidationError:
            raise InvalidEvent("NOT_A_REQUEST") from None
        targets = [
            p
            for p in self._partners
            if matches(p, request.subscribed_as, request.location)
            and delivered_key(p.partner_id, request.event_id) not in self._delivered
        ]
        if targets and self._beyond_memory(request):
            return []
        tickets = []
        for partner in targets:
            try:
                tickets.append(
                    await self._deliverer.submit(
                        partner,
                        request.event_id,
                        request.event_type,
                        request.group_id,
                        raw,
                        crossing=request.crossing,
                    )
                )
            except RuntimeError as exc:  # stopped: this event stays unacked
                log.warning("event %s not queued: %s", request.event_id, exc)
                raise Abandoned from None
        return [_receipt_written(ticket) for ticket in tickets]

    def _beyond_memory(self, request: RequestRef) -> bool:
        """Whether `request` is too old to tell a partner that never had it from one whose
        receipt was forgotten; logged and counted when it is."""
        return self._retention is not None and self._retention.refuses(
            request.event_type, request.event_id, request.occurred_at, self._clock(), "delivered"
        )

    async def _on_outcome(self, outcome: Outcome) -> Receipt:
        return await self._record_receipt(receipt_for(outcome, self._producer))


async def _receipt_written(ticket: Awaitable[Settled[Receipt]]) -> None:
    """A delivery settled: its outcome known, then its receipt durably written."""
    settled = await ticket
    await settled.recorded
