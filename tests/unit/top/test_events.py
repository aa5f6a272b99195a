"""Reading an event's bytes keeps its envelope and a few non-personal fields, nothing else."""

from __future__ import annotations

from datetime import UTC, datetime

from services.observe import observe
from tests.unit.top.factories import envelope_bytes

AT = datetime(2026, 11, 27, 16, 0, 5, 120_000, tzinfo=UTC).timestamp()


def test_a_person_returned_gives_its_group_crossing_time_and_size() -> None:
    raw = envelope_bytes(
        "person-returned",
        {"group_id": "G-2026-000123", "group_size": 3, "person": {"given_names": "María José"}},
    )
    seen = observe("person-returned", raw)
    assert seen is not None
    assert (seen.group_id, seen.crossing, seen.group_size) == ("G-2026-000123", "ELP", 3)
    assert seen.at == AT
    assert "María" not in repr(seen)


def test_a_screened_gives_its_decision() -> None:
    raw = envelope_bytes("screened", {"decision": "declined", "reasons": []})
    seen = observe("screened", raw)
    assert seen is not None
    assert (seen.decision, seen.incomplete) == ("declined", False)


def test_a_group_closed_incomplete_is_marked() -> None:
    reasons = [{"case_id": None, "code": "GROUP_INCOMPLETE"}]
    raw = envelope_bytes("screened", {"decision": "referred", "reasons": reasons})
    seen = observe("screened", raw)
    assert seen is not None
    assert seen.incomplete


def test_an_offset_in_occurred_at_is_read_as_the_same_instant() -> None:
    raw = envelope_bytes("placed", {}, occurred_at="2026-11-27T09:00:05.120-07:00")
    seen = observe("placed", raw)
    assert seen is not None
    assert seen.at == AT


def test_bytes_that_are_no_envelope_are_skipped() -> None:
    assert observe("screened", b"not json") is None
    assert observe("screened", b"[1, 2]") is None
    assert observe("screened", b'{"event_id": "x"}') is None
    assert observe("placed", envelope_bytes("placed", {}, occurred_at="yesterday")) is None
