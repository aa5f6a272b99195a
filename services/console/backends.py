"""What the console talks to: placement's and notify's HTTP pages, and the broker.

Each call has a short timeout and answers None when the other side does not answer,
so a page degrades to a notice instead of failing. Publishing goes through the shared
kafka-python producer (the crossing partitioner, idempotent, ``acks=all``) in a
worker thread, and waits for the broker's acknowledgement before it reports success.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from services.console.actions import Outgoing
from services.runtime.access_log import PRINCIPAL_HEADER
from services.runtime.context import Runtime
from services.runtime.publishing import EventProducer

HTTP_TIMEOUT_S = 3.0
PUBLISH_TIMEOUT_S = 10.0


class Pages:
    """GETs of the services' JSON pages."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def json(self, url: str, principal: str | None = None) -> tuple[int, Any] | None:
        """The status and body of ``url``, or None when it cannot be reached or read.

        ``principal`` names the logged-in user to services that record who read what.
        """
        timeout = aiohttp.ClientTimeout(total=HTTP_TIMEOUT_S)
        headers = {PRINCIPAL_HEADER: principal} if principal else {}
        try:
            async with self.session.get(url, timeout=timeout, headers=headers) as response:
                if response.content_type != "application/json":
                    return response.status, None
                return response.status, await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return None

    async def ok_json(self, url: str, principal: str | None = None) -> Any | None:
        answer = await self.json(url, principal)
        if answer is None or answer[0] != 200:
            return None
        return answer[1]


class Publisher:
    """Publishes the events officials make; connects when first needed, not at import."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._producer: EventProducer | None = None

    def connect(self) -> None:
        if self._producer is None:
            self._producer = EventProducer(self.runtime.router, client_id="returns-console")

    @property
    def connected(self) -> bool:
        return self._producer is not None

    async def publish(self, outgoing: Outgoing) -> None:
        """Send and wait for the broker's acknowledgement; raises when it does not come."""
        await asyncio.to_thread(self._publish_blocking, outgoing)

    def _publish_blocking(self, outgoing: Outgoing) -> None:
        self.connect()
        assert self._producer is not None
        future = self._producer.publish(outgoing.topic, outgoing.envelope)
        future.get(timeout=PUBLISH_TIMEOUT_S)

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close()
            self._producer = None
