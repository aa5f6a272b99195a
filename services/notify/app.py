"""Notify's wiring: decisions become requests, requests become signed webhooks.

Four agents, each the only writer of its tables (docs/adr/0006-notify-delivery.md):

- `notify-decisions` reads `screened`, `placed`, `placement-withdrawn` and partners'
  `request-status-reported` (same key, same lane, so the same partition and worker), and
  the internal `notify-clock` (ticks, capacity changes); it issues `legal-aid-requested`
  / `care-requested` / `request-updated` through :class:`RequestIssuer` and
  `legal-aid-updated` and reassignments through :class:`ProgressKeeper`; tables
  `groups`, `issued`, `load`, `requests`, `capacity`
  (docs/adr/0017-legal-aid-progress.md).
- `notify-capacity` copies each `provider-capacity-changed` to every partition of
  `notify-clock`, so that each partition applies it in its own order.
- `notify-deliveries` reads those events back and hands them to the partners' lanes
  through :class:`Dispatcher`. Its stream does not ack by itself: each event is acked,
  in offset order, once all its deliveries are settled, so a committed offset never
  passes an unsettled delivery.
- `notify-receipts` reads `notification-delivered` into the table `delivered`, so that
  an event re-read after a crash is not delivered again to a partner that has it; each
  entry is kept `RETURNS_NOTIFY_MEMORY_DAYS` (receipts.py).

How an input travels: the decisions agent hands each record to the issuer or the
keeper, which write the tables and *return* the events it causes (`Outgoing`); the
agent hands those to the publisher, which returns a future of their sending, and the
settler (settling.py) acks the record once it completes. The deliveries agent does the
same with each request's deliveries, whose tickets carry their receipts being written.
The tables are declared in tables.py, the topics made and routed in topics.py.

Delivery settings come from the environment: see :mod:`services.notify.config`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Sequence
from typing import Any, Never

import faust
import httpx
from faust.web import Request, Response, View

from schemas.codec import EventValidationError, decode
from schemas.decisions import Placed, PlacementWithdrawn, Screened
from schemas.envelope import Envelope, utc_now
from schemas.requests import NotificationDelivered, RequestStatusReported
from services.notify.config import NotifyConfig
from services.notify.delivery import Deliverer, OutcomeCallback
from services.notify.directory import PartnerDirectory
from services.notify.dispatch import Dispatcher, Receipt
from services.notify.handlers import Outgoing, RequestIssuer
from services.notify.keeper import ProgressKeeper
from services.notify.memory import Memory
from services.notify.partners import PartnerConfigError, PartnerSubscription
from services.notify.progress_wiring import (
    CLOCK,
    DECISION_INPUTS,
    on_clock,
    wire_capacity,
    wire_reports,
    wire_ticks,
)
from services.notify.publisher import BatchedPublisher
from services.notify.receipts import Receipts
from services.notify.settling import Settler, stopper
from services.notify.tables import flush_changelogs, open_tables
from services.notify.topics import Topics
from services.notify.tracker import RequestTracker
from services.runtime.consume import Handled, InvalidEvent, consume
from services.runtime.context import Runtime
from services.runtime.faust_app import create_app, identity, register_health, scratch_dir
from services.runtime.identity import ServiceIdentity
from services.runtime.ordered import ordered_acks
from services.runtime.settings import ConfigurationError

log = logging.getLogger(__name__)
SERVICE = "notify"
REQUESTS = ("legal-aid-requested", "care-requested", "request-updated")


def build_app(
    runtime: Runtime,
    config: NotifyConfig | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    declare: bool = True,
) -> faust.App:
    """Notify's faust app, its changelog topics created first (unless not `declare`);
    `transport` replaces the network in component tests."""
    config = config or NotifyConfig.from_env()
    known = {location.code for location in runtime.reference.locations}
    partners = config.subscriptions(known)
    try:
        directory = config.directory(known)
    except PartnerConfigError as exc:
        raise ConfigurationError(str(exc)) from None
    me = identity(SERVICE, runtime)
    app = _app(runtime, config)
    topics = Topics(app, runtime, SERVICE)
    tables = open_tables(app, runtime, me, declare=declare)
    memory = Memory(tables, config.memory, indexes_at=scratch_dir(app, "due"))
    app.on_partitions_revoked.connect(memory.on_rebalance)  # type: ignore[arg-type]
    issuer = RequestIssuer(
        runtime.reference,
        groups=memory.groups,
        issued=memory.issued,
        load=tables.load,
        producer=me.producer,
        tracker=RequestTracker(tables.requests, tables.capacity, retain=config.retain),
        policy=config.policy,
        memory=memory,
    )
    keeper = ProgressKeeper(
        issuer, runtime.reference, serves=directory.serves, policy=config.policy
    )
    _wire_decisions(app, runtime, topics, issuer, keeper, config)
    wire_capacity(app, runtime, topics)
    wire_reports(app, topics, issuer.tracker, directory, me.producer)
    receipts = Receipts(tables, config.memory, indexes_at=scratch_dir(app, "due"))
    app.on_partitions_revoked.connect(receipts.on_rebalance)  # type: ignore[arg-type]
    dispatcher = _dispatcher(app, topics, config, partners, receipts, transport, directory, me)
    _wire_deliveries(app, runtime, topics, dispatcher, config)
    _wire_receipts(app, runtime, topics, receipts)
    if not partners:
        log.warning("RETURNS_PARTNERS_FILE is not set: requests are published, not webhooked")
    register_health(app, runtime)
    return app


def _app(runtime: Runtime, config: NotifyConfig) -> faust.App:
    # Offsets are committed for settled events only, so nothing is gained by waiting for
    # unsettled ones on a rebalance or a stop, and a dead partner would stall both.
    overrides: dict[str, Any] = {"stream_wait_empty": False}
    if config.session_timeout is not None:
        overrides["broker_session_timeout"] = config.session_timeout
        overrides["broker_heartbeat_interval"] = min(3.0, config.session_timeout / 3)
    return create_app(SERVICE, runtime, **overrides)


def _publisher(app: faust.App, topics: Topics) -> BatchedPublisher[Outgoing]:
    """Sends what the decisions agent hands over, its table writes flushed first."""

    async def send(item: Outgoing) -> Any:
        return await topics.send(item.topic, item.value, item.trace)

    # The stored requests reach the changelog before any is sent: see publisher.py.
    publisher: BatchedPublisher[Outgoing] = BatchedPublisher(lambda: flush_changelogs(app), send)

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def stop_publisher(sender: Any, *args: Any, signal: Any, **kwargs: Any) -> None:
        await publisher.stop()

    return publisher


def _wire_decisions(
    app: faust.App,
    runtime: Runtime,
    topics: Topics,
    issuer: RequestIssuer,
    keeper: ProgressKeeper,
    config: NotifyConfig,
) -> None:
    publisher = _publisher(app, topics)
    # An event is acked (in offset order) once its requests are sent; if they cannot
    # be, it never is, and the worker stops so that a restart re-reads it.
    settler = Settler(ordered_acks(app), stopper(app, "requests could not be sent"))

    async def issue(message: Any) -> Handled[Outgoing]:
        if topics.named(message.topic) == CLOCK:
            return Handled(outgoing=on_clock(keeper, message))
        crossing, outgoing = _issue(issuer, keeper, topics, message)
        return Handled(crossing=crossing, outgoing=outgoing)

    async def publish(outgoing: Sequence[Outgoing]) -> Sequence[Awaitable[object]]:
        return [await publisher.publish(outgoing)]

    consume(
        app,
        runtime,
        topics.reading(*DECISION_INPUTS, CLOCK),
        issue,
        send=publish,
        settler=settler,  # acked in offset order once its requests are sent
        service=SERVICE,
        step="issue",
        name="notify-decisions",
        unobserved=(CLOCK,),
    )

    wire_ticks(app, runtime, topics, issuer.tracker, settler.window, config.tick_seconds)


def _issue(
    issuer: RequestIssuer, keeper: ProgressKeeper, topics: Topics, message: Any
) -> tuple[str | None, list[Outgoing]]:
    """Hand one decision to the issuer, or one report to the keeper; returns its crossing
    and what it causes, to send."""
    name = topics.named(message.topic)
    try:
        if name == "request-status-reported":
            report = decode(message.value, RequestStatusReported)
            return report.crossing, keeper.on_report(report, message.partition).outgoing
        if name == "screened":
            screened = decode(message.value, Screened)
            return screened.crossing, issuer.on_screened(screened, message.partition)
        if name == "placement-withdrawn":
            withdrawal = decode(message.value, PlacementWithdrawn)
            return withdrawal.crossing, issuer.on_withdrawn(withdrawal, message.partition)
        placed = decode(message.value, Placed)
        return placed.crossing, issuer.on_placed(placed, message.value, message.partition)
    except EventValidationError:
        raise InvalidEvent("INVALID_EVENT") from None


def _dispatcher(
    app: faust.App,
    topics: Topics,
    config: NotifyConfig,
    partners: list[PartnerSubscription],
    receipts: Receipts,
    transport: httpx.AsyncBaseTransport | None,
    directory: PartnerDirectory,
    me: ServiceIdentity,
) -> Dispatcher[Any]:
    async def record_receipt(envelope: Envelope[Any]) -> Receipt:
        return await topics.send_event(envelope.event_type, envelope)  # acked by the broker

    def deliverer(on_outcome: OutcomeCallback[Receipt]) -> Deliverer[Receipt]:
        return Deliverer(
            partners,
            on_outcome,
            transport=transport,
            timeouts=config.timeouts,
            backoff=config.backoff,
            secret_of=directory.secret_of,
        )

    settler: Settler[Any] = Settler(
        ordered_acks(app), stopper(app, "a delivery receipt could not be written")
    )
    return Dispatcher(
        deliverer,
        partners,
        settler=settler,
        delivered=receipts.delivered,
        record_receipt=record_receipt,
        producer=me.producer,
        retention=receipts.retention,
    )


def _wire_deliveries(
    app: faust.App,
    runtime: Runtime,
    topics: Topics,
    dispatcher: Dispatcher[Any],
    config: NotifyConfig,
) -> None:
    async def deliver(message: Any) -> Handled[Never]:
        return Handled(pending=await dispatcher.take(message.value))

    consume(
        app,
        runtime,
        topics.reading(*REQUESTS),
        deliver,
        settler=dispatcher.settler,  # acked in order, once their deliveries settle
        service=SERVICE,
        step="deliver",
        name="notify-deliveries",
        on_start=dispatcher.start,
    )

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def drain(sender: Any, *args: Any, signal: Any, **kwargs: Any) -> None:
        await dispatcher.stop(config.drain_seconds)

    @app.page("/notify/deliveries")
    async def deliveries(self: View, request: Request) -> Response:
        return self.json(dispatcher.status())


def _wire_receipts(app: faust.App, runtime: Runtime, topics: Topics, receipts: Receipts) -> None:
    async def remember(message: Any) -> Handled[Never]:
        try:
            receipt = decode(message.value, NotificationDelivered)
        except EventValidationError:
            raise InvalidEvent("INVALID_EVENT") from None
        receipts.remember(receipt, message.partition, utc_now())
        return Handled(crossing=receipt.crossing)

    consume(
        app,
        runtime,
        topics.reading("notification-delivered"),
        remember,
        service=SERVICE,
        step="remember",
        name="notify-receipts",
    )
