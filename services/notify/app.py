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
  an event re-read after a crash is not delivered again to a partner that has it.

Delivery settings come from the environment: see :mod:`services.notify.config`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import faust
import httpx
from faust.web import Request, Response, View

from schemas.codec import EventValidationError, decode
from schemas.decisions import Placed, PlacementWithdrawn, Screened
from schemas.envelope import Envelope
from schemas.requests import NotificationDelivered, RequestStatusReported
from services.notify.config import NotifyConfig
from services.notify.delivery import Deliverer, Outcome
from services.notify.directory import PartnerDirectory
from services.notify.dispatch import Dispatcher, delivered_key
from services.notify.handlers import Outgoing, RequestIssuer
from services.notify.keeper import ProgressKeeper
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
from services.notify.streams import (
    contract_topics,
    declare_changelogs,
    flush_changelogs,
    send_raw,
)
from services.notify.tracker import RequestTracker
from services.runtime import instrument
from services.runtime.context import Runtime
from services.runtime.faust_app import (
    contract_topic,
    create_app,
    producer_name,
    register_health,
    send_event,
)
from services.runtime.ordered import Tracked, admitted, contiguous, ordered_acks
from services.runtime.settings import ConfigurationError

log = logging.getLogger(__name__)
PRODUCER = producer_name("notify")
UPDATED = "legal-aid-updated"
REQUESTS = ("legal-aid-requested", "care-requested", "request-updated")
TABLES = ("groups", "issued", "load", "delivered", "requests", "capacity")


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
    app = _app(runtime, config)
    tables = {
        name: app.Table(
            name, key_type=str, value_type=bytes, partitions=runtime.topology.lane_partitions
        )
        for name in TABLES
    }
    if declare:
        declare_changelogs(app, runtime, TABLES)
    issuer, handed = _issuer(app, runtime, tables, config)
    keeper = ProgressKeeper(
        issuer, runtime.reference, serves=directory.serves, policy=config.policy
    )
    _wire_decisions(app, runtime, issuer, keeper, handed, config)
    wire_capacity(app, runtime)
    wire_reports(app, runtime, issuer.tracker, directory, PRODUCER)
    dispatcher = _dispatcher(
        app, runtime, config, partners, tables["delivered"], transport, directory
    )
    _wire_deliveries(app, runtime, dispatcher, config)
    _wire_receipts(app, runtime, tables["delivered"])
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
    return create_app("notify", runtime, **overrides)


def _issuer(
    app: faust.App, runtime: Runtime, tables: dict[str, Any], config: NotifyConfig
) -> tuple[RequestIssuer, list[asyncio.Future[None]]]:
    """The issuer, and the list where each of its hand-overs to the publisher is put."""
    outputs = {name: contract_topic(app, runtime, name) for name in (*REQUESTS, UPDATED)}

    async def send(item: Outgoing) -> None:
        await send_raw(outputs[item.topic], item.topic, runtime, item.value, item.trace)

    # The stored requests reach the changelog before any is sent: see publisher.py.
    publisher: BatchedPublisher[Outgoing] = BatchedPublisher(lambda: flush_changelogs(app), send)
    handed: list[asyncio.Future[None]] = []

    async def publish(outgoing: Sequence[Outgoing]) -> None:
        if outgoing:
            handed.append(await publisher.publish(outgoing))

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def stop_publisher(sender: Any, *args: Any, signal: Any, **kwargs: Any) -> None:
        await publisher.stop()

    issuer = RequestIssuer(
        runtime.reference,
        groups=tables["groups"],
        issued=tables["issued"],
        load=tables["load"],
        publish=publish,
        producer=PRODUCER,
        tracker=RequestTracker(tables["requests"], tables["capacity"]),
        policy=config.policy,
    )
    return issuer, handed


def _wire_decisions(
    app: faust.App,
    runtime: Runtime,
    issuer: RequestIssuer,
    keeper: ProgressKeeper,
    handed: list[asyncio.Future[None]],
    config: NotifyConfig,
) -> None:
    source = contract_topics(app, runtime, *DECISION_INPUTS, CLOCK)
    clock = contract_topic(app, runtime, CLOCK)
    window = ordered_acks(app)
    crashing: set[asyncio.Future[Any]] = set()

    def acked_once_sent(entry: Tracked[Any], sends: list[asyncio.Future[None]]) -> None:
        # The event is acked (in offset order) once its requests are sent; if they
        # cannot be, it never is, and the worker stops so that a restart re-reads it.
        def sent(all_sent: asyncio.Future[list[None]]) -> None:
            if all_sent.cancelled():  # the worker is stopping: the event stays unacked
                return
            failed = all_sent.exception()
            if failed is None:
                window.settle(entry)
                return
            window.hold(entry)
            if not crashing:
                log.error("requests could not be sent (%s): stopping", type(failed).__name__)
                crashing.add(asyncio.ensure_future(app.crash(failed)))

        if not sends:
            window.settle(entry)
            return
        asyncio.gather(*sends).add_done_callback(sent)

    @app.agent(source, name="notify-decisions")
    async def issue_requests(stream: faust.StreamT[bytes]) -> None:
        async for event in admitted(app, window, stream):  # acked in offset order
            message = event.message
            # Tracked first: if handling raises, the event is never acked (nor any after it).
            entry = window.track(message.tp, message.offset, event, pending=1)
            if message.topic == clock.get_topic_name():
                await on_clock(keeper, message)
            else:
                with instrument.observed(runtime.settings, "notify", "issue", message) as seen:
                    seen.crossing = await _issue(issuer, keeper, runtime, message)
            sends = list(handed)
            handed.clear()
            acked_once_sent(entry, sends)

    wire_ticks(app, runtime, issuer.tracker, window, config.tick_seconds)


