"""How long intake remembers an accepted submission, and what a re-send after that does.

The agent's order, as in services/intake/app.py: say the partition and time, forget
what is due there, then handle the submission.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from schemas import Envelope, IntakeRejected, SubmissionOrigin
from services.intake.handling import IntakeHandler, seen_key
from services.intake.retention import RetainedSubmissions, retain_for
from services.reference import load_reference
from services.runtime.settings import ConfigurationError
from tests.unit.contracts.samples import as_bytes, submission

NOW = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)
DAY = timedelta(days=1)
KEY = seen_key("cbp-elp", "cbp-elp-2026-11-27-000981")


class Intake:
    def __init__(
        self,
        tables: tuple[dict[str, bytes], dict[str, bytes]] | None = None,
        index_at: Path | None = None,
    ) -> None:
        self.entries, self.expiry = tables or ({}, {})
        self.seen = RetainedSubmissions(self.entries, self.expiry, keep=35 * DAY, index_at=index_at)
        self.sent: list[tuple[str, Envelope[Any]]] = []
        self.handler = IntakeHandler(load_reference(), self.seen, self.emit)

    async def emit(self, topic: str, envelope: Envelope[Any]) -> None:
        self.sent.append((topic, envelope))

    async def submit(self, record: dict[str, Any], at: datetime, partition: int = 3) -> str:
        origin = SubmissionOrigin(
            channel="kafka", topic="returns-inbound", partition=partition, offset=0
        )
        self.seen.at(partition, at)
        self.seen.expire_due(partition, at)
        outcome = await self.handler.handle(as_bytes(record), None, origin, at)
        return outcome.status

    def published(self) -> list[str]:
        return [e.event_id for topic, e in self.sent if topic == "person-returned"]

    def rejected(self) -> list[IntakeRejected]:
        return [e.data for topic, e in self.sent if topic == "intake-rejected"]


@pytest.fixture(params=["heap", "disk"])
def index_at(request: pytest.FixtureRequest, tmp_path: Path) -> Path | None:
    """Where intake keeps its expiry index: in the heap, or on disk as a worker does."""
    return None if request.param == "heap" else tmp_path / "due"


async def test_a_re_send_within_the_period_is_a_duplicate(index_at: Path | None) -> None:
    intake = Intake(index_at=index_at)
    assert await intake.submit(submission(), NOW) == "accepted"
    assert await intake.submit(submission(), NOW + 34 * DAY) == "duplicate"
    assert len(intake.published()) == 1


async def test_a_re_send_after_the_period_is_published_again_under_the_same_event_id(
    index_at: Path | None,
) -> None:
    # Screening already holds that event id: the group gets no second decision.
    intake = Intake(index_at=index_at)
    await intake.submit(submission(), NOW)
    assert await intake.submit(submission(), NOW + 36 * DAY) == "accepted"
    first, again = intake.published()
    assert first == again


async def test_a_changed_re_send_after_the_period_is_no_longer_called_a_conflict(
    index_at: Path | None,
) -> None:
    intake = Intake(index_at=index_at)
    await intake.submit(submission(), NOW)
    changed = submission(group_size=2)
    assert await intake.submit(changed, NOW + 36 * DAY) == "accepted"
    assert intake.rejected() == []
    assert len(set(intake.published())) == 1  # the same event id: the first version stands


async def test_an_entry_is_forgotten_by_its_own_partition_only(index_at: Path | None) -> None:
    intake = Intake(index_at=index_at)
    await intake.submit(submission(), NOW, partition=3)
    other = submission(submission_id="cbp-elp-2026-11-27-000982", case_id="A212345679")
    await intake.submit(other, NOW + 40 * DAY, partition=4)
    assert KEY in intake.entries
    await intake.submit(other, NOW + 40 * DAY, partition=3)
    assert KEY not in intake.entries
    assert KEY not in intake.expiry


async def test_a_restarted_intake_forgets_on_the_same_schedule(index_at: Path | None) -> None:
    before = Intake(index_at=index_at)
    await before.submit(submission(), NOW)
    # Recovered from their changelogs; the index built again.
    restarted = Intake((before.entries, before.expiry), index_at and index_at.with_name("again"))
    assert await restarted.submit(submission(), NOW + 34 * DAY) == "duplicate"
    assert await restarted.submit(submission(), NOW + 36 * DAY) == "accepted"


def test_the_period_comes_from_the_environment() -> None:
    assert retain_for({"RETURNS_INTAKE_RETAIN_DAYS": "40"}) == 40 * DAY
    assert retain_for({}) == 35 * DAY


@pytest.mark.parametrize("value", ["0", "-1", "a month"])
def test_a_bad_period_is_named(value: str) -> None:
    with pytest.raises(ConfigurationError, match="RETURNS_INTAKE_RETAIN_DAYS"):
        retain_for({"RETURNS_INTAKE_RETAIN_DAYS": value})
