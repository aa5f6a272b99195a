"""Placement follows a group's live decision: a family re-decided moves, waits or leaves whole."""

from __future__ import annotations

from datetime import datetime

from schemas.envelope import event_id_for
from services.placement.commands import PlaceGroup, WithdrawGroup
from tests.unit.placement.command_factories import (
    UNITS,
    Desk,
    arrival,
    data,
    departure,
    later,
    only_shelter,
    set_status,
)
from tests.unit.placement.placement_factories import AFTERNOON, THANKSGIVING


def grown(first: PlaceGroup, size: int, at: datetime, revision: int = 2) -> PlaceGroup:
    """`first`'s group re-decided with `size` members: a late cousin, a corrected record."""
    number = first.members[0][:-2]
    return first.model_copy(
        update={
            "issued_at": at,
            "members": tuple(f"{number}{i:02d}" for i in range(size)),
            "beds": size,
            "screened_event_id": f"{first.screened_event_id}-r{revision}",
            "supersedes": first.screened_event_id,
        }
    )


def declined(decided: PlaceGroup, at: datetime) -> WithdrawGroup:
    """A correction after which screening no longer accepts `decided`'s group."""
    return WithdrawGroup(
        unit=UNITS.unit_of(decided.location),
        issued_at=at,
        group_id=decided.group_id,
        crossing=decided.crossing,
        location=decided.location,
        screened_event_id=f"{decided.screened_event_id}-declined",
        supersedes=decided.screened_event_id,
    )


def occupied(desk: Desk, location: str = "CJS") -> dict[str, int]:
    shelters = desk.view(location).locations[location].shelters
    return {shelter_id: s.occupied for shelter_id, s in shelters.items() if s.occupied}


def test_a_waiting_family_that_grows_keeps_its_place_in_the_queue() -> None:
    # Given Ciudad Juárez suspended and three families waiting, the Ramírez family second
    desk = Desk()
    desk.run(set_status("CJS", "suspended"))
    first, ramirez, third = (
        arrival(f"G-{n}", size, at=later(AFTERNOON, minutes=n))
        for n, size in [(1, 3), (2, 2), (3, 1)]
    )
    desk.run(first, ramirez, third)
    # When the Ramírez family's grandmother arrives and the family is re-decided with 3
    deferred = data(desk.run(grown(ramirez, 3, later(AFTERNOON, minutes=10))), "placement-deferred")
    # Then it waits at the same place, with 3 beds, announced under the new decision
    queue = desk.view("CJS").queue("CJS")
    assert [(e.group_id, e.beds, e.waits.deferred_since) for e in queue] == [
        ("G-1", 3, later(AFTERNOON, minutes=1)),
        ("G-2", 3, later(AFTERNOON, minutes=2)),
        ("G-3", 1, later(AFTERNOON, minutes=3)),
    ]
    assert [(d.group_id, d.beds, d.queue_position) for d in deferred] == [("G-2", 3, 2)]
    # And once the location reopens, the families are placed in their order of arrival
    placed = data(desk.run(set_status("CJS", "normal", at=later(AFTERNOON, hours=1))), "placed")
    assert [(p.group_id, p.beds) for p in placed] == [("G-1", 3), ("G-2", 3), ("G-3", 1)]


def test_a_placed_family_of_four_that_grows_to_five_is_placed_again_whole() -> None:
    # Given the Hernández family of 4 placed at Respettrans, the only shelter with beds
    desk = Desk()
    desk.run(*only_shelter("CJS", "CJS-S05", 25))
    hernandez = arrival("G-40", 4)
    old = data(desk.run(hernandez), "placed")[0]
    # When their eldest son's record arrives late and the family is re-decided with 5
    emitted = desk.run(grown(hernandez, 5, later(AFTERNOON, minutes=20)))
    # Then the old placement is withdrawn and the family of 5 placed together at one shelter
    assert [e.topic for e in emitted] == ["placement-withdrawn", "placed"]
    withdrawn, placed = (e.envelope.data for e in emitted)
    assert (withdrawn.reason, withdrawn.shelter_id, withdrawn.beds_released) == (
        "GROUP_CHANGED",
        "CJS-S05",
        4,
    )
    assert withdrawn.placed_event_id == event_id_for("placed", "screened-G-40")
    assert withdrawn.members == old.members
    assert (placed.shelter_id, placed.beds, len(placed.members)) == ("CJS-S05", 5, 5)
    # And the old 4 beds are free: 5 taken, and the day counts the family once
    assert occupied(desk) == {"CJS-S05": 5}
    assert desk.view("CJS").locations["CJS"].placements_by_date == {THANKSGIVING: 5}


def test_a_grown_family_that_no_shelter_can_take_waits_and_frees_its_old_beds() -> None:
    # Given Respettrans with 6 beds: the Hernández family of 4 and the Cruz couple in it
    desk = Desk()
    desk.run(*only_shelter("CJS", "CJS-S05", 6))
    hernandez = arrival("G-40", 4)
    desk.run(hernandez, arrival("G-41", 2, at=later(AFTERNOON, minutes=1)))
    # When the Hernández family grows to 5
    emitted = desk.run(grown(hernandez, 5, later(AFTERNOON, minutes=20)))
    # Then it is withdrawn and waits for 5 beds; its 4 old beds are free
    assert [e.topic for e in emitted] == ["placement-withdrawn", "placement-deferred"]
    assert emitted[1].envelope.data.reason == "NO_SHELTER_CAPACITY"
    assert occupied(desk) == {"CJS-S05": 2}
    # And once the Cruz couple leaves, the family of 5 is placed whole
    placed = data(
        desk.run(departure("G-41", "CJS", "CJS-S05", later(AFTERNOON, hours=3))), "placed"
    )
    assert [(p.group_id, p.beds) for p in placed] == [("G-40", 5)]


