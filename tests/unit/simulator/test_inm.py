"""The INM side: scripted suspensions, caps around 30, beds, departures of sent groups."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.codec import decode_any, encode
from schemas.status import CapacityUpdated, LocationStatusChanged, ShelterDeparted
from services.reference import Reference
from services.simulator import Population, Profile
from services.simulator.inm import InmSide

START = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


def side(profile: Profile, reference: Reference, crossings: tuple[str, ...]) -> InmSide:
    return InmSide(
        seed=1,
        profile=profile.inm,
        reference=reference,
        crossings=crossings,
        duration=3600.0,
        start=START,
        tag="abcdef",
    )


def test_nuevo_laredo_is_suspended_for_violence_then_reopened(
    profile: Profile, reference: Reference
) -> None:
    events = list(side(profile, reference, ("LRD", "ELP")).timeline())
    nld = [
        e.envelope.data
        for e in events
        if isinstance(e.envelope.data, LocationStatusChanged) and e.envelope.data.location == "NLD"
    ]
    levels = [d.security_level for d in nld]
    assert levels.index("suspended") < levels.index("normal", levels.index("suspended"))
    assert "violence" in (nld[levels.index("suspended")].note or "")


def test_events_are_ordered_valid_within_the_run_and_only_for_its_locations(
    profile: Profile, reference: Reference
) -> None:
    events = list(side(profile, reference, ("ELP",)).timeline())
    assert [e.at for e in events] == sorted(e.at for e in events)
    assert 60 <= len(events) <= 180  # about two a minute for an hour
    assert all(0 <= e.at < 3600 for e in events)
    for event in events:
        assert encode(decode_any(encode(event.envelope))) == encode(event.envelope)
        data = event.envelope.data
        assert data.location == "CJS"
        if isinstance(data, LocationStatusChanged):
            assert 25 <= data.daily_cap <= 35
            assert event.topic == "location-status-changed"
            assert event.envelope.correlation_id == "CJS"
        else:
            assert isinstance(data, CapacityUpdated)
            assert event.envelope.correlation_id == data.shelter_id


def test_the_timeline_is_deterministic(profile: Profile, reference: Reference) -> None:
    one = [e.envelope for e in side(profile, reference, ("ELP", "LRD")).timeline()]
    two = [e.envelope for e in side(profile, reference, ("ELP", "LRD")).timeline()]
    assert one == two


def test_a_sent_group_may_depart_later_from_the_largest_shelter_of_its_location(
    profile: Profile, reference: Reference
) -> None:
    inm = side(profile, reference, ("ELP",))
    population = Population(1, profile, "abcdef")
    departures = [inm.departure_for(population.group("ELP", START), 10.0) for _ in range(200)]
    made = [d for d in departures if d is not None]
    assert 0.4 < len(made) / len(departures) < 0.8
    largest = max(
        (s for s in reference.shelters_at("CJS") if s.serves == "families_and_adults"),
        key=lambda s: s.beds,
    )
    for departure in made:
        data = departure.envelope.data
        assert isinstance(data, ShelterDeparted)
        assert (data.location, data.shelter_id) == ("CJS", largest.id)
        assert departure.envelope.correlation_id == data.group_id
        assert 40.0 <= departure.at <= 310.0


def test_no_departure_is_due_after_the_run(profile: Profile, reference: Reference) -> None:
    inm = side(profile, reference, ("ELP",))
    group = Population(1, profile, "abcdef").group("ELP", START)
    assert all(inm.departure_for(group, 3599.0) is None for _ in range(50))
