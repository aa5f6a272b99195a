"""The reference data: designated crossings, locations, shelters and partner providers.

The models are frozen and strict, so a `Reference` is a fixed snapshot of the files.
Live values (security status, reception caps, beds) arrive later as events and are kept
by the services that need them; these records only seed them.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr

from services.reference.codes import is_iso639_3

SecurityStatus = Literal["normal", "elevated", "suspended"]
"""Security status of a location; only `suspended` stops placements there."""

ShelterServes = Literal["families_and_adults", "unaccompanied_children"]
"""Who a shelter takes in. Adult and family groups are never placed in a children's shelter."""

ShelterOperator = Literal["civil_society", "federal", "state", "municipal"]

HealthService = Literal["covid_vaccination", "primary_care", "mental_health", "maternal_health"]

_T = TypeVar("_T")


def _iso639_3(code: str) -> str:
    if not is_iso639_3(code):
        raise ValueError("must be an ISO 639-3 language code")
    return code


def _no_repeats(items: tuple[_T, ...]) -> tuple[_T, ...]:
    if len(set(items)) != len(items):
        raise ValueError("must not list the same value twice")
    return items


Code = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Name = Annotated[str, Field(min_length=1)]
LanguageCode = Annotated[str, AfterValidator(_iso639_3)]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")


class Crossing(_Record):
    """A designated US port of entry and the Mexican location that receives its returns."""

    code: Code
    us_port: Name
    location: Code


class Location(_Record):
    """A Mexican city that receives returned people, directly or as an alternate."""

    code: Code
    city: Name
    state: Name
    us_advisory_level_2022: int = Field(ge=1, le=4)
    return_point: bool
    alternate: Code | None = None
    daily_reception_cap: int = Field(ge=0)
    security_status: SecurityStatus


class Shelter(_Record):
    """A shelter at a location, with its seeded number of beds."""

    id: str = Field(pattern=r"^[A-Z]{3}-S\d{2,3}$")
    name: Name
    location: Code
    beds: int = Field(gt=0)
    serves: ShelterServes
    operator: ShelterOperator


DEFAULT_LEGAL_AID_CAPACITY = 40
"""Open requests a provider takes at most when its record names no capacity."""


class LegalAidProvider(_Record):
    """A legal-aid partner at a location, the languages (ISO 639-3) it works in, and its
    seed capacity: the open requests it takes at most (`provider-capacity-changed`
    changes it)."""

    id: str = Field(pattern=r"^LA-[A-Z]{3}-\d{2}$")
    name: Name
    location: Code
    languages: Annotated[tuple[LanguageCode, ...], Field(min_length=1), AfterValidator(_no_repeats)]
    capacity: int = Field(default=DEFAULT_LEGAL_AID_CAPACITY, ge=0)


class HealthProvider(_Record):
    """A health partner at a location and the services it gives."""

    id: str = Field(pattern=r"^HP-[A-Z]{3}-\d{2}$")
    name: Name
    location: Code
    services: Annotated[tuple[HealthService, ...], Field(min_length=1), AfterValidator(_no_repeats)]


class Reference(_Record):
    """All reference data, with lookups by code.

    Build it with `load_reference()`, which also checks the cross-references between
    the files; constructing it directly checks each record but not the cross-references.
    Lookups of an unknown code raise `KeyError`.
    """

    crossings: tuple[Crossing, ...]
    locations: tuple[Location, ...]
    shelters: tuple[Shelter, ...]
    legal_aid_providers: tuple[LegalAidProvider, ...]
    health_providers: tuple[HealthProvider, ...]

    _crossings: dict[str, Crossing] = PrivateAttr(default_factory=dict)
    _locations: dict[str, Location] = PrivateAttr(default_factory=dict)
    _crossing_codes: frozenset[str] = PrivateAttr(default=frozenset())
    _homes: dict[str, Location] = PrivateAttr(default_factory=dict)
    """Each crossing's return location: looked up for every event that placement reads."""

    def model_post_init(self, context: object, /) -> None:
        self._crossings = {crossing.code: crossing for crossing in self.crossings}
        self._locations = {location.code: location for location in self.locations}
        self._crossing_codes = frozenset(self._crossings)
        self._homes = {
            crossing.code: self._locations[crossing.location]
            for crossing in self.crossings
            if crossing.location in self._locations
        }

    @property
    def crossing_codes(self) -> frozenset[str]:
        """Codes of the designated crossings; any other crossing code is rejected at intake."""
        return self._crossing_codes

    def crossing(self, code: str) -> Crossing:
        """The designated crossing with this code."""
        try:
            return self._crossings[code]
        except KeyError:
            raise KeyError(f"{code!r} is not a designated crossing") from None

    def location(self, code: str) -> Location:
        """The location with this code (a return point or an alternate such as MTY)."""
        try:
            return self._locations[code]
        except KeyError:
            raise KeyError(f"{code!r} is not a known location") from None

    def location_for_crossing(self, crossing_code: str) -> Location:
        """The designated return location of a crossing."""
        home = self._homes.get(crossing_code)
        return home if home is not None else self.location(self.crossing(crossing_code).location)

    def shelters_at(self, location_code: str) -> tuple[Shelter, ...]:
        """Shelters at a location, sorted by id (empty when it has none)."""
        return tuple(sorted((s for s in self.shelters if s.location == location_code), key=_id))

    def legal_aid_at(self, location_code: str) -> tuple[LegalAidProvider, ...]:
        """Legal-aid providers at a location, sorted by id."""
        found = (p for p in self.legal_aid_providers if p.location == location_code)
        return tuple(sorted(found, key=_id))

    def health_at(self, location_code: str) -> tuple[HealthProvider, ...]:
        """Health providers at a location, sorted by id."""
        found = (p for p in self.health_providers if p.location == location_code)
        return tuple(sorted(found, key=_id))


def _id(record: Shelter | LegalAidProvider | HealthProvider) -> str:
    return record.id
