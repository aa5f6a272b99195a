"""`verify` re-checks every placement against the state replayed from the log."""

from __future__ import annotations

from datetime import timedelta

from schemas.envelope import event_id_for
from services.audit import findings
from services.audit.verify import verify_events
from services.reference import load_reference
from tests.unit.audit.audit_factories import Log, at
from tests.unit.screening.factories import returned

REFERENCE = load_reference()
FOREVER = timedelta(days=365)


def categories(log: Log) -> list[str]:
    report = verify_events(log.events, REFERENCE, as_of=at(60), grace=FOREVER)
    return [m.category for m in report.mismatches]


def accepted(log: Log, case: str, minutes: float, crossing: str = "ELP", size: int = 1):
    person = log.person(
        returned(case, group_id=f"G-{case}", crossing=crossing, source=f"cbp-{crossing.lower()}"),
        minutes,
    )
    members = [person]
    for extra in range(1, size):
        relative = returned(
            f"{case[:-1]}{extra}",
            group_id=f"G-{case}",
            group_size=size,
            crossing=crossing,
            role="partner",
            source=f"cbp-{crossing.lower()}",
        )
        members.append(log.person(relative, minutes))
    if size > 1:  # the first record declared the group's size too
        log.events = [e for e in log.events if e.event_id != person.event_id]
        members[0] = log.person(
            returned(
                case,
                group_id=f"G-{case}",
                group_size=size,
                crossing=crossing,
                source=f"cbp-{crossing.lower()}",
            ),
            minutes,
        )
    screened = log.screen(members, minutes + 1)
    assert screened.data.decision == "accepted"
    return screened


def nuevo_laredo_with_beds(log: Log, beds: int) -> None:
    log.capacity("NLD", "NLD-S01", beds, 0)
    log.capacity("NLD", "NLD-S02", 0, 0)
    log.capacity("NLD", "NLD-S03", 0, 0)


def test_a_placement_where_the_policy_places_it_is_borne_out() -> None:
    log = Log()
    screened = accepted(log, "A212345678", 1)
    placed = log.place(screened, "CJS", "CJS-S16", 3)  # the shelter with most free beds
    log.legal_aid(placed, 4)
    assert categories(log) == []


def test_another_shelter_than_the_policy_picks_is_reported() -> None:
    log = Log()
    screened = accepted(log, "A212345678", 1)
    log.legal_aid(log.place(screened, "CJS", "CJS-S01", 3), 4)
    assert categories(log) == [findings.PLACEMENT_OUTCOME_DIFFERS]


def test_a_placement_over_the_daily_cap_is_reported() -> None:
    log = Log()
    log.status("CJS", "normal", 1, 0)
    first = accepted(log, "A212345678", 1)
    log.legal_aid(log.place(first, "CJS", "CJS-S16", 3), 3.5)
    second = accepted(log, "A212345670", 4)
    log.defer(second, "CJS", "DAILY_CAP_REACHED", 5)
    assert categories(log) == []
    log.legal_aid(log.place(second, "CJS", "CJS-S16", 6, deferred_since=at(5)), 7)
    assert categories(log) == [findings.OVER_DAILY_CAP]


def test_a_placement_over_a_shelters_beds_is_reported() -> None:
    log = Log()
    nuevo_laredo_with_beds(log, 2)
    first = accepted(log, "A212345678", 1, crossing="LRD", size=2)
    log.legal_aid(log.place(first, "NLD", "NLD-S01", 3), 3.5)
    second = accepted(log, "A212345660", 4, crossing="LRD", size=2)
    log.defer(second, "NLD", "NO_SHELTER_CAPACITY", 5)
    assert categories(log) == []
    log.legal_aid(log.place(second, "NLD", "NLD-S01", 6, deferred_since=at(5)), 7)
    assert categories(log) == [findings.OVER_SHELTER_BEDS]


