"""The consuming loop every agent runs: handle, send, ack, in that order, and invalid
events logged and counted once, in one place, while the next event goes on.

Driven through `consume` itself, over the fake partition of the offset guard's tests.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from types import SimpleNamespace
from typing import Any

import pytest

from services.runtime import metrics
from services.runtime.consume import (
    NOTHING,
    Abandoned,
    Handled,
    InvalidEvent,
    consume,
)
from services.runtime.ordered import SettlementWindow, Tracked
from tests.unit.runtime.fake_partition import TP0, FakeLog

RUNTIME: Any = SimpleNamespace(settings=SimpleNamespace(topic_prefix=""))
TOPIC = TP0.topic


class Steps(list[tuple[str, int]]):
    """What happened to which offset, in order; doubles as the partition's ack record."""

    def append_ack(self, offset: int) -> None:
        self.append(("ack", offset))


class FakeApp(FakeLog):
    """The fake partition, also standing in for the faust app an agent registers with."""

    def __init__(self, offsets: list[int], steps: Steps | None = None) -> None:
        super().__init__(offsets, end=len(offsets), committed=0)
        self.queue.put_nowait(None)  # the stream ends after them
        self.agents: dict[str, Callable[[Any], Awaitable[None]]] = {}
        if steps is not None:
            self.acked = _AckRecord(steps)

    def agent(self, source: Any, name: str) -> Callable[[Any], Any]:
        def register(body: Callable[[Any], Awaitable[None]]) -> Callable[[Any], Any]:
            self.agents[name] = body
            return body

        return register

    def run(self, name: str) -> None:
        """Run agent `name` over the partition until its records are read (at most 5 s)."""

        async def run() -> None:
            await asyncio.wait_for(self.agents[name](self), timeout=5)

        asyncio.run(run())


class _AckRecord(list[int]):
    def __init__(self, steps: Steps) -> None:
        super().__init__()
        self.steps = steps

    def append(self, offset: int) -> None:
        super().append(offset)
        self.steps.append_ack(offset)


def invalid_count(service: str, reason: str) -> float:
    value = metrics.REGISTRY.get_sample_value(
        "returns_invalid_events_total", {"service": service, "topic": TOPIC, "reason": reason}
    )
    return value or 0.0


def test_an_invalid_event_is_logged_once_counted_once_and_the_next_is_still_handled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = FakeApp([0, 1, 2])
    handled: list[int] = []

    async def handle(message: Any) -> Handled[Any]:
        if message.offset == 1:
            raise InvalidEvent("UNKNOWN_SHELTER")
        handled.append(message.offset)
        return NOTHING

    before = invalid_count("placement", "UNKNOWN_SHELTER")
    consume(app, RUNTIME, app, handle, service="placement", step="route", name="inputs")
    with caplog.at_level(logging.INFO, logger="services.runtime.consume"):
        app.run("inputs")

    assert handled == [0, 2]
    assert app.acked == [0, 1, 2]  # the invalid one is acked too: it is never read again
    assert invalid_count("placement", "UNKNOWN_SHELTER") - before == 1
    (line,) = [r for r in caplog.records if r.name == "services.runtime.consume"]
    assert line.getMessage() == f"skipping an invalid event at {TOPIC}[3]@1: UNKNOWN_SHELTER"
    assert getattr(line, "reason_code", None) == "UNKNOWN_SHELTER"
    assert "record 1" not in line.getMessage()  # nothing of the payload


def test_an_event_is_handled_then_its_events_sent_and_acknowledged_then_acked() -> None:
    steps = Steps()
    app = FakeApp([0, 1], steps)

    async def handle(message: Any) -> Handled[int]:
        steps.append(("handle", message.offset))
        return Handled(outgoing=[message.offset])

    async def send(outgoing: Sequence[int]) -> Sequence[Awaitable[object]]:
        steps.extend(("send", offset) for offset in outgoing)
        return [_acknowledged_later(steps, offset) for offset in outgoing]

    consume(app, RUNTIME, app, handle, send=send, service="notify", step="copy", name="copy")
    app.run("copy")

    assert steps == [
        ("handle", 0),
        ("send", 0),
        ("on the broker", 0),
        ("ack", 0),
        ("handle", 1),
        ("send", 1),
        ("on the broker", 1),
        ("ack", 1),
    ]


async def _acknowledged_later(steps: Steps, offset: int) -> None:
    await asyncio.sleep(0.01)
    steps.append(("on the broker", offset))


