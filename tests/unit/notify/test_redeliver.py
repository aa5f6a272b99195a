"""What `returns notify redeliver` re-sends, and how it reads --since."""

from __future__ import annotations

from datetime import timedelta

import pytest
import typer

from services.notify.cli import parse_since
from services.notify.redeliver import to_redeliver


def test_failed_events_that_were_delivered_since_are_not_sent_again() -> None:
    failed = ["e1", "e2", "e3", "e2"]
    assert to_redeliver(failed, delivered=["e2"]) == ["e1", "e3"]


def test_each_failed_event_is_sent_once_in_order_of_first_failure() -> None:
    assert to_redeliver(["e3", "e1", "e3", "e1"], delivered=[]) == ["e3", "e1"]


def test_since_takes_an_offset_or_z() -> None:
    assert parse_since("2026-11-27T06:00:00-07:00").utcoffset() == timedelta(hours=-7)
    assert parse_since("2026-11-27T13:00:00Z").utcoffset() == timedelta(0)


@pytest.mark.parametrize("value", ["2026-11-27T06:00:00", "yesterday"])
def test_since_without_an_offset_or_unreadable_is_refused(value: str) -> None:
    with pytest.raises(typer.BadParameter):
        parse_since(value)
