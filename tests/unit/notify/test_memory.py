"""Notify's memory of inputs (`issued`) and groups (`groups`): what is kept, what a tick
deletes once the retention has passed, and what an old input read again does then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from schemas.codec import decode_any, encode
from schemas.envelope import Envelope, event_id_for, make_envelope
from services.notify.handlers import Outgoing, RequestIssuer
from services.notify.keeper import ProgressKeeper
from services.notify.ledger import GroupRecord, OpenRequest
from services.notify.memory import Memory, Retention, awaits_more
from services.notify.tables import NotifyTables
from services.notify.tracker import RequestTracker
from services.runtime.settings import ConfigurationError
from tests.unit.notify.issuer_harness import PARTITION, REFERENCE, status_report
from tests.unit.notify.notify_factories import placed, referred_for_fear, screened

KEEP = timedelta(days=35)
START = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
GROUP = "G-2026-000123"


@pytest.fixture(params=["heap", "disk"])
def indexes_at(request: pytest.FixtureRequest, tmp_path: Path) -> Path | None:
    """Where notify keeps its expiry indexes: in the heap, or on disk as a worker does."""
    return None if request.param == "heap" else tmp_path / "due"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


class Remembering:
    """Notify's decisions agent on dicts, its memory kept for `KEEP`."""

    def __init__(self, tables: NotifyTables | None = None, indexes_at: Path | None = None) -> None:
        self.clock = Clock()
        self.tables = tables or NotifyTables.in_memory()
        self.indexes_at = indexes_at
        self.memory = Memory(self.tables, Retention(KEEP), indexes_at)
        tracker = RequestTracker(
            self.tables.requests, self.tables.capacity, retain=timedelta(days=30), clock=self.clock
        )
        self.issuer = RequestIssuer(
            REFERENCE,
            groups=self.memory.groups,
            issued=self.memory.issued,
            load=self.tables.load,
            producer="notify/test",
            clock=self.clock,
            tracker=tracker,
            memory=self.memory,
        )
        self.keeper = ProgressKeeper(self.issuer, REFERENCE, serves=lambda *_: True)
        self.ticks = 0

    def restarted(self) -> Remembering:
        """Another worker over the same tables (its indexes built from them)."""
        again = Remembering(self.tables, self.indexes_at and self.indexes_at / "again")
        again.clock.now = self.clock.now
        return again

    def screened(self, at: datetime, group_id: str = GROUP, **data: Any) -> list[Outgoing]:
        self.clock.now = max(self.clock.now, at)
        envelope = make_envelope(
            screened(group_id=group_id, **data),
            event_id=event_id_for("screened", group_id, str(at)),
            producer="screening/test",
            correlation_id=group_id,
            causation_id=None,
            crossing="ELP",
            occurred_at=at,
        )
        return self.issuer.on_screened(envelope, PARTITION)

    def decision(self, at: datetime, group_id: str = GROUP) -> str:
        return event_id_for("screened", group_id, str(at))

    def placed(self, at: datetime, decided: datetime, group_id: str = GROUP) -> list[Outgoing]:
        self.clock.now = max(self.clock.now, at)
        envelope = make_envelope(
            placed(group_id=group_id),
            event_id=event_id_for("placed", group_id, str(at)),
            producer="placement/test",
            correlation_id=group_id,
            causation_id=self.decision(decided, group_id),
            crossing="ELP",
            occurred_at=at,
        )
        return self.issuer.on_placed(envelope, encode(envelope), PARTITION)

    def tick(self, at: datetime) -> None:
        self.ticks += 1
        self.clock.now = at
        self.keeper.on_tick(PARTITION, at, f"tick {PARTITION} {self.ticks}")

    def report(self, request: Envelope[Any], status: str, at: datetime) -> str:
        self.clock.now = at
        return self.keeper.on_report(status_report(request, status, at, "p"), PARTITION).outcome

    def group(self) -> GroupRecord | None:
        raw = self.tables.groups.get(GROUP)
        return None if raw is None else GroupRecord.model_validate_json(raw)


def legal_aid(outgoing: list[Outgoing]) -> list[Envelope[Any]]:
    return [decode_any(o.value) for o in outgoing if o.topic == "legal-aid-requested"]


def closed(notify: Remembering, request: Envelope[Any], at: datetime) -> datetime:
    """Accept and close `request` from `at`; when the last report happened."""
    assert notify.report(request, "accepted", at) == "applied"
    assert notify.report(request, "closed", at + timedelta(hours=1)) == "applied"
    return at + timedelta(hours=1, seconds=1)  # a report happens a second after its status


# The rule


def test_a_group_is_kept_while_something_may_still_come_for_it() -> None:
    accepted = screened()
    hearing = OpenRequest(
        event_id="r1",
        group_id=GROUP,
        request_type="legal-aid-requested",
        purpose="immigration_hearing",
        provider_id="p",
        members=[],
        location="CJS",
        shelter_id=None,
    )
    vaccine = OpenRequest(
        event_id="r2",
        group_id=GROUP,
        request_type="care-requested",
        case_id="A212345679",
        provider_id="h",
        members=["A212345679"],
        location="CJS",
        shelter_id=None,
    )
    assert awaits_more(GroupRecord(screened=accepted))  # may still wait in placement's queue
    assert awaits_more(GroupRecord(screened=accepted, placement="P1", ended=["P1"]))  # re-queued
    assert awaits_more(GroupRecord(screened=accepted, placement="P1", open=[hearing]))
    assert awaits_more(GroupRecord(parked=["{}"]))
    assert not awaits_more(GroupRecord(screened=accepted, placement="P1", open=[vaccine]))
    assert not awaits_more(GroupRecord(screened=referred_for_fear()))
    assert not awaits_more(GroupRecord())