def test_a_placed_family_declined_by_a_correction_gives_its_beds_back() -> None:
    # Given the Morales family of 3 placed at Respettrans
    desk = Desk()
    desk.run(*only_shelter("CJS", "CJS-S05", 25))
    morales = arrival("G-70", 3)
    placed = data(desk.run(morales), "placed")[0]
    # When a corrected record leads screening to decline the family
    emitted = desk.run(declined(morales, later(AFTERNOON, minutes=30)))
    # Then its placement is withdrawn, its beds free, the people it received still counted
    withdrawn = data(emitted, "placement-withdrawn")
    assert [(w.reason, w.shelter_id, w.beds_released, w.members) for w in withdrawn] == [
        ("NO_LONGER_ACCEPTED", "CJS-S05", 3, placed.members)
    ]
    assert occupied(desk) == {}
    assert desk.view("CJS").locations["CJS"].placements_by_date == {THANKSGIVING: 3}
    assert desk.store.group("CJS", "G-70").status == "withdrawn"  # type: ignore[union-attr]


def test_a_waiting_family_no_longer_accepted_leaves_the_queue_and_the_next_is_placed() -> None:
    # Given a cap of 5 at Ciudad Juárez: 4 received, the Soto family of 3 and a man waiting
    desk = Desk()
    desk.run(set_status("CJS", "normal", cap=5), arrival("G-1", 4))
    soto = arrival("G-2", 3, at=later(AFTERNOON, minutes=1))
    desk.run(soto, arrival("G-3", 1, at=later(AFTERNOON, minutes=2)))
    # When the Soto family is no longer accepted
    emitted = desk.run(declined(soto, later(AFTERNOON, minutes=30)))
    # Then it leaves the queue, with no beds to give back, and the man behind it is placed
    withdrawn = data(emitted, "placement-withdrawn")
    assert [(w.shelter_id, w.beds_released, w.location) for w in withdrawn] == [(None, 0, "CJS")]
    assert [p.group_id for p in data(emitted, "placed")] == ["G-3"]
    assert desk.view("CJS").queue("CJS") == ()


def test_a_redelivered_old_decision_is_a_duplicate() -> None:
    # Given the Hernández family placed, then re-decided with 5
    desk = Desk()
    hernandez = arrival("G-40", 4)
    five = grown(hernandez, 5, later(AFTERNOON, minutes=20))
    desk.run(hernandez, five)
    # When the first decision, and then the second, are delivered again
    old = desk.apply(hernandez.model_copy(update={"issued_at": later(AFTERNOON, hours=1)}))
    again = desk.apply(five.model_copy(update={"issued_at": later(AFTERNOON, hours=1)}))
    # Then both are duplicates: nothing is emitted, nothing moves
    assert (old.duplicate, old.emissions, again.duplicate, again.emissions) == (True, (), True, ())


def test_a_declined_family_accepted_again_is_placed_anew() -> None:
    desk = Desk()
    morales = arrival("G-70", 3)
    desk.run(morales, declined(morales, later(AFTERNOON, minutes=30)))
    back = grown(morales, 3, later(AFTERNOON, minutes=40), revision=3)
    placed = data(desk.run(back), "placed")
    assert [(p.group_id, p.beds) for p in placed] == [("G-70", 3)]
    assert desk.run(declined(morales, later(AFTERNOON, minutes=50))) == []  # an old decision


def test_a_family_that_departed_is_not_placed_again() -> None:
    desk = Desk()
    hernandez = arrival("G-40", 4)
    shelter = data(desk.run(hernandez), "placed")[0].shelter_id
    desk.run(departure("G-40", "CJS", shelter, later(AFTERNOON, hours=5)))
    outcome = desk.apply(grown(hernandez, 5, later(AFTERNOON, hours=6)))
    assert outcome.emissions == ()
    assert [r.reason for r in outcome.rejections] == ["REDECISION_AFTER_DEPARTURE"]


def test_a_withdrawal_of_a_group_never_placed_changes_nothing() -> None:
    desk = Desk()
    outcome = desk.apply(declined(arrival("G-9", 2), AFTERNOON))
    assert (outcome.emissions, outcome.changed) == ((), False)


def test_a_family_placed_at_the_alternate_gives_its_beds_back_there() -> None:
    desk = Desk()
    desk.run(set_status("NLD", "suspended"))
    garza = arrival("G-80", 2, crossing="LRD")
    desk.run(garza)
    emitted = desk.run(grown(garza, 3, later(AFTERNOON, minutes=15)))
    withdrawn, placed = (e.envelope.data for e in emitted)
    assert (withdrawn.location, withdrawn.beds_released) == ("MTY", 2)
    assert (placed.location, placed.rerouted_from, placed.beds) == ("MTY", "NLD", 3)
    assert occupied(desk, "MTY") == {placed.shelter_id: 3}


def test_a_corrected_detail_that_keeps_the_same_family_keeps_its_beds() -> None:
    desk = Desk()
    hernandez = arrival("G-40", 4)
    desk.run(hernandez)
    corrected = grown(hernandez, 4, later(AFTERNOON, minutes=20))
    assert desk.run(corrected) == []
    record = desk.store.group("CJS", "G-40")
    assert record is not None
    assert (record.status, record.screened_event_id) == ("placed", corrected.screened_event_id)
    assert desk.apply(hernandez).duplicate
