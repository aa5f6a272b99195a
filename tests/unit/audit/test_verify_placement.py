"""`verify` re-checks every placement against the state replayed from the log."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest

from schemas.decisions import PlacementWithdrawn
from schemas.envelope import event_id_for, make_envelope
from services.audit import findings
from services.audit.placement_check import (
    NOT_THE_LIVE_DECISION,
    WITHDRAWAL_NOT_BORNE_OUT,
    PlacementAuditor,
)
from services.audit.simulation import PlacementSimulator
from services.audit.verify import verify_events
from services.placement.state import GroupRequest
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


# Placement follows the live decision: a re-decided family is moved, kept waiting or released.


def family(log: Log, head: str, size: int, minutes: float, crossing: str = "ELP") -> list[Any]:
    """`size` members of the family of `head` (case ids share all but the last digit)."""
    source = f"cbp-{crossing.lower()}"
    return [
        log.person(
            returned(
                f"{head[:-1]}{n}",
                group_id=f"G-{head}",
                group_size=size,
                crossing=crossing,
                role="head" if n == 0 else "child",
                source=source,
            ),
            minutes,
        )
        for n in range(size)
    ]


def decide(
    log: Log, members: list[Any], minutes: float, before: Any = None, decision: str = "accepted"
) -> Any:
    """A decision on `members` (taken as given: this checks placement, not screening)."""
    revision = 1 if before is None else (before.data.revision or 1) + 1
    chain = {} if before is None else {"supersedes": before.event_id, "revision": revision}
    screened = log.screen(members, minutes, decision=decision, reasons=[], **chain)
    # Screening's id follows the records decided on, and a correction is a new record:
    # stand in for that with the revision, so that each decision here has its own id.
    screened = screened.model_copy(
        update={"event_id": event_id_for("screened", screened.causation_id, str(revision))}
    )
    log.events.pop()
    return log.add("screened", screened)


def withdraw(
    log: Log, cause: Any, given: Any, minutes: float, reason: str = "NO_LONGER_ACCEPTED"
) -> Any:
    """`placement-withdrawn` of the placement `given` (a `placed`) or wait (a deferral)."""
    placed = given.data if given.event_type == "placed" else None
    data = PlacementWithdrawn(
        group_id=cause.data.group_id,
        location=given.data.location,
        shelter_id=placed.shelter_id if placed else None,
        members=list(given.data.members),
        beds_released=placed.beds if placed else 0,
        reason=reason,
        screened_event_id=cause.event_id,
        placed_event_id=given.event_id if placed else None,
    )
    envelope = make_envelope(
        data,
        event_id=event_id_for("placement-withdrawn", cause.event_id),
        producer="placement/0.1.0",
        correlation_id=data.group_id,
        causation_id=cause.event_id,
        crossing=cause.crossing,
        occurred_at=at(minutes),
    )
    return log.add("placement-withdrawn", envelope)


def replayed(log: Log) -> PlacementAuditor:
    auditor = PlacementAuditor(REFERENCE)
    for event in log.events:
        auditor.on_event(event)
    return auditor


def placement_findings(log: Log) -> list[str]:
    """What the placement check reports, at the end of the log too, past every grace."""
    auditor = replayed(log)
    ended = [m.category for m in auditor.findings(at(10**6), timedelta(minutes=15))]
    return [m.category for m in auditor.mismatches] + ended


def test_a_placed_family_of_four_that_grows_to_five_is_withdrawn_and_placed_again_whole() -> None:
    # Given the Hernández family of 4 placed at the shelter with the most free beds
    log = Log()
    four = family(log, "A212345670", 4, 0)
    first = decide(log, four, 1)
    old = log.place(first, "CJS", "CJS-S16", 2)
    # When the eldest son's record arrives and the family is re-decided with 5
    son = log.person(returned("A212345674", group_id="G-A212345670", group_size=5), 30)
    second = decide(log, [*four, son], 31, before=first)
    withdraw(log, second, old, 32, "GROUP_CHANGED")
    log.place(second, "CJS", "CJS-S16", 32)
    # Then the audit bears it all out: the old 4 beds were freed before the 5 were taken
    assert placement_findings(log) == []
    cjs = replayed(log).states["CJS"]
    assert sum(s.occupied for s in cjs.shelters.values()) == 5
    assert list(cjs.placements_by_date.values()) == [5]


def test_a_family_that_grows_while_waiting_is_placed_with_its_new_members() -> None:
    log = Log()
    nuevo_laredo_with_beds(log, 4)
    torres = accepted(log, "A212345678", 1, crossing="LRD", size=3)
    torres_placed = log.place(torres, "NLD", "NLD-S01", 2)
    two = family(log, "A212345650", 2, 3, crossing="LRD")
    first = decide(log, two, 4)
    log.defer(first, "NLD", "NO_SHELTER_CAPACITY", 5)
    third = log.person(returned("A212345652", group_id="G-A212345650", crossing="LRD"), 20)
    second = decide(log, [*two, third], 21, before=first)
    log.departed(torres_placed, 40)  # the Torres family leaves: 4 beds free
    log.place(second, "NLD", "NLD-S01", 40, deferred_since=at(5))
    assert placement_findings(log) == []


def test_a_placed_family_declined_by_a_correction_has_its_placement_withdrawn() -> None:
    log = Log()
    morales = family(log, "A212345680", 3, 0)
    first = decide(log, morales, 1)
    placed = log.place(first, "CJS", "CJS-S16", 2)
    corrected = decide(log, morales, 30, before=first, decision="declined")
    withdraw(log, corrected, placed, 31)
    assert placement_findings(log) == []
    cjs = replayed(log).states["CJS"]  # beds free again; the 3 people received still count
    assert (cjs.shelters["CJS-S16"].occupied, list(cjs.placements_by_date.values())) == (0, [3])


def test_a_family_that_keeps_its_placement_after_being_declined_is_reported() -> None:
    # Given the Morales family placed, then declined after a correction
    log = Log()
    morales = family(log, "A212345680", 3, 0)
    first = decide(log, morales, 1)
    log.place(first, "CJS", "CJS-S16", 2)
    decide(log, morales, 30, before=first, decision="declined")
    # When no placement-withdrawn ever follows (a forged history)
    # Then the audit reports the placement its live decision no longer bears out
    assert placement_findings(log) == [NOT_THE_LIVE_DECISION]


def test_a_grown_family_placed_again_without_releasing_the_first_placement_is_reported() -> None:
    log = Log()
    four = family(log, "A212345670", 4, 0)
    first = decide(log, four, 1)
    log.place(first, "CJS", "CJS-S16", 2)
    son = log.person(returned("A212345674", group_id="G-A212345670", group_size=5), 30)
    second = decide(log, [*four, son], 31, before=first)
    log.place(second, "CJS", "CJS-S16", 32)
    assert placement_findings(log) == [findings.GROUP_PLACED_TWICE, NOT_THE_LIVE_DECISION]


def test_a_waiting_family_no_longer_accepted_leaves_the_queue_for_the_next() -> None:
    log = Log()
    nuevo_laredo_with_beds(log, 4)
    torres = accepted(log, "A212345678", 1, crossing="LRD", size=3)
    log.place(torres, "NLD", "NLD-S01", 2)
    soto = family(log, "A212345650", 2, 3, crossing="LRD")
    first = decide(log, soto, 4)
    deferred = log.defer(first, "NLD", "NO_SHELTER_CAPACITY", 5)
    no_longer = decide(log, soto, 20, before=first, decision="not_eligible")
    withdraw(log, no_longer, deferred, 21)
    alone = accepted(log, "A212345640", 30, crossing="LRD")
    log.place(alone, "NLD", "NLD-S01", 32)
    assert placement_findings(log) == []
    log.events = [e for e in log.events if e.topic != "placement-withdrawn"]
    assert placement_findings(log) == [findings.PLACEMENT_OUTCOME_DIFFERS, NOT_THE_LIVE_DECISION]


def test_a_withdrawal_the_live_decision_does_not_call_for_is_reported() -> None:
    log = Log()
    morales = family(log, "A212345680", 3, 0)
    first = decide(log, morales, 1)
    placed = log.place(first, "CJS", "CJS-S16", 2)
    same = decide(log, morales, 30, before=first)  # a corrected detail: still accepted
    withdraw(log, same, placed, 31)
    assert placement_findings(log) == [WITHDRAWAL_NOT_BORNE_OUT]


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_families_re_decided_at_random_as_placement_handles_them_pass_the_check(seed: int) -> None:
    # Given Ciudad Juárez with 9 beds in one shelter and families that grow, leave or go
    rng = random.Random(seed)
    log, placement = Log(), PlacementSimulator(REFERENCE)
    for shelter in REFERENCE.shelters_at("CJS"):
        beds = 9 if shelter.id == "CJS-S05" else 0
        log.capacity("CJS", shelter.id, beds, 0)
        placement.capacity("CJS", shelter.id, beds, at(0))
    live: dict[str, tuple[list[Any], Any]] = {}
    for step in range(1, 80):
        minutes = float(step * 4)  # one afternoon and evening: one local day
        for envelope in placement.new_day(at(minutes)):  # placement's clock ticks meanwhile
            log.add(envelope.event_type, envelope)
        for envelope in _one_change(rng, log, placement, live, step, minutes):
            log.add(envelope.event_type, envelope)
    # Then every placement, wait and withdrawal placement emitted is borne out
    assert placement_findings(log) == []
    assert {e.topic for e in log.events} >= {"placed", "placement-deferred", "placement-withdrawn"}


def _one_change(
    rng: random.Random,
    log: Log,
    placement: PlacementSimulator,
    live: dict[str, tuple[list[Any], Any]],
    step: int,
    minutes: float,
) -> list[Any]:
    """One family arrives, grows, is declined or leaves; what placement emits for it."""
    now, choice = at(minutes), rng.random()
    if not live or choice < 0.4:
        members = family(log, f"A2123{step:04d}0", rng.randint(1, 4), minutes)
        screened = decide(log, members, minutes)
        live[screened.data.group_id] = (members, screened)
        return placement.accept(_request(screened), now)
    group = rng.choice(sorted(live))
    members, before = live[group]
    if choice < 0.65 and len(members) < 6:
        case = f"{members[0].data.case_id[:-1]}{len(members)}"
        grown = [*members, log.person(returned(case, group_id=group), minutes)]
        screened = decide(log, grown, minutes, before=before)
        live[group] = (grown, screened)
        return placement.accept(_request(screened), now, supersedes=before.event_id)
    if choice < 0.85:
        screened = decide(log, members, minutes, before=before, decision="declined")
        del live[group]
        return placement.withdraw(group, "ELP", screened.event_id, before.event_id, now)
    record = placement.groups.get(group)
    if record is None or record.status != "placed":
        return []
    placed = next(
        e.envelope for e in reversed(log.events) if e.topic == "placed" and e.data.group_id == group
    )
    log.departed(placed, minutes)
    del live[group]
    return placement.departure(group, now)


def _request(screened: Any) -> GroupRequest:
    data = screened.data
    ids = tuple(member.case_id for member in data.members)
    return GroupRequest(data.group_id, "ELP", ids, len(ids), data.returned_at, screened.event_id)