def test_an_input_is_beyond_memory_exactly_a_retention_after_it_happened() -> None:
    retention = Retention(KEEP)
    assert retention.beyond(START, START + KEEP)
    assert not retention.beyond(START, START + KEEP - timedelta(seconds=1))


def test_the_setting_is_read_and_a_bad_one_named() -> None:
    assert Retention.from_env({}).keep == KEEP
    assert Retention.from_env({"RETURNS_NOTIFY_MEMORY_DAYS": "90"}).keep == timedelta(days=90)
    with pytest.raises(ConfigurationError, match="RETURNS_NOTIFY_MEMORY_DAYS"):
        Retention.from_env({"RETURNS_NOTIFY_MEMORY_DAYS": "0"})


# Expiry on the ticks


def test_what_an_input_caused_is_kept_a_retention_then_deleted_with_its_settled_group(
    indexes_at: Path | None,
) -> None:
    notify = Remembering(indexes_at=indexes_at)
    notify.screened(START)
    (request,) = legal_aid(notify.placed(START + timedelta(hours=1), decided=START))
    last_change = closed(notify, request, START + timedelta(hours=2))  # nothing open any more
    placed_id = request.causation_id

    notify.tick(START + timedelta(hours=1) + KEEP - timedelta(seconds=1))
    assert placed_id in notify.tables.issued
    notify.tick(START + timedelta(hours=1) + KEEP)  # the placed event's entry is due
    assert placed_id not in notify.tables.issued
    notify.tick(last_change + KEEP - timedelta(seconds=1))
    assert notify.group() is not None
    notify.tick(last_change + KEEP)
    assert notify.group() is None
    assert not notify.tables.issued_expiry
    assert not notify.tables.groups_expiry


def test_a_group_with_an_open_request_or_still_to_be_placed_is_never_deleted(
    indexes_at: Path | None,
) -> None:
    notify = Remembering(indexes_at=indexes_at)
    notify.screened(START)  # accepted: placement may place it any day
    notify.tick(START + 10 * KEEP)
    assert notify.group() is not None

    (request,) = legal_aid(notify.placed(START + 10 * KEEP, decided=START))
    assert notify.report(request, "accepted", START + 10 * KEEP) == "applied"
    notify.tick(START + 20 * KEEP)  # the hearing request is still open
    group = notify.group()
    assert group is not None
    assert group.placement == request.causation_id


def test_expiry_goes_on_after_a_restart(indexes_at: Path | None) -> None:
    notify = Remembering(indexes_at=indexes_at)
    notify.screened(START, **referred_for_fear().model_dump(mode="json", exclude={"group_id"}))
    (interview,) = legal_aid(notify.issuer.stored(notify.decision(START)) or [])
    last_change = closed(notify, interview, START + timedelta(hours=1))

    later = notify.restarted()
    later.tick(last_change + KEEP)
    assert later.group() is None
    assert notify.decision(START) not in later.tables.issued


# An old input read again


def test_a_placement_read_again_within_the_retention_resends_the_same_request(
    indexes_at: Path | None,
) -> None:
    notify = Remembering(indexes_at=indexes_at)
    notify.screened(START)
    first = notify.placed(START + timedelta(hours=1), decided=START)
    closed(notify, legal_aid(first)[0], START + timedelta(hours=2))
    notify.tick(START + KEEP)

    again = notify.placed(START + timedelta(hours=1), decided=START)  # a replay, a month on
    assert [o.value for o in again] == [o.value for o in first]


def test_a_placement_read_again_after_it_was_forgotten_is_not_handled(
    indexes_at: Path | None,
) -> None:
    notify = Remembering(indexes_at=indexes_at)
    notify.screened(START)
    first = notify.placed(START + timedelta(hours=1), decided=START)
    last_change = closed(notify, legal_aid(first)[0], START + timedelta(hours=2))
    notify.tick(last_change + KEEP)
    assert notify.group() is None
    load = dict(notify.tables.load)

    assert notify.screened(START) == []  # the whole history replayed from the start
    assert notify.placed(START + timedelta(hours=1), decided=START) == []
    assert notify.group() is None  # not even parked
    assert notify.tables.load == load  # no provider chosen again


def test_a_new_decision_of_a_forgotten_group_is_handled_as_a_first_one(
    indexes_at: Path | None,
) -> None:
    notify = Remembering(indexes_at=indexes_at)
    notify.screened(START)
    first = notify.placed(START + timedelta(hours=1), decided=START)
    later = closed(notify, legal_aid(first)[0], START + timedelta(hours=2)) + KEEP
    notify.tick(later)

    notify.screened(later, **referred_for_fear().model_dump(mode="json", exclude={"group_id"}))
    assert len(legal_aid(notify.issuer.stored(notify.decision(later)) or [])) == 1


def test_a_backlog_is_deleted_at_most_500_per_partition_and_tick(indexes_at: Path | None) -> None:
    notify = Remembering(indexes_at=indexes_at)
    notify.memory.handling(PARTITION, START, START)
    for n in range(600):
        notify.memory.issued[f"input-{n}"] = b'{"requests":[]}'
    notify.memory.handling(PARTITION + 1, START, START)
    notify.memory.issued["another-partitions-input"] = b'{"requests":[]}'

    notify.tick(START + KEEP)
    assert len(notify.tables.issued) == 101
    notify.tick(START + KEEP)
    assert set(notify.tables.issued) == {"another-partitions-input"}  # its own tick deletes it
