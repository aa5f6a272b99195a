"""``access-logged``: someone read a case or a group. Who, when, what; never the data read."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from schemas.base import EventData, GroupId

Subject = Literal["case", "group", "location"]


class AccessLogged(EventData):
    """One read of a case, a group, or a location's groups, by one principal.

    Written by the service (or command) that served the read, before it answers, so that
    a read that could not be recorded is not served. It names ids only: never a name, a
    declaration or anything else of what was shown.
    """

    EVENT_TYPE = "access-logged"

    principal: str = Field(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9@._:/+-]*$",
        description="who read: a user, a service principal, or anonymous@<address>",
    )
    reader: str = Field(min_length=1, max_length=64, description="the service that served it")
    view: str = Field(min_length=1, max_length=128, description="the route or command")
    subject: Subject
    subject_id: str = Field(min_length=1, max_length=64, description="the case, group or location")
    group_ids: list[GroupId] = Field(
        default_factory=list, max_length=10_000, description="the groups the answer showed"
    )
    personal_data_shown: bool = Field(
        default=False,
        description="names and declarations were shown (an audit's --show-personal-data)",
    )
    read_at: AwareDatetime
