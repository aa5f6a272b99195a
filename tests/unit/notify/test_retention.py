"""Given legal-aid requests that finished (closed, replaced) and others still open, when
the clock ticks past the retention, then only the finished ones are deleted from the
`requests` table, and a decision or report read again after that issues nothing new."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from schemas.envelope import Envelope, event_id_for
from services.notify.config import NotifyConfig
from services.notify.deadlines import DeadlinePolicy
from services.notify.keeper import ProgressKeeper
from services.notify.ledger import open_requests
from services.notify.progress import TrackedRequest
from services.notify.tracker import RequestTracker
from services.runtime.settings import ConfigurationError
from tests.support.heap import peak_of
from tests.unit.notify.issuer_harness import (
    PARTITION,
    REFERENCE,
    Notify,
    SendingKeeper,
    place,
    placed_envelope,
    screened_envelope,
    status_report,
)
from tests.unit.notify.notify_factories import placed, screened

POLICY = DeadlinePolicy(accept_within=timedelta(minutes=30))
RETAIN = timedelta(days=30)
PARTNER = "red-juridica-juarez"
START = datetime(2026, 11, 28, tzinfo=UTC)


class Clock:
    """The tracker's wall clock, moved by the test."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


class Retained:
    """A notify on dicts whose tracker keeps finished requests for `RETAIN`."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.requests: dict[str, bytes] = {}
        self.capacity: dict[str, bytes] = {}
        tracker = RequestTracker(self.requests, self.capacity, retain=RETAIN, clock=self.clock)
        self.notify = Notify(policy=POLICY, tracker=tracker)
        keeper = ProgressKeeper(
            self.notify.requests, REFERENCE, serves=lambda *_: True, policy=POLICY
        )
        self.keeper = SendingKeeper(keeper, self.notify)
        self.ticks = 0

    async def issue(self, group_id: str = "G-2026-000123") -> Envelope[Any]:
        screened_id = event_id_for("screened", group_id)
        placed_id = event_id_for("placed", group_id)
        await self.notify.issuer.on_screened(
            screened_envelope(screened(group_id=group_id), screened_id), PARTITION
        )
        await place(self.notify, self.placed(group_id))
        return next(
            e
            for e in self.notify.events()
            if e.event_type == "legal-aid-requested" and e.causation_id == placed_id
        )

    def placed(self, group_id: str = "G-2026-000123") -> Envelope[Any]:
        return placed_envelope(placed(group_id=group_id), event_id_for("placed", group_id))

    async def report(self, request: Envelope[Any], status: str, minutes: int) -> str:
        at = request.occurred_at + timedelta(minutes=minutes)
        self.clock.now = at
        envelope = status_report(request, status, at, PARTNER)
        return await self.keeper.on_report(envelope, PARTITION)

    async def close(self, request: Envelope[Any]) -> None:
        assert await self.report(request, "accepted", minutes=5) == "applied"
        assert await self.report(request, "closed", minutes=60) == "applied"

    async def tick(self, at: datetime) -> None:
        self.ticks += 1
        self.clock.now = at
        await self.keeper.on_tick(PARTITION, at, f"tick {PARTITION} {self.ticks}")

    def tracked(self, request: Envelope[Any]) -> TrackedRequest | None:
        return self.notify.requests.tracker.get(request.event_id)

    async def closed(self) -> tuple[Envelope[Any], TrackedRequest]:
        """A request issued and closed, and its finished record (stamped when)."""
        request = await self.issue()
        await self.close(request)
        closed = self.tracked(request)
        assert closed is not None
        assert closed.finished_at is not None
        return request, closed


async def test_a_closed_request_is_deleted_once_its_retention_has_passed() -> None:
    state = Retained()
    request, closed = await state.closed()
    assert closed.finished_at is not None

    await state.tick(closed.finished_at + RETAIN - timedelta(seconds=1))
    assert state.tracked(request) is not None  # one second short of the retention

    await state.tick(closed.finished_at + RETAIN)
    assert request.event_id not in state.requests


async def test_an_open_request_and_a_recently_finished_one_stay() -> None:
    state = Retained()
    old_open = await state.issue("G-2026-000301")
    assert await state.report(old_open, "accepted", minutes=5) == "applied"
    assert await state.report(old_open, "first_contact", minutes=20) == "applied"
    recent = await state.issue("G-2026-000302")
    await state.close(recent)
    finished_at = state.tracked(recent).finished_at  # type: ignore[union-attr]
    assert finished_at is not None

    await state.tick(finished_at + RETAIN - timedelta(hours=1))

    still_open = state.tracked(old_open)
    assert still_open is not None
    assert not still_open.finished
    assert state.tracked(recent) is not None
    await state.tick(START + 10 * RETAIN)  # long after: the open one is still open work
    assert state.tracked(old_open) is not None
    assert state.tracked(recent) is None


async def test_a_replaced_request_expires_and_its_replacement_does_not() -> None:
    state = Retained()
    request = await state.issue()
    assert await state.report(request, "declined", minutes=5) == "applied"
    replaced = state.tracked(request)
    assert replaced is not None
    assert replaced.ended == "replaced"
    second = next(
        e
        for e in state.notify.events()
        if e.event_type == "legal-aid-requested" and e.data.replaces == request.event_id
    )
    assert await state.report(second, "accepted", minutes=6) == "applied"

    assert replaced.finished_at is not None
    await state.tick(replaced.finished_at + RETAIN)

    assert state.tracked(request) is None
    assert state.tracked(second) is not None


async def test_a_decision_read_again_after_its_request_expired_issues_nothing_new() -> None:
    state = Retained()
    request = await state.issue()
    await state.close(request)
    finished_at = state.tracked(request).finished_at  # type: ignore[union-attr]
    assert finished_at is not None
    await state.tick(finished_at + RETAIN)
    assert state.tracked(request) is None
    sent = list(state.notify.published)
    load = dict(state.notify.load)

    await place(state.notify, state.placed())  # the same `placed`, read again
    await state.notify.issuer.on_screened(
        screened_envelope(screened(), event_id_for("screened", "G-2026-000123")), PARTITION
    )

    again = state.notify.published[len(sent) :]
    originals = {o.value for o in sent}
    assert again
    assert all(o.value in originals for o in again)
    assert state.tracked(request) is None  # not tracked (nor timed) again
    assert state.notify.load == load  # no provider's count moved: nothing was chosen
    ids = [p.id for p in REFERENCE.legal_aid_at("CJS")]
    assert open_requests(state.notify.load, PARTITION, ids) == open_requests(load, PARTITION, ids)
    # A partner's late report on the expired request is refused, not applied.
    assert await state.report(request, "first_contact", minutes=61) == "refused"


async def test_a_restart_indexes_finished_requests_again_and_stamps_old_records() -> None:
    state = Retained()
    request = await state.issue()
    await state.close(request)
    legacy = await state.issue("G-2026-000303")
    await state.close(legacy)
    unstamped = state.tracked(legacy)
    assert unstamped is not None
    # A record stored finished by a version that did not stamp the time.
    state.requests[legacy.event_id] = unstamped.model_copy(update={"finished_at": None}).to_bytes()
    finished_at = state.tracked(request).finished_at  # type: ignore[union-attr]
    assert finished_at is not None

    restarted = RequestTracker(state.requests, state.capacity, retain=RETAIN, clock=state.clock)
    state.clock.now = finished_at + timedelta(days=1)
    assert restarted.expire(PARTITION, state.clock.now) == 0  # the scan after assignment
    stamped = restarted.get(legacy.event_id)
    assert stamped is not None
    assert stamped.finished_at == state.clock.now

    assert restarted.expire(PARTITION, finished_at + RETAIN) == 1
    assert restarted.get(request.event_id) is None
    assert restarted.get(legacy.event_id) is not None  # its retention counts from the stamp
    assert restarted.expire(PARTITION, state.clock.now + RETAIN) == 1
    assert restarted.get(legacy.event_id) is None


def test_the_retention_is_set_in_days_and_a_bad_value_is_named() -> None:
    assert NotifyConfig.from_env({}).retain == timedelta(days=30)
    assert NotifyConfig.from_env({"RETURNS_NOTIFY_RETAIN_DAYS": "0.5"}).retain == timedelta(
        hours=12
    )
    with pytest.raises(ConfigurationError, match="RETURNS_NOTIFY_RETAIN_DAYS"):
        NotifyConfig.from_env({"RETURNS_NOTIFY_RETAIN_DAYS": "-1"})


class OnDisk(dict[str, bytes]):
    """A table that, like the worker's RocksDB store, reads a new copy of each value."""

    def values(self) -> Iterator[bytes]:  # type: ignore[override]
        return (bytes(memoryview(raw)) for raw in super().values())


async def test_loading_after_a_restart_holds_no_list_of_the_tables_requests() -> None:
    """At 100,000 groups the table holds about 69,000 requests: loaded as one list of
    their bytes, the scan held all of them at once, and the process stayed that big."""
    state = Retained()
    _, closed = await state.closed()
    assert closed.finished_at is not None
    requests = OnDisk()
    for n in range(20_000):
        copy = closed.model_copy(update={"event_id": f"{n:08x}-0000-5000-8000-000000000000"})
        requests[copy.event_id] = copy.to_bytes()
    stored = sum(len(raw) for raw in requests.values())
    tracker = RequestTracker(requests, {}, retain=RETAIN, clock=state.clock)
    peak = peak_of(lambda: tracker.ensure(PARTITION))
    assert peak < stored / 2, f"{peak / 2**20:.1f} MiB at the peak, {stored / 2**20:.1f} stored"
    # and every one of them is in the index: all deleted once their retention is over
    gone = tracker.expire(PARTITION, closed.finished_at + RETAIN, limit=len(requests))
    assert (gone, requests) == (20_000, {})