class LaterSettler:
    """A settler (as notify's) that acks an event once its work completes, elsewhere."""

    def __init__(self, window: SettlementWindow[Any]) -> None:
        self.window = window
        self.tasks: list[asyncio.Task[None]] = []

    def settle_when(self, entry: Tracked[Any], work: Sequence[Awaitable[object]]) -> None:
        async def settle() -> None:
            await asyncio.gather(*work)
            self.window.settle(entry)

        self.tasks.append(asyncio.ensure_future(settle()))


def test_with_a_settler_the_loop_goes_on_and_acks_still_leave_in_offset_order() -> None:
    steps = Steps()
    app = FakeApp([0, 1], steps)
    settler = LaterSettler(SettlementWindow(lambda event: event.ack()))

    async def handle(message: Any) -> Handled[Any]:
        steps.append(("handle", message.offset))
        late = 0.05 if message.offset == 0 else 0.0  # the first event's work ends last
        return Handled(pending=[_sent_after(steps, message.offset, late)])

    consume(app, RUNTIME, app, handle, settler=settler, service="notify", step="d", name="d")

    async def run() -> None:
        await asyncio.wait_for(app.agents["d"](app), timeout=5)
        await asyncio.gather(*settler.tasks)

    asyncio.run(run())
    assert steps == [
        ("handle", 0),
        ("handle", 1),  # not waiting for 0's work
        ("done", 1),
        ("done", 0),
        ("ack", 0),  # 1 was done first, but waits for 0
        ("ack", 1),
    ]


async def _sent_after(steps: Steps, offset: int, seconds: float) -> None:
    await asyncio.sleep(seconds)
    steps.append(("done", offset))


def test_an_abandoned_event_stays_unacked_and_so_does_every_later_one() -> None:
    app = FakeApp([0, 1, 2])
    handled: list[int] = []

    async def handle(message: Any) -> Handled[Any]:
        if message.offset == 1:
            raise Abandoned
        handled.append(message.offset)
        return NOTHING

    consume(app, RUNTIME, app, handle, service="notify", step="deliver", name="deliver")
    app.run("deliver")
    assert (handled, app.acked) == ([0, 2], [0])


def test_a_handler_that_fails_stops_the_agent_with_its_event_unacked() -> None:
    app = FakeApp([0, 1, 2])

    async def handle(message: Any) -> Handled[Any]:
        if message.offset == 1:
            raise RuntimeError("the table is gone")
        return NOTHING

    consume(app, RUNTIME, app, handle, service="screening", step="gather", name="gather")
    with pytest.raises(RuntimeError, match="the table is gone"):
        app.run("gather")
    assert app.acked == [0]


def test_events_returned_without_a_way_to_send_them_are_never_acked() -> None:
    app = FakeApp([0])

    async def handle(message: Any) -> Handled[str]:
        return Handled(outgoing=["lost"])

    consume(app, RUNTIME, app, handle, service="intake", step="validate", name="v")
    with pytest.raises(TypeError):
        app.run("v")
    assert app.acked == []


def test_clock_ticks_are_handled_without_being_counted_as_events_in() -> None:
    app = FakeApp([0, 1])
    ticks: list[int] = []

    async def handle(message: Any) -> Handled[Any]:
        ticks.append(message.offset)
        return NOTHING

    labels = {"service": "clocked", "topic": TOPIC, "crossing": "unknown"}
    consume(app, RUNTIME, app, handle, service="clocked", step="t", name="t", unobserved=[TOPIC])
    app.run("t")
    assert (ticks, app.acked) == ([0, 1], [0, 1])
    assert metrics.REGISTRY.get_sample_value("returns_events_in_total", labels) is None


def test_an_observed_event_is_counted_in_with_what_the_handler_learned() -> None:
    app = FakeApp([0])

    async def handle(message: Any) -> Handled[Any]:
        return Handled(crossing="CJS")

    labels = {"service": "observing", "topic": TOPIC, "crossing": "CJS"}
    consume(app, RUNTIME, app, handle, service="observing", step="o", name="o")
    app.run("o")
    assert metrics.REGISTRY.get_sample_value("returns_events_in_total", labels) == 1


@pytest.mark.parametrize("reason", ["", "unknown shelter", "Maria Lopez, pregnant", "A" * 65])
def test_a_reason_must_be_a_code_and_the_error_repeats_none_of_it(reason: str) -> None:
    with pytest.raises(ValueError) as raised:
        InvalidEvent(reason)
    assert not reason or reason not in str(raised.value)
