"""`report --resources`: bed-nights, waits, legal-aid progress and vaccination, by hand.

T0 is 15:58 on 27 November 2026 at El Paso / Ciudad Juárez (UTC-7). A family of two
stays at CJS-S16 from 16:00 on the 27th to 09:00 on the 29th; a man waits 1.5 days on
the daily cap, then stays from 04:01 on the 29th; another waits for beds till the end
of the log, 16:00 on the 30th. A person referred for fear of return is declined by one
provider and reassigned to another.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.audit.events import Logged, in_log_order
from services.audit.resources import ResourcesBuilder, ResourcesReport
from services.reference import load_reference
from tests.unit.audit.audit_factories import Log, at
from tests.unit.audit.resource_factories import report, request, withdraw
from tests.unit.screening.factories import returned

REFERENCE = load_reference()
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


def build(events: list[Logged], first: date, last: date) -> ResourcesReport:
    builder = ResourcesBuilder(REFERENCE, first, last)
    for event in in_log_order(events):
        builder.feed(event)
    return builder.result()


def person(log: Log, case_id: str, group: str, minutes: float, **extra: Any) -> Any:
    return log.person(returned(case_id, group_id=group, **extra), minutes)


def history() -> Log:
    log = Log()
    log.capacity("CJS", "CJS-S16", 4, 0)
    mother = person(log, "A212345678", "G-F", 0, group_size=2)
    son = person(log, "A212345679", "G-F", 0.5, group_size=2, born="2015-06-01", role="child")
    family = log.place(log.screen([mother, son], 1), "CJS", "CJS-S16", 2)
    man = log.screen([person(log, "A212345680", "G-B", 0)], 1)
    log.defer(man, "CJS", "DAILY_CAP_REACHED", 3)
    waiting = log.screen([person(log, "A212345681", "G-C", 5)], 6)
    log.defer(waiting, "CJS", "NO_SHELTER_CAPACITY", 10)
    afraid = log.screen([person(log, "A212345682", "G-D", 15, fear_of_return_to_mexico=True)], 16)

    hearing = request(log, family, 3)  # due at 603
    report(log, hearing, "accepted", 63)
    report(log, hearing, "first_contact", 183)
    interview = "non_refoulement_interview"
    declined = request(log, afraid, 20, provider="LA-CJS-02", purpose=interview, due_in=1440)
    report(log, declined, "declined", 50)
    withdraw(log, declined, 51)
    again = request(
        log, afraid, 51, purpose=interview, due_in=1409, replaces=declined, because="DECLINED"
    )
    report(log, again, "accepted", 81)
    report(log, again, "first_contact", 1551)  # due at 1460: too late
    log.care(family, "A212345678", 4)

    placed = log.place(man, "CJS", "CJS-S16", 2163, deferred_since=at(3))
    late = request(log, placed, 2164)  # due at 2764, never contacted
    report(log, late, "accepted", 2284)
    care = log.care(placed, "A212345680", 2165)
    withdraw(log, care, 2200, reason="GROUP_CHANGED")
    log.departed(family, 2462)
    log.capacity("CJS", "CJS-S16", 4, 4322)  # the last event: 16:00 on the 30th
    return log


@pytest.fixture(scope="module")
def november() -> ResourcesReport:
    return build(history().events, *NOVEMBER)


def test_bed_nights_count_beds_held_at_local_midnight(november: ResourcesReport) -> None:
    assert november.until == at(4322)
    [shelter] = november.shelters
    assert (shelter.location, shelter.month, shelter.shelter_id) == ("CJS", "2026-11", "CJS-S16")
    # family: nights of the 27th and 28th, 2 beds; the man: night of the 29th, 1 bed
    assert shelter.bed_nights == 2 * 2 + 1


def test_peak_occupancy_is_against_the_beds_in_force_then(november: ResourcesReport) -> None:
    [shelter] = november.shelters
    assert (shelter.peak_occupied, shelter.beds_at_peak, shelter.peak_at) == (3, 4, at(2163))
    assert shelter.peak_share == 0.75


def test_waits_are_by_reason_and_in_days(november: ResourcesReport) -> None:
    by_reason = {w.reason: w for w in november.waits}
    cap, beds = by_reason["DAILY_CAP_REACHED"], by_reason["NO_SHELTER_CAPACITY"]
    assert (cap.cause, cap.groups, cap.people, cap.served, cap.still_waiting) == (
        "daily_cap",
        1,
        1,
        1,
        0,
    )
    assert cap.days == [1.5]  # deferred 16:01 on the 27th, placed 04:01 on the 29th
    assert (beds.cause, beds.groups, beds.served, beds.still_waiting) == ("shelter_beds", 1, 0, 1)
    assert beds.days == [round(4312 / 1440, 4)]  # from 16:08 on the 27th to the end of the log
    assert beds.person_days == pytest.approx(4312 / 1440)


def test_legal_aid_progress_per_provider(november: ResourcesReport) -> None:
    rows = {p.provider_id: p for p in november.legal_aid}
    first = rows["LA-CJS-01"]
    assert (first.location, first.month, first.requests) == ("CJS", "2026-11", 3)
    assert sorted(first.hours_to_accepted) == [0.5, 1.0, 2.0]
    assert sorted(first.hours_to_first_contact) == [3.0, 25.0]
    assert (first.due, first.overdue) == (3, 2)  # one never contacted, one contacted late
    assert first.reassigned_to == {"DECLINED": 1}
    second = rows["LA-CJS-02"]
    assert (second.requests, second.reported["declined"], second.reassigned_away) == (1, 1, 1)
    assert (second.due, second.overdue_share) == (0, None)  # withdrawn before its due_by


def test_vaccination_requests_per_location(november: ResourcesReport) -> None:
    [row] = november.vaccination
    assert (row.location, row.month, row.requests, row.withdrawn) == ("CJS", "2026-11", 2, 1)


def test_the_report_states_the_events_it_read(november: ResourcesReport) -> None:
    read = {r.topic: r for r in november.read}
    assert read["legal-aid-updated"].events == 6
    assert read["legal-aid-requested"].events == 4
    assert read["capacity-updated"].first_at == at(0)
    assert read["capacity-updated"].last_at == at(4322)
    assert read["capacity-updated"].offsets == {0: (0, len(history().events) - 1)}
    assert "person-returned" not in read  # not a topic this report reads


def test_a_stay_across_months_counts_each_night_in_its_month() -> None:
    log = Log()
    man = log.screen([person(log, "A212345680", "G-B", 0)], 1)
    evening = 3 * 1440 + 242  # 20:00 on 30 November
    placed = log.place(man, "CJS", "CJS-S16", evening)
    log.departed(placed, evening + 14 * 60 + 1440)  # 10:00 on 2 December
    both = build(log.events, date(2026, 11, 1), date(2026, 12, 31))
    assert [(s.month, s.bed_nights, s.peak_occupied) for s in both.shelters] == [
        ("2026-11", 1, 1),
        ("2026-12", 1, 1),
    ]
    assert both.shelters[1].peak_at is None  # held since before December began
    only_november = build(log.events, *NOVEMBER)
    assert [(s.month, s.bed_nights) for s in only_november.shelters] == [("2026-11", 1)]


def test_a_compressed_run_is_read_on_its_own_clock() -> None:
    log = Log()
    man = log.screen([person(log, "A212345680", "G-B", 0)], 0)  # the origin: 15:58 on the 27th
    placed = log.place(man, "CJS", "CJS-S16", 2)
    hearing = request(log, placed, 2, due_in=60)
    report(log, hearing, "accepted", 7)  # 5 real minutes: 2 simulated hours
    log.departed(placed, 122)  # 2 real hours: 48 simulated, to 16:46 on the 29th
    real = build(log.events, *NOVEMBER)
    assert [s.bed_nights for s in real.shelters] == [0]
    builder = ResourcesBuilder(REFERENCE, *NOVEMBER, clock_scale=24)
    for event in in_log_order(log.events):
        builder.feed(event)
    compressed = builder.result()
    assert compressed.until == at(0) + (at(122) - at(0)) * 24
    assert [s.bed_nights for s in compressed.shelters] == [2]  # nights of the 27th and 28th
    [provider] = compressed.legal_aid
    assert provider.hours_to_accepted == [2.0]
    assert (provider.due, provider.overdue) == (1, 1)  # due 24 simulated h on, never contacted
    assert compressed.read[0].first_at == at(0)  # what was read keeps its recorded times
