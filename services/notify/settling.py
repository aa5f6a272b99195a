"""When a consumed event is acknowledged: once the work it caused is done, in offset order.

Both of notify's ordered agents follow one rule. `notify-decisions` hands an event's
requests to the publisher; `notify-deliveries` hands a request to the partners' lanes,
and each delivery ends with its receipt written. In both, the event's offset may be
committed only once that work is done (its sends are acknowledged by the broker, its
state written first), and events are acknowledged in offset order per partition
(:class:`~services.runtime.ordered.SettlementWindow`). :class:`Settler` is that rule:

- the work done: the event is settled (acked once those before it are);
- the work abandoned (cancelled: the worker is stopping): the event stays unacked, and
  so does every later event of its partition; a restart reads them again;
- the work failed (a send or a receipt could not be written): likewise, and `on_stuck`
  is told, which stops the worker (:func:`stopper`) so that a restart reads them again.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any, Generic, TypeVar

import faust

from services.runtime.ordered import SettlementWindow, Tracked

log = logging.getLogger(__name__)
T = TypeVar("T")


class Settler(Generic[T]):
    """Acks each tracked event through `window` once its work is done; see the module."""

    def __init__(
        self, window: SettlementWindow[T], on_stuck: Callable[[BaseException], None]
    ) -> None:
        self.window = window
        self._on_stuck = on_stuck

    def track(self, partition: Hashable, offset: int, token: T) -> Tracked[T]:
        """Take the event at `offset` into the window, unsettled until `settle_when`."""
        return self.window.track(partition, offset, token, pending=1)

    def settle_when(self, entry: Tracked[T], work: Iterable[Awaitable[object]]) -> None:
        """Settle `entry` once every one of `work` completes (at once when there is none)."""
        pending = [asyncio.ensure_future(done) for done in work]
        if not pending:
            self.window.settle(entry)
            return
        gathered = asyncio.gather(*pending, return_exceptions=True)
        gathered.add_done_callback(functools.partial(self._done, entry))

    def hold(self, entry: Tracked[T]) -> None:
        """`entry`'s work was never started (the worker is stopping): it stays unacked."""
        self.window.hold(entry)

    def _done(self, entry: Tracked[T], gathered: asyncio.Future[list[Any]]) -> None:
        if gathered.cancelled():
            self.window.hold(entry)
            return
        outcomes = gathered.result()
        if any(isinstance(outcome, asyncio.CancelledError) for outcome in outcomes):
            self.window.hold(entry)
            return
        failed = next((o for o in outcomes if isinstance(o, BaseException)), None)
        if failed is not None:
            self.window.hold(entry)
            self._on_stuck(failed)
            return
        self.window.settle(entry)


def stopper(app: faust.App, what: str) -> Callable[[BaseException], None]:
    """An `on_stuck` that logs `what` could not be done and stops the worker, once."""
    crashing: set[asyncio.Future[Any]] = set()

    def stop(error: BaseException) -> None:
        if crashing:
            return
        log.error("%s (%s): stopping", what, type(error).__name__)
        crashing.add(asyncio.ensure_future(app.crash(error)))

    return stop
