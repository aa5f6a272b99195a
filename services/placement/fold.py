"""How recorded placement facts change a location's state: one fold, for the writer and the audit.

The writer applies what it decides (a group received, beds given back, a status or a
capacity in force) and the audit applies what the log records, both through `evolve`,
so the two cannot drift apart. Pure: a state and a change in, the new state out. A
status or capacity older than the one in force is `stale`: `evolve` leaves the state
as it is (the writer rejects the command, the audit ignores the event).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from schemas.status import SecurityLevel
from services.placement.state import (
    LocationState,
    capacity_set_at,
    status_set_at,
    with_capacity,
    with_departure,
    with_placement,
    with_status,
    with_withdrawal,
)


@dataclass(frozen=True, slots=True)
class Received:
    """A group of `beds` people placed in `shelter_id`, counted against the local date `day`."""

    shelter_id: str
    beds: int
    day: date


@dataclass(frozen=True, slots=True)
class Left:
    """A group of `beds` people left `shelter_id` (departed, or no longer accepted).

    The day's count stays: the cap counts people received, not present.
    """

    shelter_id: str
    beds: int


@dataclass(frozen=True, slots=True)
class TakenBack:
    """A placement counted on `day` withdrawn to be made again whole (`GROUP_CHANGED`)."""

    shelter_id: str
    beds: int
    day: date


@dataclass(frozen=True, slots=True)
class StatusSet:
    """INM or ops set the location's security level and daily cap, in force from `effective_at`."""

    security_level: SecurityLevel
    daily_cap: int
    effective_at: datetime


@dataclass(frozen=True, slots=True)
class BedsSet:
    """`shelter_id` reported `beds` beds in all, in force from `effective_at`."""

    shelter_id: str
    beds: int
    effective_at: datetime


Change = Received | Left | TakenBack | StatusSet | BedsSet


def stale(state: LocationState, change: Change) -> bool:
    """Whether `change` is a status or capacity older than the one in force at `state`."""
    if isinstance(change, StatusSet):
        in_force = state.status_effective_at
    elif isinstance(change, BedsSet):
        in_force = state.shelters[change.shelter_id].capacity_effective_at
    else:
        return False
    return in_force is not None and change.effective_at < in_force


def evolve(state: LocationState, change: Change) -> LocationState:
    """The location after `change`; unchanged when the change is `stale`.

    An unknown shelter raises `KeyError` (see `state.with_capacity`).
    """
    if isinstance(change, Received):
        return with_placement(state, change.shelter_id, change.beds, change.day)
    if isinstance(change, Left):
        return with_departure(state, change.shelter_id, change.beds)
    if isinstance(change, TakenBack):
        return with_withdrawal(state, change.shelter_id, change.beds, change.day)
    if stale(state, change):
        return state
    if isinstance(change, StatusSet):
        changed = with_status(state, change.security_level, change.daily_cap)
        return status_set_at(changed, change.effective_at)
    changed = with_capacity(state, change.shelter_id, change.beds)
    return capacity_set_at(changed, change.shelter_id, change.effective_at)
