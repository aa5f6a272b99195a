"""The placement rules (CONTRACT.md, "Placement rules"), one sentence per case."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest

from schemas.decisions import DeferralReason
from schemas.status import SecurityLevel
from services.placement.policy import (
    Deferral,
    Placement,
    drain_queue,
    place_group,
    shelter_with_most_free_beds,
)
from services.placement.state import (
    LocationState,
    ShelterState,
    initial_states,
    local_date,
    with_capacity,
    with_departure,
    with_placement,
    with_status,
)
from services.reference import load_reference
from tests.unit.placement.placement_factories import (
    AFTERNOON,
    CHIHUAHUA,
    TAMAULIPAS,
    THANKSGIVING,
    group,
    location,
    shelter,
    waiting,
)

NEXT_DAY = THANKSGIVING + timedelta(days=1)

# Ciudad Juárez: Casa del Migrante nearly full, the federal Leona Vicario with room.
CASA_DEL_MIGRANTE = shelter("CJS-S01", free=8, beds=180)
BUEN_SAMARITANO = shelter("CJS-S02", free=4, beds=30)
LEONA_VICARIO = shelter("CJS-S16", free=40, beds=600)
# Tijuana: the YMCA house takes unaccompanied children only.
YMCA_MENORES = shelter("TIJ-S04", free=60, beds=65, serves="unaccompanied_children")
CASA_DEL_MIGRANTE_TIJ = shelter("TIJ-S01", free=2, beds=150)
# Monterrey, the alternate of Nuevo Laredo and Matamoros.
CASA_INDI = shelter("MTY-S01", free=120, beds=300)
CASA_NICOLAS = shelter("MTY-S02", free=15, beds=80)
MTY = location("MTY", CASA_INDI, CASA_NICOLAS)
MTY_FULL = location("MTY", shelter("MTY-S01", free=0, beds=300))
MTY_CAPPED = location("MTY", CASA_INDI, received={THANKSGIVING: 29})
MTY_SUSPENDED = location("MTY", CASA_INDI, level="suspended")
NLD_SUSPENDED = location(
    "NLD", shelter("NLD-S01", free=50, beds=150), level="suspended", alternate="MTY"
)


def juarez(
    *shelters: ShelterState,
    cap: int = 30,
    received: dict[date, int] | None = None,
    level: SecurityLevel = "normal",
) -> LocationState:
    """Ciudad Juárez, by default with Casa del Migrante (8 free) and Leona Vicario (40 free)."""
    chosen = shelters or (CASA_DEL_MIGRANTE, LEONA_VICARIO)
    return location("CJS", *chosen, cap=cap, received=received, level=level)


@dataclass(frozen=True)
class Case:
    story: str
    size: int
    home: LocationState
    expected: Placement | Deferral
    alternate: LocationState | None = None
    today: date = THANKSGIVING


CASES = [
    Case(
        "27 received plus a family of 3 reaches a cap of 30 exactly, so it is placed",
        3,
        juarez(received={THANKSGIVING: 27}),
        Placement("CJS", "CJS-S16", 3),
    ),
    Case(
        "28 received plus a family of 3 would pass a cap of 30",
        3,
        juarez(received={THANKSGIVING: 28}),
        Deferral("DAILY_CAP_REACHED"),
    ),
    Case(
        "people received on other days do not count against today",
        3,
        juarez(received={THANKSGIVING - timedelta(days=1): 30}),
        Placement("CJS", "CJS-S16", 3),
    ),
    Case(
        "a family of 6 fits only Casa del Migrante",
        6,
        juarez(CASA_DEL_MIGRANTE, BUEN_SAMARITANO),
        Placement("CJS", "CJS-S01", 6),
    ),
    Case(
        "the federal shelter, with the most free beds, wins",
        3,
        juarez(),
        Placement("CJS", "CJS-S16", 3),
    ),
    Case(
        "equal free beds go to the smaller shelter id, whatever the order",
        2,
        juarez(shelter("CJS-S07", free=12, beds=40), shelter("CJS-S03", free=12, beds=70)),
        Placement("CJS", "CJS-S03", 2),
    ),
    Case(
        "a children's shelter never takes a family, even with beds to spare",
        4,
        location("TIJ", YMCA_MENORES, CASA_DEL_MIGRANTE_TIJ),
        Deferral("NO_SHELTER_CAPACITY"),
    ),
    Case(
        "a family waits when no shelter has room for all of them together",
        9,
        juarez(CASA_DEL_MIGRANTE, BUEN_SAMARITANO),
        Deferral("NO_SHELTER_CAPACITY"),
    ),
    Case(
        "suspended Nuevo Laredo reroutes to Monterrey, with transport",
        4,
        NLD_SUSPENDED,
        Placement("MTY", "MTY-S01", 4, rerouted_from="NLD", transport_required=True),
        alternate=MTY,
    ),
    Case(
        "suspended Ciudad Juárez has no alternate",
        4,
        juarez(level="suspended"),
        Deferral("LOCATION_SUSPENDED"),
    ),
    Case(
        "suspended Nuevo Laredo waits when Monterrey has no free beds",
        4,
        NLD_SUSPENDED,
        Deferral("LOCATION_SUSPENDED"),
        alternate=MTY_FULL,
    ),
    Case(
        "suspended Nuevo Laredo waits when Monterrey's cap is reached",
        4,
        NLD_SUSPENDED,
        Deferral("LOCATION_SUSPENDED"),
        alternate=MTY_CAPPED,
    ),
    Case(
        "suspended Nuevo Laredo waits when Monterrey is suspended too",
        4,
        NLD_SUSPENDED,
        Deferral("LOCATION_SUSPENDED"),
        alternate=MTY_SUSPENDED,
    ),
    Case(
        "a capped day opens on the next local day",
        3,
        juarez(received={THANKSGIVING: 30}),
        Placement("CJS", "CJS-S16", 3),
        today=NEXT_DAY,
    ),
    Case(
        "an extended family of 14 is bigger than every shelter in Nogales after Covid cuts",
        14,
        location("NOG", shelter("NOG-S01", free=12), shelter("NOG-S04", free=3, beds=10)),
        Deferral("GROUP_EXCEEDS_LARGEST_SHELTER"),
    ),
    Case(
        "a group too big for any shelter is reported so even on a capped day",
        14,
        location("NOG", shelter("NOG-S01", free=12), received={THANKSGIVING: 30}),
        Deferral("GROUP_EXCEEDS_LARGEST_SHELTER"),
    ),
    Case(
        "a children's shelter does not count as big enough for a family",
        14,
        location("TIJ", YMCA_MENORES, shelter("TIJ-S01", free=2, beds=10)),
        Deferral("GROUP_EXCEEDS_LARGEST_SHELTER"),
    ),
    Case(
        "a suspended location without alternate still reports a group it can never take",
        14,
        location("NOG", shelter("NOG-S01", free=12), level="suspended"),
        Deferral("GROUP_EXCEEDS_LARGEST_SHELTER"),
    ),
    Case(
        "a family too big for Nuevo Laredo's shelters fits Monterrey while NLD is suspended",
        14,
        location("NLD", shelter("NLD-S03", free=12), level="suspended", alternate="MTY"),
        Placement("MTY", "MTY-S01", 14, rerouted_from="NLD", transport_required=True),
        alternate=MTY,
    ),
    Case(
        "elevated security does not stop placements",
        3,
        juarez(level="elevated"),
        Placement("CJS", "CJS-S16", 3),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.story for case in CASES])
def test_place_group(case: Case) -> None:
    request = group("G-2026-000123", case.size)
    assert place_group(request, case.home, case.alternate, case.today) == case.expected


def test_the_alternate_must_be_the_homes_own() -> None:
    with pytest.raises(ValueError, match="not the alternate"):
        place_group(group("G-2026-000124", 2), juarez(level="suspended"), MTY, THANKSGIVING)


def test_no_shelter_is_offered_for_a_family_when_only_the_childrens_shelter_has_room() -> None:
    tijuana = location("TIJ", YMCA_MENORES, CASA_DEL_MIGRANTE_TIJ)
    assert shelter_with_most_free_beds(tijuana, 3) is None
    assert shelter_with_most_free_beds(tijuana, 2) == CASA_DEL_MIGRANTE_TIJ


def test_the_local_date_is_the_date_in_the_returned_at_offset() -> None:
    late = datetime(2026, 11, 27, 23, 30, tzinfo=CHIHUAHUA)  # already the 28th in UTC
    assert local_date(late) == THANKSGIVING
    next_morning_utc = datetime(2026, 11, 28, 14, 0, tzinfo=TAMAULIPAS).astimezone(CHIHUAHUA)
    assert local_date(next_morning_utc, offset_of=late) == NEXT_DAY


def test_a_late_return_counts_against_its_own_local_date() -> None:
    late = group("G-2026-000125", 3, returned_at=datetime(2026, 11, 27, 23, 30, tzinfo=CHIHUAHUA))
    home = juarez(received={THANKSGIVING: 28, NEXT_DAY: 0})
    outcome = place_group(late, home, None, local_date(late.returned_at))
    assert outcome == Deferral("DAILY_CAP_REACHED")


def test_a_group_is_never_returned_without_an_offset() -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        group("G-2026-000126", 2, returned_at=datetime(2026, 11, 27, 15, 58))


# The queue. Ciudad Juárez with one shelter, so beds are the only thing in short supply.


def test_waiting_groups_are_placed_in_arrival_order_when_beds_free_up() -> None:
    full = juarez(shelter("CJS-S01", free=0, beds=180))
    queue = [waiting(group(f"G-2026-00020{n}", size)) for n, size in enumerate((3, 4, 2), 1)]
    assert drain_queue(queue, full, None, THANKSGIVING).placed == ()

    freed = with_departure(full, "CJS-S01", 9)
    outcome = drain_queue(queue, freed, None, THANKSGIVING)

    assert [p.group.request.group_id for p in outcome.placed] == [
        "G-2026-000201",
        "G-2026-000202",
        "G-2026-000203",
    ]
    assert outcome.waiting == ()
    assert outcome.home.shelters["CJS-S01"].free == 0
    assert outcome.home.placements_on(THANKSGIVING) == 9


def test_each_placement_is_applied_before_the_next_group_is_tried() -> None:
    home = juarez(shelter("CJS-S01", free=8), shelter("CJS-S02", free=6))
    queue = [waiting(group("G-2026-000301", 5)), waiting(group("G-2026-000302", 5))]
    outcome = drain_queue(queue, home, None, THANKSGIVING)
    assert [p.placement.shelter_id for p in outcome.placed] == ["CJS-S01", "CJS-S02"]


def test_no_later_group_jumps_ahead_for_room_under_the_cap() -> None:
    home = juarez(received={THANKSGIVING: 27})
    family, alone = group("G-2026-000401", 4), group("A212345678", 1)
    outcome = drain_queue([waiting(family), waiting(alone)], home, None, THANKSGIVING)
    assert outcome.placed == ()
    assert [w.reason for w in outcome.waiting] == ["DAILY_CAP_REACHED", "DAILY_CAP_REACHED"]
    assert outcome.home == home


def test_a_group_larger_than_the_whole_cap_does_not_hold_the_queue() -> None:
    home = juarez(cap=5)
    family, alone = group("G-2026-000402", 6), group("A212345679", 1)
    outcome = drain_queue([waiting(family), waiting(alone)], home, None, THANKSGIVING)
    assert [p.group.request.group_id for p in outcome.placed] == ["A212345679"]
    assert [w.reason for w in outcome.waiting] == ["DAILY_CAP_REACHED"]


def test_a_big_family_is_passed_three_times_then_beds_are_kept_for_it() -> None:
    home = juarez(shelter("CJS-S01", free=5, beds=180))
    family = waiting(group("G-2026-000501", 6))
    singles = [waiting(group(f"A21234560{n}", 1)) for n in range(1, 5)]

    first = drain_queue([family, *singles], home, None, THANKSGIVING)

    placed = [p.group.request.group_id for p in first.placed]
    assert placed == ["A212345601", "A212345602", "A212345603"]
    assert [(w.request.group_id, w.bypassed) for w in first.waiting] == [
        ("G-2026-000501", 3),
        ("A212345604", 0),
    ]
    assert first.home.shelters["CJS-S01"].free == 2  # room for the fourth, kept back

    freed = with_departure(first.home, "CJS-S01", 4)
    second = drain_queue(first.waiting, freed, None, THANKSGIVING)
    assert [p.group.request.group_id for p in second.placed] == ["G-2026-000501"]
    assert [w.request.group_id for w in second.waiting] == ["A212345604"]


def test_a_group_passed_enough_in_earlier_rounds_holds_the_beds_at_once() -> None:
    home = juarez(shelter("CJS-S01", free=5, beds=180))
    family = waiting(group("G-2026-000502", 6), bypassed=3)
    outcome = drain_queue([family, waiting(group("A212345610", 1))], home, None, THANKSGIVING)
    assert outcome.placed == ()
    assert [w.reason for w in outcome.waiting] == ["NO_SHELTER_CAPACITY", "NO_SHELTER_CAPACITY"]


def test_a_group_no_shelter_could_take_is_set_aside_until_a_shelter_grows() -> None:
    nogales = location("NOG", shelter("NOG-S01", free=12))
    big = waiting(group("G-2026-000601", 14), at="NOG")
    alone = waiting(group("A212345620", 1), at="NOG")

    first = drain_queue([big, alone], nogales, None, THANKSGIVING)
    assert [p.group.request.group_id for p in first.placed] == ["A212345620"]
    assert [w.request.group_id for w in first.unplaceable] == ["G-2026-000601"]
    assert [w.reason for w in first.waiting] == ["GROUP_EXCEEDS_LARGEST_SHELTER"]

    grown = with_capacity(first.home, "NOG-S01", 40)
    second = drain_queue(first.waiting, grown, None, THANKSGIVING)
    assert [p.placement for p in second.placed] == [Placement("NOG", "NOG-S01", 14)]
    assert second.unplaceable == ()


def test_a_suspended_location_drains_into_its_alternate() -> None:
    queue = [
        waiting(group(f"G-2026-00070{n}", 4, crossing="LRD"), at="NLD", reason="LOCATION_SUSPENDED")
        for n in (1, 2)
    ]
    outcome = drain_queue(queue, NLD_SUSPENDED, MTY, THANKSGIVING)
    assert {p.placement.location for p in outcome.placed} == {"MTY"}
    assert all(p.placement.transport_required for p in outcome.placed)
    assert outcome.alternate is not None
    assert outcome.alternate.placements_on(THANKSGIVING) == 8
    assert outcome.home == NLD_SUSPENDED


def test_a_status_change_lets_the_queue_in() -> None:
    suspended = juarez(level="suspended")
    queue = [waiting(group("G-2026-000801", 3), reason="LOCATION_SUSPENDED")]
    assert drain_queue(queue, suspended, None, THANKSGIVING).placed == ()
    reopened = with_status(suspended, "elevated", 30)
    assert len(drain_queue(queue, reopened, None, THANKSGIVING).placed) == 1


# The state transitions.


def test_transitions_leave_the_old_state_as_it_was() -> None:
    before = juarez()
    after = with_placement(before, "CJS-S16", 3, THANKSGIVING)
    assert before.shelters["CJS-S16"].free == 40
    assert before.placements_on(THANKSGIVING) == 0
    assert after.shelters["CJS-S16"].free == 37
    assert after.placements_on(THANKSGIVING) == 3


def test_a_departure_frees_beds_but_not_the_days_cap() -> None:
    placed = with_placement(juarez(), "CJS-S01", 8, THANKSGIVING)
    departed = with_departure(placed, "CJS-S01", 8)
    assert departed.shelters["CJS-S01"].free == 8
    assert departed.placements_on(THANKSGIVING) == 8


def test_a_capacity_cut_below_occupancy_leaves_no_free_beds() -> None:
    cut = with_capacity(juarez(), "CJS-S01", 150)
    assert cut.shelters["CJS-S01"].free == 0


@pytest.mark.parametrize(
    "change",
    [
        lambda s: with_placement(s, "CJS-S99", 1, THANKSGIVING),
        lambda s: with_departure(s, "CJS-S99", 1),
        lambda s: with_capacity(s, "CJS-S99", 20),
    ],
    ids=["placement", "departure", "capacity"],
)
def test_an_unknown_shelter_is_refused(change: Callable[[LocationState], object]) -> None:
    with pytest.raises(KeyError, match="CJS-S99"):
        change(juarez())


def test_the_shipped_reference_data_seeds_every_location() -> None:
    reference = load_reference()
    states = initial_states(reference)

    assert set(states) == {location.code for location in reference.locations}
    assert states["NLD"].alternate == "MTY"
    assert states["CJS"].shelters["CJS-S16"].beds == 600
    assert states["TIJ"].shelters["TIJ-S04"].serves == "unaccompanied_children"
    for state in states.values():
        assert state.daily_cap > 0
        assert state.placements_by_date == {}
        assert all(s.occupied == 0 and s.free == s.beds for s in state.shelters.values())
    family = group("G-2026-000901", 3, returned_at=AFTERNOON)
    outcome = place_group(family, states["CJS"], None, local_date(family.returned_at))
    assert outcome == Placement("CJS", "CJS-S16", 3)


REASONS: tuple[DeferralReason, ...] = (
    "LOCATION_SUSPENDED",
    "DAILY_CAP_REACHED",
    "NO_SHELTER_CAPACITY",
    "GROUP_EXCEEDS_LARGEST_SHELTER",
)


def test_every_deferral_reason_is_reachable() -> None:
    reached = {case.expected.reason for case in CASES if isinstance(case.expected, Deferral)}
    assert reached == set(REASONS)
