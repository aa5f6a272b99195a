"""Notify's topics: each made once, every event sent through one route.

A faust topic object is made per contract topic (or per set of topics one agent
reads) the first time it is asked for and reused after, so that an agent's source and
the sends to the same topic cannot disagree on its layout. Every event notify writes
goes through :meth:`Topics.send`: routed by the runtime's crossing partitioner from the
envelope's own `correlation_id`, `crossing` and `data.location`, whether it was just
made (receipts, reports) or is stored bytes sent again (requests, updates); only the
clock copies, which go to every partition on purpose, bypass the route.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Any

import faust

from schemas.codec import encode
from schemas.envelope import Envelope
from services.runtime import instrument, telemetry
from services.runtime.context import Runtime

Sent = Awaitable[Any]
"""Completes once the broker acknowledged the record."""


class Topics:
    """Notify's contract topics by logical name (docs/CONTRACT.md, infra/topics.toml)."""

    def __init__(self, app: faust.App, runtime: Runtime, service: str = "notify") -> None:
        self._app = app
        self._runtime = runtime
        self._service = service
        self._made: dict[tuple[str, ...], faust.TopicT] = {}

    def reading(self, *names: str) -> faust.TopicT:
        """One faust topic over `names` (one agent reads them all, same partitions)."""
        key = tuple(names)
        made = self._made.get(key)
        if made is None:
            layouts = {self._runtime.topology.topics[name].partitions for name in names}
            if len(layouts) != 1:
                raise ValueError(f"{names} do not share one partition count: {layouts}")
            made = self._made[key] = self._app.topic(
                *(self._runtime.settings.topic(name) for name in names),
                key_type=bytes,
                value_type=bytes,
                partitions=layouts.pop(),
                internal=False,
            )
        return made

    def named(self, topic: str) -> str:
        """The logical name of physical topic `topic`."""
        return topic.removeprefix(self._runtime.settings.topic_prefix)

    async def send(self, name: str, value: bytes, trace: str | None) -> Sent:
        """Send the encoded envelope `value` to `name`, routed by its crossing, continuing
        the trace `trace` (the traceparent of the span that decided it: a batch is sent
        from a task of its own, whose context belongs to none of its events)."""
        document = json.loads(value)
        crossing = document["crossing"]
        data = document["data"]
        location = data.get("location") if isinstance(data, dict) else None
        route = self._runtime.router.route(name, document["correlation_id"], crossing, location)
        instrument.produced(self._service, name, crossing)
        sent: Sent = await self.reading(name).send(
            key=route.key,
            value=value,
            partition=route.partition,
            headers=telemetry.continuing(trace),
        )
        return sent

    async def send_event(self, name: str, envelope: Envelope[Any]) -> Sent:
        """Send `envelope`, made in the current span, to `name`."""
        return await self.send(name, encode(envelope), telemetry.current_traceparent())

    async def send_to_partition(self, name: str, value: bytes, partition: int) -> Sent:
        """Send `value` (not an event: a clock record) to one partition of `name`."""
        sent: Sent = await self.reading(name).send(value=value, partition=partition)
        return sent
