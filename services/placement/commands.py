"""Commands on the internal ``placement-commands`` topic: what the single writer is told to do.

The input agent turns each valid input event into one command, addressed to the unit
that owns the location; the timer adds `CheckLocalDay`. Commands carry only what the
writer needs (ids, codes, counts, times): no personal data. `issued_at` is the moment
the command was issued; the writer uses it as "now", so reprocessing a command after a
crash decides the same way and emits the same bytes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from schemas.status import SecurityLevel


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    unit: str
    issued_at: AwareDatetime

    def at(self, moment: datetime) -> Self:
        """This command, issued at `moment` instead (see `handlers._in_unit_order`)."""
        return self.model_copy(update={"issued_at": moment})


class PlaceGroup(_Command):
    """Place an accepted group at the designated location of its crossing, or queue it.

    `supersedes` is the group's earlier decision when this one re-decides it: the writer
    then updates the group's wait, or releases its placement and places it again.
    `decided_at` is when screening decided (the screened event's time): a decision older
    than placement's memory of ended groups is not placed (`retention`).
    """

    kind: Literal["place-group"] = "place-group"
    group_id: str
    crossing: str
    location: str
    members: tuple[str, ...]
    beds: int = Field(ge=1)
    returned_at: AwareDatetime
    screened_event_id: str
    supersedes: str | None = None
    decided_at: AwareDatetime | None = None


class WithdrawGroup(_Command):
    """Release a group whose live decision is no longer `accepted` (placed or waiting)."""

    kind: Literal["withdraw-group"] = "withdraw-group"
    group_id: str
    crossing: str
    location: str
    screened_event_id: str
    supersedes: str


class SetLocationStatus(_Command):
    """Apply INM's security level and daily reception cap for a location."""

    kind: Literal["set-location-status"] = "set-location-status"
    location: str
    security_level: SecurityLevel
    daily_cap: int = Field(ge=0)
    effective_at: AwareDatetime
    event_id: str


class SetShelterCapacity(_Command):
    """Apply a shelter's new total of beds."""

    kind: Literal["set-shelter-capacity"] = "set-shelter-capacity"
    location: str
    shelter_id: str
    beds: int = Field(ge=0)
    effective_at: AwareDatetime
    event_id: str


class ReleaseBeds(_Command):
    """Free the beds of a placed group that left its shelter."""

    kind: Literal["release-beds"] = "release-beds"
    group_id: str
    location: str
    shelter_id: str
    event_id: str


class CheckLocalDay(_Command):
    """A wall-clock tick: retry the queues of locations whose local date has changed
    (and, as after every command, delete the records kept past their retention)."""

    kind: Literal["check-local-day"] = "check-local-day"


Command = Annotated[
    PlaceGroup
    | WithdrawGroup
    | SetLocationStatus
    | SetShelterCapacity
    | ReleaseBeds
    | CheckLocalDay,
    Field(discriminator="kind"),
]
_COMMAND: TypeAdapter[Command] = TypeAdapter(Command)


def encode_command(command: Command) -> bytes:
    return command.model_dump_json().encode()


def decode_command(raw: bytes) -> Command:
    """Parse a command; raises `pydantic.ValidationError` on anything else."""
    return _COMMAND.validate_json(raw)
