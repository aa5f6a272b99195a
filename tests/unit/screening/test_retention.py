"""How long screening remembers a decided family, and what a record after that does.

A family of three is returned at El Paso on 27 November and decided at noon on the
28th. Time moves on the partition's arrival clock: other people's records arriving on
the same partition days or months later.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from schemas import Envelope, PersonReturned, Screened, encode
from services.runtime.settings import ConfigurationError
from services.screening.desk import ScreeningDesk
from services.screening.retention import Retention
from services.screening.ruleset import load_rule_set
from tests.unit.screening.factories import published, returned

WINDOW = timedelta(minutes=10)
GRACE = timedelta(seconds=30)
NOON = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
FAMILY = "G-2026-000123"


class Desk:
    def __init__(
        self, tables: dict[str, dict[str, bytes]] | None = None, indexes_at: Path | None = None
    ) -> None:
        self.tables: dict[str, dict[str, bytes]] = tables or {
            name: {} for name in ("groups", "open", "watermarks", "closed", "retained")
        }
        self.sent: list[Envelope[Any]] = []
        self.desk = ScreeningDesk(
            load_rule_set("2021-12"),
            WINDOW,
            self.tables,  # type: ignore[arg-type]
            self.emit,
            GRACE,
            retention=Retention(keep=30 * DAY, closed=365 * DAY),
            indexes_at=indexes_at,
        )

    async def emit(self, envelope: Envelope[Any]) -> None:
        self.sent.append(envelope)

    async def take(self, record: PersonReturned, at: datetime, partition: int = 3) -> None:
        envelope = published(record, at)
        await self.desk.take_member(envelope, encode(envelope), partition, None)

    async def time_passes(self, to: datetime, partition: int = 3) -> None:
        """Someone returned that morning arrives on the partition at ``to``."""
        stranger = returned(
            f"A3{to:%y%m%d%H}",
            group_id=f"G-{to:%Y%m%d%H%M}",
            returned_at=(to - timedelta(hours=3)).isoformat(),
        )
        await self.take(stranger, to, partition)

    def family_decisions(self) -> list[Screened]:
        return [e.data for e in self.sent if e.data.group_id == FAMILY]


def family(**overrides: Any) -> list[PersonReturned]:
    return [
        returned("A212345671", group_size=3, **overrides),
        returned("A212345672", born="2015-05-04", role="child", group_size=3, **overrides),
        returned("A212345673", born="2019-01-20", role="child", group_size=3, **overrides),
    ]


def correction_of_first(**declared: bool) -> PersonReturned:
    first = family()[0]
    return returned(
        "A212345671",
        group_size=3,
        submission_id="cbp-elp-2026-11-27-A212345671-fix",
        **declared,
    ).model_copy(update={"corrects": first.submission_id})


@pytest.fixture(params=["heap", "disk"])
def indexes_at(request: pytest.FixtureRequest, tmp_path: Path) -> Path | None:
    """Where the desk keeps its indexes: in the heap, or on disk as a worker does."""
    return None if request.param == "heap" else tmp_path / "due"


@pytest.fixture
async def decided(indexes_at: Path | None) -> Desk:
    desk = Desk(indexes_at=indexes_at)
    for member in family():
        await desk.take(member, NOON)
    assert [d.decision for d in desk.family_decisions()] == ["accepted"]
    return desk


async def test_a_correction_within_the_period_re_decides_the_family(decided: Desk) -> None:
    await decided.time_passes(NOON + 29 * DAY)
    await decided.take(correction_of_first(pregnant=True), NOON + 29 * DAY + timedelta(hours=1))
    first, second = decided.family_decisions()
    assert (first.revision, second.revision) == (1, 2)
    assert second.supersedes == decided.sent[0].event_id


async def test_after_the_period_a_correction_is_not_taken_and_the_decision_stands(
    decided: Desk,
) -> None:
    await decided.time_passes(NOON + 31 * DAY)
    await decided.take(correction_of_first(pregnant=True), NOON + 31 * DAY + timedelta(hours=1))
    assert [d.revision for d in decided.family_decisions()] == [1]
    assert FAMILY not in decided.tables["groups"]  # the sealed records are gone
    closed = json.loads(decided.tables["closed"][FAMILY])
    assert closed["decided"] == decided.sent[0].event_id
    assert closed["closed_at"] == (NOON + 30 * DAY).isoformat()


async def test_a_repeated_record_after_the_period_makes_no_second_decision(decided: Desk) -> None:
    await decided.time_passes(NOON + 40 * DAY)
    for member in family():
        await decided.take(member, NOON + 40 * DAY + timedelta(minutes=1))
    await decided.time_passes(NOON + 41 * DAY)
    assert [d.revision for d in decided.family_decisions()] == [1]
    assert FAMILY not in decided.tables["open"]


async def test_each_record_taken_restarts_the_period(decided: Desk) -> None:
    await decided.time_passes(NOON + 20 * DAY)
    await decided.take(correction_of_first(pregnant=True), NOON + 20 * DAY)
    await decided.time_passes(NOON + 45 * DAY)  # 25 days after the correction
    late = returned("A212345674", born="2021-02-02", role="child", group_size=4)
    await decided.take(late, NOON + 45 * DAY + timedelta(minutes=1))
    assert [d.revision for d in decided.family_decisions()] == [1, 2, 3]


async def test_only_the_familys_own_partition_moves_its_clock(decided: Desk) -> None:
    await decided.time_passes(NOON + 90 * DAY, partition=4)
    await decided.take(correction_of_first(pregnant=True), NOON + 90 * DAY)
    assert [d.revision for d in decided.family_decisions()] == [1, 2]


async def test_a_closed_family_is_forgotten_after_the_closed_period(decided: Desk) -> None:
    await decided.time_passes(NOON + 31 * DAY)
    assert FAMILY in decided.tables["closed"]
    await decided.time_passes(NOON + 30 * DAY + 366 * DAY)
    assert FAMILY not in decided.tables["closed"]
    assert FAMILY not in decided.tables["retained"]
    assert FAMILY not in decided.tables["groups"]


async def test_a_member_of_a_forgotten_family_is_too_old_to_be_screened_again(
    decided: Desk,
) -> None:
    much_later = NOON + 30 * DAY + 366 * DAY
    await decided.time_passes(much_later)
    late = returned("A212345674", born="2021-02-02", role="child", group_size=4)
    await decided.take(late, much_later + timedelta(minutes=1))
    await decided.time_passes(much_later + DAY)
    assert [d.revision for d in decided.family_decisions()] == [1]


async def test_a_restarted_desk_expires_on_the_same_schedule(
    decided: Desk, indexes_at: Path | None
) -> None:
    # The same tables, as recovered from their changelogs; its indexes built again.
    restarted = Desk(decided.tables, indexes_at and indexes_at.with_name("restarted"))
    await restarted.time_passes(NOON + 29 * DAY)
    assert FAMILY in restarted.tables["groups"]
    await restarted.time_passes(NOON + 31 * DAY)
    assert FAMILY not in restarted.tables["groups"]
    assert FAMILY in restarted.tables["closed"]


async def test_a_group_still_gathering_is_never_expired(indexes_at: Path | None) -> None:
    desk = Desk(indexes_at=indexes_at)
    await desk.take(family()[0], NOON)
    assert FAMILY not in desk.tables["retained"]
    await desk.time_passes(NOON + 31 * DAY)  # closes its window: decided, then kept
    [incomplete] = desk.family_decisions()
    assert incomplete.decision == "referred"
    assert FAMILY in desk.tables["groups"]
    await desk.time_passes(NOON + 62 * DAY)  # 31 days after the window closed
    assert FAMILY in desk.tables["closed"]


@pytest.mark.parametrize(
    ("returned_days_before_arrival", "too_old"), [(1, False), (365, False), (366, True)]
)
def test_a_record_is_too_old_to_open_a_group_past_the_closed_period(
    returned_days_before_arrival: int, too_old: bool
) -> None:
    retention = Retention(keep=30 * DAY, closed=365 * DAY)
    returned_at = NOON - returned_days_before_arrival * DAY
    assert retention.too_old_to_open(returned_at, NOON) is too_old


def test_the_periods_come_from_the_environment() -> None:
    retention = Retention.from_env(
        {"RETURNS_SCREENING_RETAIN_DAYS": "7", "RETURNS_SCREENING_RETAIN_CLOSED_DAYS": "90"}
    )
    assert (retention.keep, retention.closed) == (7 * DAY, 90 * DAY)
    assert Retention.from_env({}) == Retention(30 * DAY, 365 * DAY)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"RETURNS_SCREENING_RETAIN_DAYS": "soon"}, "RETURNS_SCREENING_RETAIN_DAYS"),
        ({"RETURNS_SCREENING_RETAIN_CLOSED_DAYS": "-3"}, "RETURNS_SCREENING_RETAIN_CLOSED_DAYS"),
        ({"RETURNS_SCREENING_RETAIN_DAYS": "0.5"}, "more than 1 day"),
    ],
)
def test_a_bad_period_is_named(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigurationError, match=named):
        Retention.from_env(env)
