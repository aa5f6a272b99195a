"""The wiring of legal-aid progress: the clock ticks, capacity copies and report routes.

- :func:`wire_ticks`: a timer sends a tick to `notify-clock` for each partition whose
  inputs the decisions agent has read to their end (as screening does, ADR 9), and the
  in-memory deadline index is dropped on a rebalance;
- :func:`on_clock`: the decisions agent's handling of a `notify-clock` record (returns
  what it causes, to send);
- :func:`wire_capacity`: `notify-capacity` copies each `provider-capacity-changed` to
  every partition of `notify-clock`;
- :func:`wire_reports`: `POST /v1/requests/{event_id}/status` and `/notify/requests`.

See docs/adr/0017-legal-aid-progress.md.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from typing import Any

import faust
from faust.web import Request, Response, View

from schemas.codec import EventValidationError, decode
from schemas.envelope import Envelope
from schemas.requests import ProviderCapacityChanged, RequestStatusReported
from services.notify.directory import PartnerDirectory
from services.notify.handlers import Outgoing
from services.notify.keeper import ProgressKeeper
from services.notify.ops import requests_page
from services.notify.reports_http import register_report_routes
from services.notify.topics import Topics
from services.notify.tracker import RequestTracker
from services.runtime.consume import Handled, InvalidEvent, consume
from services.runtime.context import Runtime
from services.runtime.faust_app import is_ready
from services.runtime.ordered import SettlementWindow, read_to_end

CLOCK = "notify-clock"
DECISION_INPUTS = ("screened", "placed", "placement-withdrawn", "request-status-reported")


def wire_ticks(
    app: faust.App,
    runtime: Runtime,
    topics: Topics,
    tracker: RequestTracker,
    window: SettlementWindow[Any],
    interval: float,
) -> None:
    """Tick every `interval` seconds for the partitions the decisions agent (reading
    through `window`) has read to their end."""
    inputs = {runtime.settings.topic(name) for name in DECISION_INPUTS}

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def forget_deadlines(sender: Any, *args: Any, signal: Any, **kwargs: Any) -> None:
        tracker.forget()  # rebuilt from the `requests` table partition by partition

    @app.timer(interval=interval)  # type: ignore[untyped-decorator]
    async def send_ticks() -> None:
        # A tick stands for "every input written by now has been read": it is sent only
        # for partitions whose inputs are read to their end, so that a backlog (a
        # restart) is applied before the deadlines it may meet (a late acceptance).
        if not is_ready(app):
            return
        assigned = [tp for tp in app.consumer.assignment() if tp.topic in inputs]
        behind = {tp.partition for tp in assigned if not read_to_end(app, window, tp)}
        now = json.dumps({"tick": datetime.now(UTC).isoformat()}).encode()
        for partition in sorted({tp.partition for tp in assigned} - behind):
            await topics.send_to_partition(CLOCK, now, partition)


def on_clock(keeper: ProgressKeeper, message: Any) -> list[Outgoing]:
    """A tick (deadlines) or a capacity change copied to this partition; returns what
    it causes, to send. Raises `InvalidEvent` for a record it cannot read."""
    try:
        document = json.loads(message.value)
        if "tick" in document:
            now = datetime.fromisoformat(document["tick"])
            tick_id = f"tick {message.partition} {document['tick']}"
            return keeper.on_tick(message.partition, now, tick_id)
        change = decode(document["capacity"].encode(), ProviderCapacityChanged)
        keeper.on_capacity(change.data, message.partition)
    except (ValueError, KeyError, TypeError, AttributeError, EventValidationError):
        raise InvalidEvent("UNREADABLE_CLOCK_RECORD") from None
    return []


def wire_capacity(app: faust.App, runtime: Runtime, topics: Topics) -> None:
    async def check(message: Any) -> Handled[bytes]:
        try:
            change = decode(message.value, ProviderCapacityChanged)
        except EventValidationError:
            raise InvalidEvent("INVALID_EVENT") from None
        copy = json.dumps({"capacity": message.value.decode()}).encode()
        return Handled(crossing=change.crossing, outgoing=[copy])

    async def copy_to_every_partition(copies: Sequence[bytes]) -> Sequence[Awaitable[object]]:
        # On the broker, in every partition, before the event is acked.
        return [
            await topics.send_to_partition(CLOCK, copy, partition)
            for copy in copies
            for partition in range(runtime.topology.lane_partitions)
        ]

    consume(
        app,
        runtime,
        topics.reading("provider-capacity-changed"),
        check,
        send=copy_to_every_partition,
        service="notify",
        step="copy",
        name="notify-capacity",
    )


def wire_reports(
    app: faust.App,
    topics: Topics,
    tracker: RequestTracker,
    directory: PartnerDirectory,
    producer: str,
) -> None:
    async def submit(envelope: Envelope[RequestStatusReported]) -> None:
        sent = await topics.send_event("request-status-reported", envelope)
        await sent  # acknowledged by the broker before the partner hears 202

    register_report_routes(app, tracker, directory, submit, producer)

    @app.page("/notify/requests")
    async def open_requests(self: View, request: Request) -> Response:
        return self.json(requests_page(tracker.all_tracked(), datetime.now(UTC)))
