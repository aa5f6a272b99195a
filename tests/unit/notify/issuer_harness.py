"""A `RequestIssuer` on dicts, and the envelopes its tests feed it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.codec import decode_any
from schemas.decisions import Placed, PlacementWithdrawn, Screened
from schemas.envelope import Envelope, event_id_for, make_envelope
from schemas.requests import ProviderCapacityChanged, RequestStatusReported
from services.notify.deadlines import DEFAULT_POLICY, DeadlinePolicy
from services.notify.handlers import Outgoing, RequestIssuer
from services.notify.keeper import ProgressKeeper
from services.notify.tracker import RequestTracker
from services.reference import load_reference
from tests.unit.notify.notify_factories import PLACED_EVENT_ID, SCREENED_EVENT_ID

PARTITION = 3
OTHER_PLACED_ID = "1c2d3e4f-5a6b-5c7d-8e9f-0a1b2c3d4e5f"
REFERENCE = load_reference()


class Notify:
    """A `RequestIssuer` on dicts (`requests`), and `issuer`: the same, its handlers
    recording what they return to be sent (`published`) and the tables stored then."""

    def __init__(
        self, policy: DeadlinePolicy = DEFAULT_POLICY, tracker: RequestTracker | None = None
    ) -> None:
        self.groups: dict[str, bytes] = {}
        self.issued: dict[str, bytes] = {}
        self.load: dict[str, bytes] = {}
        self.published: list[Outgoing] = []
        self.issued_when_published: list[set[str]] = []
        ticks = iter(datetime(2026, 11, 28, tzinfo=UTC) + timedelta(seconds=s) for s in range(99))
        self.requests = RequestIssuer(
            REFERENCE,
            groups=self.groups,
            issued=self.issued,
            load=self.load,
            producer="notify/test",
            clock=lambda: next(ticks),
            tracker=tracker,
            policy=policy,
        )
        self.issuer = Sending(self)

    def sent(self, outgoing: Sequence[Outgoing]) -> None:
        """What a handler returned, handed to the publisher as the service does."""
        self.issued_when_published.append(set(self.issued))
        self.published.extend(outgoing)

    def events(self) -> list[Envelope[Any]]:
        return [decode_any(o.value) for o in self.published]


class Sending:
    """The issuer's handlers, awaited as the agent uses them, their results sent."""

    def __init__(self, notify: Notify) -> None:
        self._notify = notify
        self._issuer = notify.requests

    async def on_screened(self, envelope: Envelope[Screened], partition: int) -> None:
        self._notify.sent(self._issuer.on_screened(envelope, partition))

    async def on_placed(self, envelope: Envelope[Placed], raw: bytes, partition: int) -> None:
        self._notify.sent(self._issuer.on_placed(envelope, raw, partition))

    async def on_withdrawn(self, envelope: Envelope[PlacementWithdrawn], partition: int) -> None:
        self._notify.sent(self._issuer.on_withdrawn(envelope, partition))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._issuer, name)


class SendingKeeper:
    """A `ProgressKeeper` whose results are sent through `notify` as the agent does."""

    def __init__(self, keeper: ProgressKeeper, notify: Notify) -> None:
        self._keeper = keeper
        self._notify = notify

    async def on_report(self, envelope: Envelope[RequestStatusReported], partition: int) -> str:
        reported = self._keeper.on_report(envelope, partition)
        self._notify.sent(reported.outgoing)
        return reported.outcome

    async def on_tick(self, partition: int, now: datetime, tick_id: str) -> None:
        self._notify.sent(self._keeper.on_tick(partition, now, tick_id))

    def on_capacity(self, change: ProviderCapacityChanged, partition: int) -> None:
        self._keeper.on_capacity(change, partition)


def screened_envelope(data: Screened, event_id: str = SCREENED_EVENT_ID) -> Envelope[Screened]:
    return make_envelope(
        data,
        event_id=event_id,
        producer="screening/test",
        correlation_id=data.group_id,
        causation_id=None,
        crossing="ELP",
        occurred_at=datetime(2026, 11, 27, 23, 0, tzinfo=UTC),
    )


def placed_envelope(data: Placed, event_id: str = PLACED_EVENT_ID) -> Envelope[Placed]:
    return make_envelope(
        data,
        event_id=event_id,
        producer="placement/test",
        correlation_id=data.group_id,
        causation_id=SCREENED_EVENT_ID,
        crossing="ELP",
    )


async def place(notify: Notify, envelope: Envelope[Placed]) -> None:
    raw = envelope.model_dump_json().encode()
    await notify.issuer.on_placed(envelope, raw, PARTITION)


def withdrawn_envelope(data: PlacementWithdrawn, event_id: str) -> Envelope[PlacementWithdrawn]:
    return make_envelope(
        data,
        event_id=event_id,
        producer="placement/test",
        correlation_id=data.group_id,
        causation_id=data.screened_event_id,
        crossing="ELP",
    )


def status_report(
    request: Envelope[Any], status: str, at: datetime, partner: str
) -> Envelope[RequestStatusReported]:
    """A partner's report of `status` on `request` at `at`, as it comes on the topic."""
    data = RequestStatusReported.model_validate(
        {
            "group_id": request.data.group_id,
            "request_event_id": request.event_id,
            "partner_id": partner,
            "status": status,
            "status_at": at,
            "reason_code": None,
        },
        strict=False,
    )
    return make_envelope(
        data,
        event_id=event_id_for("request-status-reported", request.event_id, status, str(at)),
        producer="partners/test",
        correlation_id=data.group_id,
        causation_id=request.event_id,
        crossing="ELP",
        occurred_at=at + timedelta(seconds=1),
    )
