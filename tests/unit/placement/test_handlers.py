"""The single writer's decisions, one command at a time, as a user of the topics sees them."""

from __future__ import annotations

from datetime import datetime, timedelta

from schemas.codec import encode
from schemas.envelope import event_id_for
from services.placement.handlers import decide
from services.placement.store import UnitStore
from tests.unit.placement.command_factories import (
    PRODUCER,
    REFERENCE,
    UNITS,
    Desk,
    arrival,
    data,
    departure,
    later,
    only_shelter,
    set_beds,
    set_status,
    tick,
)
from tests.unit.placement.placement_factories import AFTERNOON, THANKSGIVING

NEXT_MORNING = later(AFTERNOON, hours=16)  # 08:00 on the 28th in Ciudad Juárez


def test_groups_waiting_for_a_suspended_location_are_placed_in_arrival_order_once_it_reopens() -> (
    None
):
    desk = Desk()
    desk.run(set_status("CJS", "suspended"))
    arrivals = [
        arrival(f"G-{n}", size, at=later(AFTERNOON, minutes=n))
        for n, size in [(1, 3), (2, 1), (3, 2)]
    ]
    deferred = data(desk.run(*arrivals), "placement-deferred")
    assert [(d.group_id, d.reason, d.queue_position) for d in deferred] == [
        ("G-1", "LOCATION_SUSPENDED", 1),
        ("G-2", "LOCATION_SUSPENDED", 2),
        ("G-3", "LOCATION_SUSPENDED", 3),
    ]
    placed = data(desk.run(set_status("CJS", "normal", at=later(AFTERNOON, hours=1))), "placed")
    assert [p.group_id for p in placed] == ["G-1", "G-2", "G-3"]
    assert [p.deferred_since for p in placed] == [a.issued_at for a in arrivals]
    assert desk.view("CJS").queue("CJS") == ()


def test_a_smaller_group_does_not_jump_a_group_waiting_for_the_daily_cap() -> None:
    desk = Desk()
    desk.run(set_status("CJS", "normal", cap=5))
    assert data(desk.run(arrival("G-1", 4)), "placed")
    deferred = data(desk.run(arrival("G-2", 3), arrival("G-3", 1)), "placement-deferred")
    assert [(d.group_id, d.reason, d.queue_position) for d in deferred] == [
        ("G-2", "DAILY_CAP_REACHED", 1),
        ("G-3", "DAILY_CAP_REACHED", 2),
    ]


def test_the_next_local_day_lets_the_groups_held_by_the_cap_in() -> None:
    desk = Desk()
    desk.run(
        set_status("CJS", "normal", cap=5), arrival("G-1", 4), arrival("G-2", 3), arrival("G-3", 1)
    )
    same_day = desk.apply(tick("CJS", later(AFTERNOON, hours=2)))
    assert (same_day.emissions, same_day.changed) == ((), False)
    placed = data(desk.run(tick("CJS", NEXT_MORNING)), "placed")
    # Every command here is issued at AFTERNOON; each one's events follow the previous
    # one's by a millisecond (see `test_a_units_events_never_share_a_millisecond...`).
    assert [(p.group_id, whole_second(p.deferred_since)) for p in placed] == [
        ("G-2", AFTERNOON),
        ("G-3", AFTERNOON),
    ]
    counts = desk.view("CJS").locations["CJS"].placements_by_date
    assert counts == {THANKSGIVING: 4, THANKSGIVING + timedelta(days=1): 4}


def test_a_departure_frees_beds_for_the_group_waiting_for_them() -> None:
    desk = Desk()
    desk.run(*only_shelter("CJS", "CJS-S05", 3))
    assert data(desk.run(arrival("G-1", 3)), "placed")[0].shelter_id == "CJS-S05"
    assert (
        data(desk.run(arrival("G-2", 2)), "placement-deferred")[0].reason == "NO_SHELTER_CAPACITY"
    )
    placed = data(desk.run(departure("G-1", "CJS", "CJS-S05")), "placed")
    assert [(p.group_id, p.shelter_id, whole_second(p.deferred_since)) for p in placed] == [
        ("G-2", "CJS-S05", AFTERNOON)
    ]
    assert desk.view("CJS").locations["CJS"].shelters["CJS-S05"].occupied == 2


def test_departures_of_groups_never_placed_there_are_rejected_and_change_nothing() -> None:
    desk = Desk()
    desk.run(set_status("CJS", "suspended"), arrival("G-WAITING", 2))
    desk.run(set_status("PDS", "normal"), arrival("G-PDS", 2, crossing="EGP"))
    before = dict(desk.table)
    reasons = [
        desk.apply(departure(group, location, shelter)).rejections[0].reason
        for group, location, shelter in [
            ("G-NEVER", "CJS", "CJS-S01"),
            ("G-WAITING", "CJS", "CJS-S01"),
            ("G-PDS", "PDS", "PDS-S03"),
        ]
    ]
    assert reasons == [
        "DEPARTURE_OF_UNPLACED_GROUP",
        "DEPARTURE_OF_UNPLACED_GROUP",
        "DEPARTURE_SHELTER_MISMATCH",
    ]
    assert desk.table == before


def test_a_second_departure_or_a_second_arrival_of_one_group_is_a_duplicate() -> None:
    desk = Desk()
    shelter = data(desk.run(arrival("G-1", 2)), "placed")[0].shelter_id
    assert data(desk.run(departure("G-1", "CJS", shelter)), "placed") == []
    again = desk.apply(departure("G-1", "CJS", shelter))
    assert (again.duplicate, again.changed, again.rejections) == (True, False, ())
    resent = desk.apply(arrival("G-1", 2, at=later(AFTERNOON, minutes=5)))
    assert (resent.duplicate, resent.emissions) == (True, ())


