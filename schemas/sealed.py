"""``person-returned`` v2: the record with every sensitive field sealed, and its key records.

On the log a person's sensitive fields (every field marked ``sensitive`` in
``schemas/person.py``) travel as one sealed object, encrypted with that person's own
data key; everything else stays readable, so that routing, gathering and audits of
flags need no key. Erasing the key (crypto-shredding) leaves the record on the log but
makes the sealed part unreadable for good. See docs/adr/0021-erasable-personal-data.md.

This module holds the shapes and the pure split/merge between the submission
(``PersonReturned``) and its sealed form; the cryptography lives in ``services.keys``.
Version 1 events, written before sealing, are upcast with their fields "in the clear"
so that every reader sees one model.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field

from schemas.base import CaseId, Contract
from schemas.person import (
    CovidVaccination,
    Declared,
    Hearing,
    Person,
    PersonalDetails,
    PersonReturned,
    ReturnedInTheClear,
    RoleInGroup,
)
from schemas.upcasting import RawEvent, upcaster

SCHEME: Literal["aes-256-gcm"] = "aes-256-gcm"
Base64 = Annotated[str, Field(pattern=r"^[A-Za-z0-9+/]+={0,2}$")]
KeyId = Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]


class Personal(Contract):
    """Everything sensitive of one record: what the sealed object holds."""

    person: PersonalDetails
    declared: Declared
    covid_vaccination: CovidVaccination


class Sealed(Contract):
    """``Personal`` as JSON, encrypted with AES-256-GCM under the case's data key.

    The additional authenticated data binds it to its event: ``event_id``, ``case_id``
    and ``key_id`` (``services.keys.crypto.associated_data``), so a sealed object moved to
    another event or case does not open.
    """

    scheme: Literal["aes-256-gcm"]
    key_id: KeyId = Field(description="which data key of the case sealed it")
    nonce: Base64 = Field(description="12 bytes, base64")
    ciphertext: Base64 = Field(description="ciphertext and 16-byte tag, base64")


class InTheClear(Contract):
    """The sensitive fields of a version 1 event, written before sealing (upcast only)."""

    scheme: Literal["clear"]
    personal: Personal


class PersonShown(Contract):
    """What of ``person`` is not sensitive."""

    role_in_group: RoleInGroup


class SealedPersonReturned(ReturnedInTheClear):
    """``person-returned`` as written on the log: the record, its personal data sealed."""

    SCHEMA_VERSION = 2

    person: PersonShown
    hearing: Hearing | None = None
    corrects: str | None = Field(default=None, min_length=1, max_length=128)
    personal: Sealed | InTheClear = Field(discriminator="scheme")


class WrappedDataKey(Contract):
    """The value of a ``person-keys`` record: one case's data key, wrapped by a KEK.

    The key topic is compacted and keyed by ``case_id``; a tombstone (null value) erases
    the case's key.
    """

    case_id: CaseId
    key_id: KeyId
    kek_id: str = Field(min_length=1, max_length=64, description="which KEK wrapped it")
    nonce: Base64
    wrapped: Base64 = Field(description="the 32-byte data key, AES-GCM under the KEK")
    created_at: AwareDatetime


def split(record: PersonReturned) -> tuple[dict[str, Any], Personal]:
    """The record's readable fields (for ``SealedPersonReturned``) and its sensitive ones."""
    personal = Personal(
        person=PersonalDetails.model_validate(record.person.model_dump(exclude={"role_in_group"})),
        declared=record.declared,
        covid_vaccination=record.covid_vaccination,
    )
    shown = record.model_dump(exclude={"person", "declared", "covid_vaccination"})
    shown["person"] = PersonShown(role_in_group=record.person.role_in_group)
    return shown, personal


def merge(record: SealedPersonReturned, personal: Personal) -> PersonReturned:
    """The whole record again, from its readable fields and its opened sensitive ones.

    Both halves were validated against the same field types that the whole record has,
    and no rule of the record spans the two: the record is put together from them
    without validating every field a second time (a replay opens every record).
    """
    person = Person.model_construct(
        **{name: getattr(personal.person, name) for name in _PERSONAL_OF_PERSON},
        role_in_group=record.person.role_in_group,
    )
    return PersonReturned.model_construct(
        submission_id=record.submission_id,
        source=record.source,
        case_id=record.case_id,
        group_id=record.group_id,
        group_size=record.group_size,
        crossing=record.crossing,
        returned_at=record.returned_at,
        person=person,
        declared=personal.declared,
        covid_vaccination=personal.covid_vaccination,
        hearing=record.hearing,
        corrects=record.corrects,
    )


_PERSONAL_OF_PERSON = tuple(PersonalDetails.model_fields)


@upcaster("person-returned", 1)
def _v1_in_the_clear(raw: RawEvent) -> RawEvent:
    """v1 carried the sensitive fields in plain JSON: keep them, marked as never sealed."""
    data = dict(raw["data"])
    person = dict(data.pop("person", {}))
    details = {name: person.pop(name) for name in _PERSONAL_OF_PERSON if name in person}
    data["person"] = person
    data["personal"] = {
        "scheme": "clear",
        "personal": {
            "person": details,
            "declared": data.pop("declared", None),
            "covid_vaccination": data.pop("covid_vaccination", None),
        },
    }
    return {**raw, "data": data}
