"""The one loop every agent of every service runs: guard, observe, handle, send, ack.

    consume(app, runtime, source, take_member, service="screening", step="gather",
            name="screening-members", window=members_read)

For each event of `source`, in this order (docs/adr/0037-one-consuming-loop.md):

1. the offset guard (`ordered.admitted`) hands it over, each partition's offsets one
   after another, and it is tracked in the window at once, so that nothing after it
   can be acked before it;
2. `observed` opens its span (not for the clock ticks of `unobserved` topics);
3. `handle(message)` decodes it and runs the service's fold; it may send its own
   events where their order matters to it, and returns what it learned (`Handled`);
4. `send(outgoing)` sends the events the handler returned and gives back the sends
   the ack must wait for;
5. the ack: with no `settler`, once those sends are acknowledged and before the next
   event is read; with a `settler`, whenever they are (the loop goes on meanwhile).
   Either way acks leave in offset order per partition.

An event the handler finds unreadable raises `InvalidEvent(reason)`: the loop logs it
once (topic, partition, offset and the reason code, never its content) and counts it
in ``returns_invalid_events_total{service, topic, reason}``, then acks it. Any other
exception leaves the event, and every later one of its partition, unacked: the agent
stops and a restart reads them again. `Abandoned` (the worker is stopping) leaves it
unacked too, without stopping the loop.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

import faust
from opentelemetry.trace import INVALID_SPAN

from services.runtime import metrics
from services.runtime.context import Runtime
from services.runtime.instrument import Seen, logical_topic, observed
from services.runtime.ordered import SettlementWindow, Tracked, admitted, ordered_acks

log = logging.getLogger(__name__)
T = TypeVar("T")
_REASON = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")


class InvalidEvent(Exception):
    """The event cannot be read or applied, and never will be: it is skipped.

    `reason` is a fixed code (``INVALID_EVENT``, ``UNKNOWN_SHELTER``...), the only thing
    about the event that reaches the log and the metric: never a value from it.
    """

    def __init__(self, reason: str) -> None:
        if not _REASON.match(reason):
            raise ValueError(f"an invalid event's reason must be a code, got {len(reason)} chars")
        super().__init__(reason)
        self.reason = reason


class Abandoned(Exception):
    """The event's work was never started (the worker is stopping): it stays unacked,
    and so does every later event of its partition; a restart reads them again."""


@dataclass(frozen=True)
class Handled(Generic[T]):
    """What a handler learned about one event, for its span and metrics, and what the
    loop is to do next: send `outgoing`, then wait for `pending` (work the handler
    started itself, such as deliveries) before the event is acked."""

    crossing: str | None = None
    location: str | None = None
    returned_at: datetime | None = None
    attributes: Mapping[str, str | int | bool] = field(default_factory=dict)
    outgoing: Sequence[T] = ()
    pending: Sequence[Awaitable[object]] = ()


NOTHING: Handled[Any] = Handled()

Handler = Callable[[Any], Awaitable[Handled[T]]]
"""Reads one faust message (``.value``, ``.key``, ``.topic``, ``.partition``...)."""
Send = Callable[[Sequence[T]], Awaitable[Sequence[Awaitable[object]]]]
"""Sends a handler's `outgoing`; returns the sends the ack waits for (none: do not wait)."""


class Settles(Protocol):
    """Acks events once work done elsewhere completes (`services.notify.settling`)."""

    @property
    def window(self) -> SettlementWindow[Any]: ...

    def settle_when(self, entry: Tracked[Any], work: Sequence[Awaitable[object]]) -> None: ...


@dataclass(frozen=True)
class Loop(Generic[T]):
    """One agent's loop; `consume` builds it and registers it with faust."""

    settings: Any
    service: str
    step: str
    handle: Handler[T]
    send: Send[T] | None = None
    settler: Settles | None = None
    unobserved: Collection[str] = ()

    async def run(self, app: faust.App, stream: Any, window: SettlementWindow[Any]) -> None:
        """Every event of `stream` that the guard `window` admits, one after another."""
        async for event in admitted(app, window, stream):
            await self.one(event, window)

    async def one(self, event: Any, window: SettlementWindow[Any]) -> None:
        """One admitted faust event, from its tracking to its ack (or its hand-over to
        the settler, which acks it later)."""
        message = event.message
        # Tracked first: if handling raises, neither it nor any later event is acked.
        entry = window.track(message.tp, message.offset, event, pending=1)
        try:
            work = await self.take(message)
        except Abandoned:
            window.hold(entry)
            return
        if self.settler is not None:
            self.settler.settle_when(entry, work)
        else:
            await asyncio.gather(*work)
            window.settle(entry)

    async def take(self, message: Any) -> Sequence[Awaitable[object]]:
        """Handle and send one event; returns what its ack waits for."""
        topic = logical_topic(self.settings, message.topic)
        with self._observed(topic, message) as seen:
            try:
                handled = await self.handle(message)
            except InvalidEvent as invalid:
                seen.attributes["returns.invalid"] = invalid.reason
                skipped(self.service, topic, message, invalid.reason)
                return ()
            _learned(seen, handled)
            sent = await self._send(handled.outgoing)
            return [*sent, *handled.pending]

    async def _send(self, outgoing: Sequence[T]) -> Sequence[Awaitable[object]]:
        if not outgoing:
            return ()
        if self.send is None:
            raise TypeError(f"{self.service}.{self.step} returned events but has no send")
        return await self.send(outgoing)

    def _observed(self, topic: str, message: Any) -> AbstractContextManager[Seen]:
        if topic in self.unobserved:
            return nullcontext(Seen(INVALID_SPAN))  # a clock tick: no event, no span
        return observed(self.settings, self.service, self.step, message)


def consume(
    app: faust.App,
    runtime: Runtime,
    source: faust.TopicT,
    handle: Handler[T],
    *,
    service: str,
    step: str,
    name: str,
    send: Send[T] | None = None,
    window: SettlementWindow[Any] | None = None,
    settler: Settles | None = None,
    unobserved: Collection[str] = (),
    on_start: Callable[[], Awaitable[None]] | None = None,
) -> Loop[T]:
    """Register agent `name` reading `source` through the loop of this module.

    `window` is the offset guard to read through (pass it to ask it later how far the
    agent has read); a `settler` brings its own and acks asynchronously; by default
    the agent gets a guard of its own. `on_start` runs each time the agent starts.
    """
    if window is not None and settler is not None:
        raise ValueError("a settler brings its own window")
    loop = Loop(runtime.settings, service, step, handle, send, settler, frozenset(unobserved))

    @app.agent(source, name=name)
    async def agent(stream: faust.StreamT[bytes]) -> None:
        if on_start is not None:
            await on_start()
        guard = settler.window if settler is not None else window or ordered_acks(app)
        await loop.run(app, stream, guard)

    return loop


def skipped(service: str, topic: str, message: Any, reason: str) -> None:
    """Log and count one invalid event: where it is and why, nothing of what it holds."""
    log.warning(
        "skipping an invalid event at %s[%d]@%d: %s",
        topic,
        message.partition,
        message.offset,
        reason,
        extra={"reason_code": reason, "topic": topic},
    )
    metrics.INVALID_EVENTS.labels(service, topic, reason).inc()


def _learned(seen: Seen, handled: Handled[Any]) -> None:
    seen.crossing = handled.crossing
    seen.location = handled.location
    seen.returned_at = handled.returned_at
    seen.attributes.update(handled.attributes)