def test_a_group_larger_than_every_shelter_is_reported_once_and_holds_back_nobody() -> None:
    desk = Desk()
    desk.run(*only_shelter("CJS", "CJS-S05", 3))
    big = desk.apply(arrival("G-BIG", 5))
    assert [(d.group_id, d.reason) for d in data(list(big.emissions), "placement-deferred")] == [
        ("G-BIG", "GROUP_EXCEEDS_LARGEST_SHELTER")
    ]
    assert [p.group_id for p in data(desk.run(arrival("G-SMALL", 2)), "placed")] == ["G-SMALL"]
    assert desk.run(set_status("CJS", "normal", at=later(AFTERNOON, minutes=5))) == []
    assert [e.group_id for e in desk.view("CJS").queue("CJS")] == ["G-BIG"]
    placed = data(
        desk.run(set_beds("CJS", "CJS-S01", 10, at=later(AFTERNOON, minutes=9))), "placed"
    )
    assert [(p.group_id, p.shelter_id) for p in placed] == [("G-BIG", "CJS-S01")]


def test_a_group_for_suspended_nuevo_laredo_goes_to_monterrey_with_transport() -> None:
    desk = Desk()
    desk.run(set_status("NLD", "suspended"))
    placed = data(desk.run(arrival("G-LRD", 4, crossing="LRD")), "placed")[0]
    assert (
        placed.location,
        placed.shelter_id,
        placed.rerouted_from,
        placed.transport_required,
    ) == (
        "MTY",
        "MTY-S01",
        "NLD",
        True,
    )
    unit = desk.view("MTY")
    assert unit.locations["MTY"].shelters["MTY-S01"].occupied == 4
    assert unit.locations["NLD"].placements_by_date == {}


def test_a_new_reason_to_wait_is_announced_once_with_its_own_event() -> None:
    desk = Desk()
    desk.run(*only_shelter("CJS", "CJS-S05", 3), arrival("G-1", 3))
    first = desk.run(arrival("G-2", 2))
    then = desk.run(set_status("CJS", "suspended", at=later(AFTERNOON, minutes=1)))
    again = desk.run(set_status("CJS", "normal", at=later(AFTERNOON, minutes=2)))
    assert [d.reason for d in data(first + then, "placement-deferred")] == [
        "NO_SHELTER_CAPACITY",
        "LOCATION_SUSPENDED",
    ]
    assert first[0].envelope.event_id != then[0].envelope.event_id
    assert again == []  # back to NO_SHELTER_CAPACITY: already announced


def test_an_older_status_than_the_one_in_force_is_rejected_as_stale() -> None:
    desk = Desk()
    desk.run(set_status("CJS", "suspended", at=later(AFTERNOON, minutes=5)))
    stale = desk.apply(set_status("CJS", "normal", at=AFTERNOON))
    assert [r.reason for r in stale.rejections] == ["STALE_UPDATE"]
    assert desk.view("CJS").locations["CJS"].security_level == "suspended"


def test_deciding_the_same_command_on_the_same_state_gives_the_same_bytes() -> None:
    desk = Desk()
    desk.run(set_status("CJS", "suspended"), arrival("G-1", 2), arrival("G-2", 3))
    state = desk.store.load("CJS")
    reopen = set_status("CJS", "normal", at=later(AFTERNOON, hours=1))
    kept = desk.store.queues(state).locations  # the writer's queues, kept in memory
    rebuilt = UnitStore(dict(desk.table), REFERENCE, UNITS).queues(state).locations  # a restart
    first, second = (
        decide(reopen, state, queues, 9, desk.store.lookup(state), PRODUCER)
        for queues in (kept, rebuilt)
    )
    assert [encode(e.envelope) for e in first.emissions] == [
        encode(e.envelope) for e in second.emissions
    ]
    assert len(first.emissions) == 2
    assert first.state == second.state


def test_event_ids_follow_from_the_screened_event_and_the_reason() -> None:
    desk = Desk()
    desk.run(set_status("CJS", "suspended"))
    deferred = desk.run(arrival("G-1", 2))[0].envelope
    placed = desk.run(set_status("CJS", "normal", at=later(AFTERNOON, hours=1)))[0].envelope
    assert deferred.event_id == event_id_for(
        "placement-deferred", "screened-G-1", "LOCATION_SUSPENDED"
    )
    assert placed.event_id == event_id_for("placed", "screened-G-1")
    assert (placed.correlation_id, placed.causation_id, placed.crossing) == (
        "G-1",
        "screened-G-1",
        "ELP",
    )


def whole_second(at: datetime | None) -> datetime | None:
    return at.replace(microsecond=0) if at is not None else None


def test_a_units_events_never_share_a_millisecond_across_commands() -> None:
    # Two arrivals issued in the same millisecond, their events on two lanes of El Paso:
    # the second command's events must come after the first's, so that an auditor
    # reading the lanes by time sees them in the writer's order.
    desk = Desk()
    desk.run(set_status("CJS", "normal", cap=4))
    first = desk.apply(arrival("G-1", 4))
    second = desk.apply(arrival("G-2", 2))
    [placed] = [e.envelope for e in first.emissions]
    [deferred] = [e.envelope for e in second.emissions]
    assert deferred.data.reason == "DAILY_CAP_REACHED"
    assert deferred.occurred_at - placed.occurred_at == timedelta(milliseconds=1)
    assert deferred.data.deferred_since == deferred.occurred_at