def test_a_departure_frees_the_beds_for_the_group_waiting() -> None:
    log = Log()
    nuevo_laredo_with_beds(log, 2)
    first = accepted(log, "A212345678", 1, crossing="LRD", size=2)
    placed = log.place(first, "NLD", "NLD-S01", 3)
    log.legal_aid(placed, 3.5)
    second = accepted(log, "A212345660", 4, crossing="LRD", size=2)
    log.defer(second, "NLD", "NO_SHELTER_CAPACITY", 5)
    log.departed(placed, 20)
    log.legal_aid(log.place(second, "NLD", "NLD-S01", 20, deferred_since=at(5)), 21)
    assert categories(log) == []


def test_a_group_placed_ahead_of_the_queue_is_reported() -> None:
    log = Log()
    nuevo_laredo_with_beds(log, 2)
    first = accepted(log, "A212345678", 1, crossing="LRD", size=2)
    log.defer(first, "NLD", "DAILY_CAP_REACHED", 2)  # wrongly: the policy places it
    assert categories(log) == [findings.PLACEMENT_OUTCOME_DIFFERS]
    second = accepted(log, "A212345660", 4, crossing="LRD")
    log.legal_aid(log.place(second, "NLD", "NLD-S01", 5), 6)
    assert categories(log) == [findings.PLACEMENT_OUTCOME_DIFFERS] * 2


def test_a_suspended_location_reroutes_to_its_alternate_with_transport() -> None:
    log = Log()
    log.status("NLD", "suspended", 30, 0)
    screened = accepted(log, "A212345678", 1, crossing="LRD")
    placed = log.place(screened, "MTY", "MTY-S01", 3, rerouted_from="NLD", transport_required=True)
    log.legal_aid(placed, 4)
    assert categories(log) == []


def test_a_placement_at_a_suspended_location_is_reported() -> None:
    log = Log()
    log.status("NLD", "suspended", 30, 0)
    screened = accepted(log, "A212345678", 1, crossing="LRD")
    log.legal_aid(log.place(screened, "NLD", "NLD-S01", 3), 4)
    assert categories(log) == [findings.SUSPENDED_LOCATION]


def test_a_reroute_from_an_open_location_is_reported() -> None:
    log = Log()
    screened = accepted(log, "A212345678", 1, crossing="LRD")
    placed = log.place(screened, "MTY", "MTY-S01", 3, rerouted_from="NLD", transport_required=True)
    log.legal_aid(placed, 4)
    assert categories(log) == [findings.WRONG_LOCATION]


def test_a_status_older_than_the_one_in_force_is_ignored_as_placement_ignores_it() -> None:
    log = Log()
    log.status("NLD", "normal", 30, 2)
    stale = log.status("NLD", "suspended", 30, 1)
    log.events[-1] = log.events[-1].of("location-status-changed", stale, 0, 1)
    log.events[-1], log.events[-2] = log.events[-2], log.events[-1]
    screened = accepted(log, "A212345678", 3, crossing="LRD")
    log.legal_aid(log.place(screened, "NLD", "NLD-S01", 5), 6)
    assert categories(log) == []


def test_a_placement_of_a_group_never_accepted_is_reported() -> None:
    log = Log()
    person = log.person(returned("A212345678", born="1950-01-01"), 0)
    screened = log.screen([person], 1)
    assert screened.data.decision == "declined"
    log.legal_aid(log.place(screened, "CJS", "CJS-S16", 3), 4)
    assert categories(log) == [findings.PLACED_WITHOUT_ACCEPTANCE]


def test_a_group_placed_twice_is_reported() -> None:
    log = Log()
    screened = accepted(log, "A212345678", 1)
    placed = log.place(screened, "CJS", "CJS-S16", 3)
    log.legal_aid(placed, 4)
    again = placed.model_copy(
        update={"event_id": event_id_for("placed", "again"), "occurred_at": at(5)}
    )
    log.add("placed", again)
    assert categories(log) == [findings.GROUP_PLACED_TWICE]


def test_placed_members_must_be_the_accepted_ones() -> None:
    log = Log()
    screened = accepted(log, "A212345678", 1)
    placed = log.place(screened, "CJS", "CJS-S16", 3, members=["A999999999"])
    log.legal_aid(placed, 4)
    assert categories(log) == [findings.PLACEMENT_MEMBERS_DIFFER]
