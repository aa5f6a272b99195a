"""Placement follows a group's live decision on the real broker: grown, then declined.

The placement worker runs as a real process; the test publishes `screened` decisions of
one family and reads what a user sees on ``placement-withdrawn`` and ``placed``.
"""

from __future__ import annotations

from typing import Any

from schemas.envelope import Envelope, event_id_for
from services.runtime.context import Runtime
from tests.conftest import StartService
from tests.integration.test_placement_support import (
    CHIHUAHUA,
    accepted,
    events,
    now_in,
    publish,
    same_partition_groups,
)


def redecided(first: Envelope[Any], case_ids: list[str], decision: str = "accepted") -> Any:
    """`first`'s family decided again over `case_ids`, superseding `first`."""
    again = accepted(first.data.group_id, first.crossing or "", case_ids, first.data.returned_at)
    data = again.data.model_copy(
        update={"decision": decision, "supersedes": first.event_id, "revision": 2}
    )
    event_id = event_id_for("screened", "test", first.data.group_id, *case_ids, decision)
    return again.model_copy(update={"data": data, "event_id": event_id})


def test_a_family_that_grows_is_placed_again_whole_and_released_once_declined(
    runtime: Runtime, start_service: StartService
) -> None:
    start_service("placement")
    (group,) = same_partition_groups(runtime, "ELP", "G-2026-ELP", 1)
    four = [f"A21230{i:04d}" for i in range(4)]
    first = accepted(group, "ELP", four, now_in(CHIHUAHUA))
    publish(runtime, "screened", [first])
    events(runtime, "placed", lambda e: len(e) >= 1)

    # The eldest son arrives late: the family of 5 is re-decided and placed again whole.
    five = redecided(first, [*four, "A212300004"])
    publish(runtime, "screened", [five])
    placed = [r.event() for r in events(runtime, "placed", lambda e: len(e) >= 2)]
    changed = events(runtime, "placement-withdrawn", lambda e: len(e) >= 1)[0].event()
    assert (changed.data.reason, changed.data.beds_released) == ("GROUP_CHANGED", 4)
    assert changed.data.placed_event_id == placed[0].event_id
    assert (placed[1].data.beds, placed[1].causation_id) == (5, five.event_id)

    # A correction leads screening to decline the family: its 5 beds are given back.
    five_ids = [m.case_id for m in five.data.members]
    declined = redecided(five, five_ids, "declined")
    declined = declined.model_copy(
        update={"data": declined.data.model_copy(update={"revision": 3})}
    )
    publish(runtime, "screened", [declined])
    withdrawn = [r.event() for r in events(runtime, "placement-withdrawn", lambda e: len(e) >= 2)]
    assert [(w.data.reason, w.data.beds_released) for w in withdrawn] == [
        ("GROUP_CHANGED", 4),
        ("NO_LONGER_ACCEPTED", 5),
    ]
    assert sorted(withdrawn[1].data.members) == sorted(five_ids)
