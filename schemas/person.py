"""``person-returned``: one person returned at a designated crossing."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, Field

from schemas.base import (
    CaseId,
    Contract,
    CountryCode,
    CrossingCode,
    EventData,
    GroupId,
    LanguageCode,
    sensitive,
)
from schemas.envelope import event_id_for

Sex = Literal["F", "M", "X"]


def person_returned_event_id(source: str, submission_id: str) -> str:
    """The ``event_id`` of the ``person-returned`` event of one submission (or correction)."""
    return event_id_for("person-returned", source, submission_id)


RoleInGroup = Literal["head", "partner", "child", "relative", "other"]


class PersonalDetails(Contract):
    """The person's own sensitive fields: on the log they travel only sealed."""

    given_names: str = sensitive(min_length=1, max_length=200)
    family_names: str = sensitive(min_length=1, max_length=200)
    date_of_birth: date = sensitive()
    sex: Sex = sensitive()
    nationality: CountryCode = sensitive(description="ISO 3166-1 alpha-3")
    languages: list[LanguageCode] = sensitive(
        min_length=1, max_length=10, description="ISO 639-3, preferred first"
    )


class Person(PersonalDetails):
    role_in_group: RoleInGroup


class Declared(Contract):
    """What the person declared. Health, pregnancy and LGBTI status are sensitive."""

    pregnant: bool = sensitive()
    physical_illness: bool = sensitive()
    mental_illness: bool = sensitive()
    disability: bool = sensitive()
    lgbti: bool = sensitive()
    fear_of_return_to_mexico: bool = sensitive()
    travelling_without_parent_or_guardian: bool = sensitive()


DECLARATIONS: tuple[str, ...] = tuple(Declared.model_fields)
"""The names of the declarations, in the contract's order."""


class CovidVaccination(Contract):
    doses: int = sensitive(ge=0, le=10)
    last_dose_on: date | None = sensitive()


class Hearing(Contract):
    court: str = Field(min_length=1, max_length=200)
    scheduled_at: AwareDatetime


class ReturnedInTheClear(EventData):
    """What every version of ``person-returned`` says of a return in the clear, first.

    The readable record (``PersonReturned``) and the sealed one on the log
    (``schemas.sealed.SealedPersonReturned``) go on from here, each in its own order.
    """

    EVENT_TYPE = "person-returned"

    submission_id: str = Field(min_length=1, max_length=128)
    source: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    case_id: CaseId
    group_id: GroupId
    group_size: int = Field(ge=1, le=30)
    crossing: CrossingCode
    returned_at: AwareDatetime


class PersonReturned(ReturnedInTheClear):
    """A valid, de-duplicated return of one person (also a submission's body)."""

    person: Person
    declared: Declared
    covid_vaccination: CovidVaccination
    hearing: Hearing | None = None
    corrects: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description=(
            "a correction: the submission_id of this source's earlier submission for the "
            "same person and group, which this record replaces"
        ),
    )

    @property
    def local_return_date(self) -> date:
        """The calendar date of ``returned_at`` in its own UTC offset."""
        return self.returned_at.date()
