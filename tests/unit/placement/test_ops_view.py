"""What ops see of a location: status, cap and count, beds, the queue, the unplaceable."""

from __future__ import annotations

import json

from services.placement.ops_view import location_view
from tests.unit.placement.command_factories import Desk, arrival, later, only_shelter, set_status
from tests.unit.placement.placement_factories import AFTERNOON

PERSONAL = ("given_names", "family_names", "date_of_birth", "nationality", "languages", "A3")


def ciudad_juarez_in_trouble() -> Desk:
    """Casa Kolping alone with 5 beds, a family placed, one waiting, one too big for any shelter."""
    desk = Desk()
    desk.run(*only_shelter("CJS", "CJS-S04", 5), set_status("CJS", "elevated", cap=20))
    desk.run(arrival("G-1", 3), arrival("G-2", 4, at=later(AFTERNOON, minutes=10)))
    desk.run(arrival("G-3", 6, at=later(AFTERNOON, minutes=20)))
    return desk


def test_the_view_shows_status_cap_count_and_free_beds_per_shelter() -> None:
    view = location_view(ciudad_juarez_in_trouble().view("CJS"), "CJS", later(AFTERNOON, hours=1))
    assert (view["location"], view["unit"], view["security_level"]) == ("CJS", "CJS", "elevated")
    assert (view["local_date"], view["daily_cap"], view["placed_today"], view["cap_remaining"]) == (
        "2026-11-27",
        20,
        3,
        17,
    )
    kolping = next(s for s in view["shelters"] if s["shelter_id"] == "CJS-S04")
    assert (kolping["beds"], kolping["occupied"], kolping["free"]) == (5, 3, 2)
    assert view["free_beds"] == 2


def test_the_view_shows_the_queue_its_oldest_wait_and_the_groups_that_cannot_be_placed() -> None:
    view = location_view(ciudad_juarez_in_trouble().view("CJS"), "CJS", later(AFTERNOON, hours=1))
    assert view["queue_length"] == 2
    assert view["oldest_waiting_since"] == later(AFTERNOON, minutes=10).isoformat()
    assert view["oldest_waiting_age_seconds"] == 50 * 60
    assert [(w["position"], w["group_id"], w["reason"]) for w in view["waiting"]] == [
        (1, "G-2", "NO_SHELTER_CAPACITY"),
        (2, "G-3", "GROUP_EXCEEDS_LARGEST_SHELTER"),
    ]
    assert [u["group_id"] for u in view["unplaceable"]] == ["G-3"]


def test_today_is_the_local_date_of_the_location_not_utc() -> None:
    late_evening = AFTERNOON.replace(hour=23, minute=30)  # already the 28th in UTC
    view = location_view(ciudad_juarez_in_trouble().view("CJS"), "CJS", late_evening)
    assert (view["local_date"], view["placed_today"]) == ("2026-11-27", 3)


def test_the_view_carries_no_personal_data() -> None:
    view = location_view(ciudad_juarez_in_trouble().view("CJS"), "CJS", later(AFTERNOON, hours=1))
    text = json.dumps(view)
    assert not any(marker in text for marker in PERSONAL)


def test_a_location_nobody_was_sent_to_shows_its_seeded_state() -> None:
    view = location_view(Desk().view("MTY"), "MTY", AFTERNOON)
    assert (view["unit"], view["queue_length"], view["placed_today"]) == ("MTY", 0, 0)
    assert view["oldest_waiting_age_seconds"] is None
    assert view["free_beds"] == 425
