"""Builders of placement states and groups for the placement tests, with realistic defaults.

Imported as a sibling module (`from placement_factories import ...`): pytest's default
"prepend" import mode puts this directory on `sys.path`. The name is specific to
placement so that it cannot clash with another test directory's helper module.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone

from schemas.decisions import DeferralReason
from schemas.status import SecurityLevel
from services.placement.state import GroupRequest, LocationState, ShelterState, WaitingGroup
from services.reference import ShelterServes

CHIHUAHUA = timezone(timedelta(hours=-7))
TAMAULIPAS = timezone(timedelta(hours=-6))
THANKSGIVING = date(2026, 11, 27)
AFTERNOON = datetime(2026, 11, 27, 15, 58, tzinfo=CHIHUAHUA)


def shelter(
    shelter_id: str, free: int, beds: int = 0, serves: ShelterServes = "families_and_adults"
) -> ShelterState:
    """A shelter with `free` beds free; `beds` in all (default: exactly `free`, all empty)."""
    total = beds or free
    return ShelterState(shelter_id, total, total - free, serves)


def location(
    code: str,
    *shelters: ShelterState,
    cap: int = 30,
    received: Mapping[date, int] | None = None,
    level: SecurityLevel = "normal",
    alternate: str | None = None,
) -> LocationState:
    """A location with these shelters and `received` people already placed per local date."""
    return LocationState(
        code=code,
        security_level=level,
        daily_cap=cap,
        placements_by_date=dict(received or {}),
        shelters={s.shelter_id: s for s in shelters},
        alternate=alternate,
    )


def group(
    group_id: str,
    size: int,
    crossing: str = "ELP",
    returned_at: datetime = AFTERNOON,
) -> GroupRequest:
    """An accepted group of `size` people, with plausible case ids."""
    number = int("".join(ch for ch in group_id if ch.isdigit()) or "0")
    members = tuple(f"A2{number % 1_000_000:06d}{i:02d}" for i in range(size))
    return GroupRequest(
        group_id=group_id,
        crossing=crossing,
        members=members,
        beds=size,
        returned_at=returned_at,
        screened_event_id=f"screened-{group_id}",
    )


def waiting(
    request: GroupRequest,
    at: str = "CJS",
    reason: DeferralReason = "NO_SHELTER_CAPACITY",
    bypassed: int = 0,
) -> WaitingGroup:
    """`request` waiting at `at` since it was returned."""
    return WaitingGroup(request, at, request.returned_at, reason, bypassed)
