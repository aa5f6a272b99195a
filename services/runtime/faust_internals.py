"""The few parts of faust's consumer that its public API does not give, in one place.

The contiguous-offset guard (`services/runtime/ordered.py`, docs/adr/0011) must know
what faust's consumer believes: which offset it committed and read up to, which
partitions its fetch loop leaves out, and it must let a message go without an ack. faust
exposes none of that, so this module reads the consumer's private attributes, and it is
the only module that does.

They were verified on faust-streaming `VERIFIED_VERSION` (pinned in pyproject.toml).
`require_internals` fails loudly, naming the attribute, if an upgrade renamed one; every
service calls it when its app is built, and `tests/unit/runtime/test_faust_internals.py`
calls it too, so that an upgrade breaks a unit test before it breaks a guarantee.
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

VERIFIED_VERSION = "0.15.3"
# attribute -> what the guard uses it for
PRIVATE_ATTRIBUTES = {
    "_unacked_messages": "let a message go without an ack (a rebalance waits for them)",
    "_committed_offset": "the offset faust committed, where reading resumes",
    "_read_offset": "the offset faust read up to, below which it drops fetched records",
    "_active_partitions": "partitions the fetch loop hands records of",
    "_buffered_partitions": "partitions taken out while a stream buffer is full",
    "_paused_partitions": "partitions paused by flow control",
}
PUBLIC_METHODS = ("assignment", "highwater", "earliest_offsets", "seek", "seek_wait")


class FaustInternalsError(RuntimeError):
    """This faust-streaming lacks an internal that the offset guard reads."""


def require_internals(consumer: Any) -> None:
    """Raise `FaustInternalsError` unless `consumer` has every attribute the guard reads."""
    missing = [name for name in PRIVATE_ATTRIBUTES if not hasattr(consumer, name)]
    missing += [name for name in PUBLIC_METHODS if not callable(getattr(consumer, name, None))]
    if missing:
        raise FaustInternalsError(
            f"faust-streaming {installed_version()} has no {', '.join(missing)} on its "
            f"consumer; the offset guard was verified on {VERIFIED_VERSION} "
            "(services/runtime/faust_internals.py)"
        )


def installed_version() -> str:
    try:
        return importlib.metadata.version("faust-streaming")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class ConsumerView:
    """What the offset guard reads from, and does to, faust's consumer.

    `source` is the app (its consumer is looked up at each use: faust makes it when the
    worker starts) or, in tests, a stand-in consumer itself."""

    def __init__(self, source: Any) -> None:
        self._source = source

    @property
    def _consumer(self) -> Any:
        consumer = getattr(self._source, "consumer", None)
        return self._source if consumer is None else consumer

    def forget(self, message: Any) -> None:
        """Let `message` go without an ack: its offset is never committed, and a
        rebalance (`stream_wait_empty`) no longer waits for it."""
        message.acked = True
        self._consumer._unacked_messages.discard(message)

    def committed(self, partition: Any) -> int | None:
        """The offset faust committed for `partition` (None for none, or for 0)."""
        offset: int | None = self._consumer._committed_offset.get(partition)
        return offset

    def read_up_to(self, partition: Any) -> int | None:
        offset: int | None = self._consumer._read_offset.get(partition)
        return offset

    def left_out(self, partition: Any) -> bool:
        """Whether the fetch loop drops the records of `partition` (paused, or inactive)."""
        consumer = self._consumer
        if partition in consumer._paused_partitions:
            return True
        active = consumer._active_partitions
        return active is not None and partition not in active | consumer._buffered_partitions

    def resume(self, partition: Any) -> None:
        self._consumer.resume_partitions([partition])

    def end(self, partition: Any) -> int:
        """The partition's end offset as last fetched (0 when unknown)."""
        try:
            end = self._consumer.highwater(partition)
        except Exception:  # the consumer is not started yet
            return 0
        return end if isinstance(end, int) else 0

    def assigned(self, topics: Iterable[str]) -> list[Any]:
        names = set(topics)
        try:
            return [tp for tp in self._consumer.assignment() if tp.topic in names]
        except Exception as exc:  # the consumer is not started yet
            log.debug("no assignment yet: %s", type(exc).__name__)
            return []

    async def earliest(self, partition: Any) -> int | None:
        first: int | None = (await self._consumer.earliest_offsets(partition)).get(partition)
        return first

    async def seek(self, partition: Any, offset: int) -> None:
        """Read `partition` again from `offset`: the broker-side position and faust's own
        read offset both move, else faust drops the records fetched below it."""
        await self._consumer.seek_wait({partition: offset})
        await self._consumer.seek(partition, offset)
