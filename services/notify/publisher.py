"""Requests are sent only once their stored copies are on the changelog: one flush a batch.

The issuer stores every request it issues in the `issued` table before publishing it
(handlers.py), and the table write must reach the broker first: a crash between the two
would otherwise let a replay choose again on a different load. Flushing before each
event's requests costs one broker round trip per event, in the agent's own loop. Here
the agent hands the requests over and goes on to the next event; one task takes
everything handed over meanwhile, flushes the table writes once, and sends it all in
order. Each hand-over returns a future that completes once its requests are sent, and
the agent acks the event only then (docs/adr/0006-notify-delivery.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
QUEUE_SIZE = 500  # hand-overs waiting for a flush before the agent waits too


class BatchedPublisher(Generic[T]):
    """`flush` once, then `send` each item, for every batch of hand-overs, in order."""

    def __init__(
        self,
        flush: Callable[[], Awaitable[None]],
        send: Callable[[T], Awaitable[object]],
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        self._flush = flush
        self._send = send
        self._queue: asyncio.Queue[tuple[Sequence[T], asyncio.Future[None]]] = asyncio.Queue(
            queue_size
        )
        self._task: asyncio.Task[None] | None = None
        self.batches = 0

    async def publish(self, items: Sequence[T]) -> asyncio.Future[None]:
        """Hand `items` over; the future completes once they are sent (or fails)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not items:
            done.set_result(None)
            return done
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())
        await self._queue.put((items, done))
        return done

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._flush()
                self.batches += 1
                for items, done in batch:
                    for item in items:
                        await self._send(item)
                    done.set_result(None)
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                self._fail_queued(exc)

    def _fail_queued(self, exc: Exception) -> None:
        while not self._queue.empty():
            _, done = self._queue.get_nowait()
            done.set_exception(exc)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