async def _issue(
    issuer: RequestIssuer, keeper: ProgressKeeper, runtime: Runtime, message: Any
) -> str | None:
    """Hand one decision to the issuer, or one report to the keeper; returns its crossing
    (None when unreadable)."""
    try:
        if message.topic == runtime.settings.topic("request-status-reported"):
            report = decode(message.value, RequestStatusReported)
            await keeper.on_report(report, message.partition)
            return report.crossing
        if message.topic == runtime.settings.topic("screened"):
            screened = decode(message.value, Screened)
            await issuer.on_screened(screened, message.partition)
            return screened.crossing
        if message.topic == runtime.settings.topic("placement-withdrawn"):
            withdrawal = decode(message.value, PlacementWithdrawn)
            await issuer.on_withdrawn(withdrawal, message.partition)
            return withdrawal.crossing
        placed = decode(message.value, Placed)
        await issuer.on_placed(placed, message.value, message.partition)
        return placed.crossing
    except EventValidationError as exc:
        log.error(
            "skipping an invalid event at %s[%d]@%d: %d problem(s)",
            message.topic,
            message.partition,
            message.offset,
            len(exc.errors),
        )
        return None


def _dispatcher(
    app: faust.App,
    runtime: Runtime,
    config: NotifyConfig,
    partners: list[PartnerSubscription],
    delivered: Any,
    transport: httpx.AsyncBaseTransport | None,
    directory: PartnerDirectory,
) -> Dispatcher[Any]:
    receipts = ("notification-delivered", "notification-failed")
    outputs = {name: contract_topic(app, runtime, name) for name in receipts}

    async def record_receipt(envelope: Envelope[Any]) -> Any:
        name = envelope.event_type
        return await send_event(outputs[name], name, runtime, envelope)  # acked by the broker

    crashing: set[asyncio.Future[Any]] = set()

    def on_stuck(error: BaseException) -> None:
        log.error("a delivery receipt could not be written (%s): stopping", type(error).__name__)
        crash = asyncio.ensure_future(app.crash(error))
        crashing.add(crash)
        crash.add_done_callback(crashing.discard)

    def deliverer(on_outcome: Callable[[Outcome], Awaitable[None]]) -> Deliverer:
        return Deliverer(
            partners,
            on_outcome,
            transport=transport,
            timeouts=config.timeouts,
            backoff=config.backoff,
            secret_of=directory.secret_of,
        )

    return Dispatcher(
        deliverer,
        partners,
        window=ordered_acks(app),
        delivered=delivered,
        record_receipt=record_receipt,
        on_stuck=on_stuck,
        producer=PRODUCER,
    )


def _wire_deliveries(
    app: faust.App, runtime: Runtime, dispatcher: Dispatcher[Any], config: NotifyConfig
) -> None:
    source = contract_topics(app, runtime, *REQUESTS)

    @app.agent(source, name="notify-deliveries")
    async def deliver(stream: faust.StreamT[bytes]) -> None:
        await dispatcher.start()
        # Acked by the dispatcher's window, in order, once their deliveries settle.
        async for event in admitted(app, dispatcher.window, stream):
            message = event.message
            with instrument.observed(runtime.settings, "notify", "deliver", message):
                await dispatcher.take(message.tp, message.offset, event, message.value)

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def drain(sender: Any, *args: Any, signal: Any, **kwargs: Any) -> None:
        await dispatcher.stop(config.drain_seconds)

    @app.page("/notify/deliveries")
    async def deliveries(self: View, request: Request) -> Response:
        return self.json(dispatcher.status())


def _wire_receipts(app: faust.App, runtime: Runtime, delivered: Any) -> None:
    source = contract_topic(app, runtime, "notification-delivered")

    @app.agent(source, name="notify-receipts")
    async def remember_receipts(stream: faust.StreamT[bytes]) -> None:
        async for event in contiguous(app, stream):
            try:
                receipt = decode(event.message.value, NotificationDelivered)
            except EventValidationError:
                log.error("skipping an invalid notification-delivered event")
                continue
            key = delivered_key(receipt.data.partner_id, receipt.data.notified_event_id)
            delivered[key] = receipt.event_id.encode()
